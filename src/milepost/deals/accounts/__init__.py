"""Account, contact, buying-role and activity pages: accounts in the browser, and the people
and activity sections of the opportunity page."""
