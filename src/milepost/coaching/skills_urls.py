"""Skills pages, mounted under ``/coaching/skills/``."""

from django.urls import path

from milepost.coaching import skills_views as views

app_name = "skills"
urlpatterns = [
    path("", views.skills_home, name="home"),
    path("team/", views.team, name="team"),
    path("model/", views.model_page, name="model"),
    path("reps/<int:rep_id>/", views.rep_page, name="rep"),
    path("reps/<int:rep_id>/rate/", views.rate, name="rate"),
]
