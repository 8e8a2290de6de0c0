"""Leader pages, mounted under ``/coaching/`` (namespace ``coaching_leaders``)."""

from django.urls import path

from milepost.coaching.leaders import views

app_name = "coaching_leaders"
urlpatterns = [
    path("leaders/", views.overview, name="overview"),
    path("leaders/<int:manager_id>/effect/", views.effect, name="effect"),
    path("digest/", views.digest, name="digest"),
]
