"""Process pages, read-only. :mod:`milepost.urls` mounts them under ``/process/`` in the
``process`` namespace, after the designer's pages (:mod:`milepost.designer.urls`)."""

from django.urls import path

from milepost.process import views

app_name = "process"
urlpatterns = [
    path("", views.process_list_view, name="list"),
    path("<slug:key>/", views.process_detail, name="detail"),
    path("<slug:key>/map/", views.process_map_view, name="map"),
    path("<slug:key>/v<int:number>/", views.process_detail, name="version"),
    path("<slug:key>/v<int:number>/map/", views.process_map_view, name="version_map"),
    path("<slug:key>/v<int:number>/export.yaml", views.export_view, name="export"),
]
