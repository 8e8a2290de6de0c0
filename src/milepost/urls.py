"""Top-level URL map: pages per app, the versioned API, auth."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from milepost.api import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="pipeline:board", permanent=False), name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("pipeline/", include("milepost.deals.urls")),
    path(
        "pipeline/opportunities/<int:opportunity_id>/evidence/",
        include("milepost.deals.evidence_urls"),
    ),
    path(
        "pipeline/opportunities/<int:opportunity_id>/methodology/",
        include("milepost.methodology.urls"),
    ),
    path("process/", include("milepost.process.urls")),
    path("process/", include("milepost.playbooks.urls")),
    path("team/", include("milepost.team.urls")),
    path("inspection/", include("milepost.inspection.urls")),
    path("coaching/", include("milepost.coaching.urls")),
    path("coaching/skills/", include("milepost.coaching.skills_urls")),
    path("coaching/", include("milepost.coaching.leaders_urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
