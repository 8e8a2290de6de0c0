"""The deal pages, mounted under ``/pipeline/``.

The namespace stays ``pipeline`` (``pipeline:board``, ``pipeline:detail`` ...): the URL names are
what templates, tests and bookmarks use, and moving the pages to the deals app changes nothing
for users.
"""

from django.urls import path

from milepost.deals import edit_views, views

app_name = "pipeline"
urlpatterns = [
    path("", views.board, name="board"),
    path("columns/<slug:stage_key>/", views.board_column, name="board_column"),
    path("controls/", views.board_controls, name="board_controls"),
    path("table/", views.table, name="table"),
    path("opportunities/<int:opportunity_id>/", views.opportunity_detail, name="detail"),
    path("opportunities/<int:opportunity_id>/move/", views.opportunity_move, name="move"),
    path("opportunities/new/", edit_views.opportunity_new, name="new"),
    path("opportunities/<int:opportunity_id>/edit/", edit_views.opportunity_edit, name="edit"),
    path(
        "opportunities/<int:opportunity_id>/close/",
        edit_views.opportunity_close_view,
        name="close",
    ),
    path(
        "opportunities/<int:opportunity_id>/archive/",
        edit_views.opportunity_archive_view,
        name="archive",
    ),
    path(
        "opportunities/<int:opportunity_id>/restore/",
        edit_views.opportunity_restore_view,
        name="restore",
    ),
    path("archived/", edit_views.archived_list, name="archived"),
    path("opportunities/<int:opportunity_id>/gate/", views.gate_preview, name="gate"),
]
