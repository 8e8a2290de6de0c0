"""The competency model: what is in force, what it makes ratable, and the admin's YAML edit
(page under ``/coaching/skills/model/``, API under ``/api/v1/coaching/competenc*``)."""
