"""Skills pages, mounted under ``/coaching/skills/`` (namespace ``skills``)."""

from django.urls import path

from milepost.coaching.competencies import views as competency_views
from milepost.coaching.skills import views

app_name = "skills"
urlpatterns = [
    path("", views.skills_home, name="home"),
    path("team/", views.team, name="team"),
    # The competency model's page belongs to the skills section (skills:model) but its code to
    # the competencies sub-package.
    path("model/", competency_views.model_page, name="model"),
    path("reps/<int:rep_id>/", views.rep_page, name="rep"),
    path("reps/<int:rep_id>/rate/", views.rate, name="rate"),
]
