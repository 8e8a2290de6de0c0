"""1:1 pages, mounted under ``/coaching/`` (namespace ``coaching``)."""

from django.urls import path

from milepost.coaching.sessions import views

app_name = "coaching"
urlpatterns = [
    path("", views.home, name="home"),
    path("reps/<int:rep_id>/sessions/new/", views.session_new, name="session_new"),
    path("reps/<int:rep_id>/sessions/next/", views.session_next, name="session_next"),
    path("reps/<int:rep_id>/cadence/", views.cadence, name="cadence"),
    path("sessions/<int:session_id>/", views.session_page, name="session"),
    path("sessions/<int:session_id>/update/", views.session_update, name="session_update"),
    path(
        "sessions/<int:session_id>/<slug:action>/",
        views.session_transition,
        name="session_transition",
    ),
    path("sessions/<int:session_id>/items/add/", views.item_add, name="item_add"),
    path("sessions/<int:session_id>/items/<int:item_id>/move/", views.item_move, name="item_move"),
    path(
        "sessions/<int:session_id>/items/<int:item_id>/remove/",
        views.item_remove,
        name="item_remove",
    ),
    path(
        "sessions/<int:session_id>/items/<int:item_id>/update/",
        views.item_update,
        name="item_update",
    ),
    path("sessions/<int:session_id>/actions/add/", views.action_add, name="action_add"),
    path("sessions/<int:session_id>/invite.ics", views.session_invite_ics, name="invite_ics"),
    path("sessions/<int:session_id>/invite/mail/", views.session_invite_mail, name="invite_mail"),
    path("actions/", views.action_list, name="actions"),
    path("actions/<int:action_id>/status/", views.action_status, name="action_status"),
    path("deals/<int:opportunity_id>/actions/", views.deal_actions, name="deal_actions"),
    path("reps/overdue/", views.rep_overdue, name="rep_overdue"),
]
