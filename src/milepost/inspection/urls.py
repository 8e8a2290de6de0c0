from django.urls import path

from milepost.inspection import views

app_name = "inspection"
urlpatterns = [
    path("", views.deal_list, name="list"),
    path("deals/<int:opportunity_id>/", views.explain, name="explain"),
    path("risk-model/", views.risk_model, name="risk_model"),
]
