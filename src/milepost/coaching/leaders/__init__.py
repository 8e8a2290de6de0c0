"""Coaching the coaches: per manager, whether the 1:1 routine happens and its observational
effect, and each manager's weekly digest (the digest is read on the leader pages, mailed by the
``coaching_digest`` command)."""
