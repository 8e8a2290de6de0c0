"""Coaching: one Django app (one ``models.py``, one set of migrations and templates) split into
sub-packages by what they are for: ``sessions`` (1:1s, action items, cadences, invitations and
the privacy rule), ``agenda`` (drafting from inspection), ``skills`` (ratings, heat map),
``competencies`` (the competency model) and ``leaders`` (coaching the coaches, weekly digest).
"""
