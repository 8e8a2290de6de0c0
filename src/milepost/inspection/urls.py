from django.urls import path

from milepost.inspection import claims, views
from milepost.inspection.snoozes import views as snooze_views

app_name = "inspection"
urlpatterns = [
    path("", views.deal_list, name="list"),
    path("deals/<int:opportunity_id>/", views.explain, name="explain"),
    path("risk-model/", views.risk_model, name="risk_model"),
    path("deals/<int:opportunity_id>/snooze/", snooze_views.create, name="snooze_create"),
    path("snoozes/<int:snooze_id>/end/", snooze_views.end, name="snooze_end"),
    path("claims/", claims.claim_list, name="claims"),
    path("evidence-rules/", claims.evidence_rules, name="evidence_rules"),
    path("claims/<int:evidence_id>/accept/", claims.claim_accept, name="claim_accept"),
    path("claims/<int:evidence_id>/reject/", claims.claim_reject, name="claim_reject"),
]
