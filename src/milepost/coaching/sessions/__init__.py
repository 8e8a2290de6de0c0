"""1:1 sessions: the session and its agenda, notes, action items, cadences and invitations
(.ics), and THE coaching privacy rule every coaching read goes through (``selectors``)."""
