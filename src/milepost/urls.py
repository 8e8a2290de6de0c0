"""Top-level URL map: pages per app, the versioned API, auth.

The process designer's pages share the ``process`` namespace and the ``/process/`` prefix with
the read-only process pages (their URL names predate the designer app); its patterns come
first, so ``designer/`` is not read as a process key.
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from milepost.api import api
from milepost.designer import urls as designer_urls
from milepost.process import urls as process_urls
from milepost.security import login_views
from milepost.web.csp import csp_report

process_pages = [*designer_urls.urlpatterns, *process_urls.urlpatterns]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="pipeline:board", permanent=False), name="home"),
    # Sign-in is throttled (django-axes) and asks enrolled users for their TOTP code.
    path("login/", login_views.Login.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("csp-report/", csp_report, name="csp_report"),
    path("pipeline/", include("milepost.deals.urls")),
    path(
        "pipeline/opportunities/<int:opportunity_id>/evidence/",
        include("milepost.deals.evidence_urls"),
    ),
    path(
        "pipeline/opportunities/<int:opportunity_id>/people/",
        include("milepost.deals.accounts.deal_urls"),
    ),
    path("accounts/", include("milepost.deals.accounts.urls")),
    path(
        "pipeline/opportunities/<int:opportunity_id>/methodology/",
        include("milepost.methodology.urls"),
    ),
    path("process/", include((process_pages, process_urls.app_name))),
    path("process/", include("milepost.playbooks.urls")),
    path("team/", include("milepost.team.urls")),
    path("inspection/", include("milepost.inspection.urls")),
    path("coaching/", include("milepost.coaching.urls")),
    path("analytics/", include("milepost.analytics.urls")),
    path("api/v1/", api.urls),
    path("account/", include("milepost.security.urls")),
    # The admin's own login form would skip the two-factor step: it sends to ours instead.
    path("admin/login/", login_views.admin_login),
    path("admin/", admin.site.urls),
]

handler403 = "milepost.web.errors.permission_denied"
handler404 = "milepost.web.errors.page_not_found"
handler500 = "milepost.web.errors.server_error"
