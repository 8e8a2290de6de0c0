"""Methodology on a deal, mounted under ``/pipeline/opportunities/<id>/methodology/``."""

from django.urls import path

from milepost.methodology import views

app_name = "methodology"
urlpatterns = [
    path("", views.panel, name="panel"),
    path("<slug:pack>/blue-sheet/", views.blue_sheet_view, name="blue_sheet"),
    path("<slug:pack>/influences/", views.influence_add, name="influence_add"),
    path("<slug:pack>/influences/<int:influence_id>/", views.influence_edit, name="influence_edit"),
    path(
        "<slug:pack>/influences/<int:influence_id>/remove/",
        views.influence_delete,
        name="influence_remove",
    ),
    path("<slug:pack>/<slug:element>/", views.element_save, name="element_save"),
    path("<slug:pack>/<slug:element>/history/", views.history, name="history"),
    path("<slug:pack>/<slug:element>/verify/", views.element_verify, name="element_verify"),
]
