"""The coaching app's REST API: one router assembling each sub-package's router.

Mounted by :mod:`milepost.api`. The order is the order of the paths in the OpenAPI document.
"""

from ninja import Router

from milepost.coaching.agenda.api import router as agenda_router
from milepost.coaching.competencies.api import router as competencies_router
from milepost.coaching.leaders.api import router as leaders_router
from milepost.coaching.sessions.api import router as sessions_router
from milepost.coaching.skills.api import router as skills_router

router = Router()
router.add_router("", sessions_router)
router.add_router("", agenda_router)
router.add_router("", competencies_router)
router.add_router("", skills_router)
router.add_router("", leaders_router)
