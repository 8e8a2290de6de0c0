"""The coaching app's pages, mounted under ``/coaching/``: one include per sub-package.

No namespace here: each sub-package keeps its own (``coaching``, ``skills``,
``coaching_leaders``), so URL names read as before the split (``coaching:home``,
``skills:rep``, ``coaching_leaders:digest``).
"""

from django.urls import include, path

urlpatterns = [
    path("", include("milepost.coaching.sessions.urls")),
    path("skills/", include("milepost.coaching.skills.urls")),
    path("", include("milepost.coaching.leaders.urls")),
]
