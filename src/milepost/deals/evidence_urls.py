"""Evidence actions on a deal, mounted under ``/pipeline/opportunities/<id>/evidence/``.

The namespace stays ``evidence`` (``evidence:record`` ...): the URL names are what templates,
tests and bookmarks use, and moving the views to the deals app changes nothing for users.
"""

from django.urls import path

from milepost.deals import evidence_actions as views

app_name = "evidence"
urlpatterns = [
    path("", views.map_view, name="map"),
    path("<slug:criterion_key>/record/", views.record, name="record"),
    path("<slug:criterion_key>/verify/", views.verify, name="verify"),
    path("<slug:criterion_key>/reject/", views.reject, name="reject"),
    path("<slug:criterion_key>/withdraw/", views.withdraw, name="withdraw"),
    path("<slug:criterion_key>/accept/", views.accept, name="accept"),
    path("<slug:criterion_key>/reject-claim/", views.reject_claim, name="reject_claim"),
    path("artefacts/<int:artefact_id>/", views.artefact, name="artefact"),
]
