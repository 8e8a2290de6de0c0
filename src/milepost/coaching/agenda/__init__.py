"""Agenda drafting: the next 1:1's agenda generated from inspection of the manager's team
(deals, skill gaps, carried-over action items), frozen into a draft session."""
