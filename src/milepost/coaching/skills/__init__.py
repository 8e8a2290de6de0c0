"""Skills: ratings per competency (manager's and self-assessed), the rep's skills page with
trends, and the team heat map (pages under ``/coaching/skills/``)."""
