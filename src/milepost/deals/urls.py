"""The deal pages, mounted under ``/pipeline/``.

The namespace stays ``pipeline`` (``pipeline:board``, ``pipeline:detail`` ...): the URL names are
what templates, tests and bookmarks use, and moving the pages to the deals app changes nothing
for users.
"""

from django.urls import path

from milepost.deals import views

app_name = "pipeline"
urlpatterns = [
    path("", views.board, name="board"),
    path("columns/<slug:stage_key>/", views.board_column, name="board_column"),
    path("controls/", views.board_controls, name="board_controls"),
    path("table/", views.table, name="table"),
    path("opportunities/<int:opportunity_id>/", views.opportunity_detail, name="detail"),
    path("opportunities/<int:opportunity_id>/move/", views.opportunity_move, name="move"),
    path("opportunities/<int:opportunity_id>/gate/", views.gate_preview, name="gate"),
]
