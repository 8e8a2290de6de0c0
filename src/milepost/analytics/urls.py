"""Analytics pages, mounted under ``/analytics/``."""

from django.urls import path

from milepost.analytics import views

app_name = "analytics"
urlpatterns = [
    path("", views.index, name="index"),
    path("conversion/", views.conversion, name="conversion"),
    path("velocity/", views.velocity, name="velocity"),
    path("waterfall/", views.waterfall, name="waterfall"),
    path("effectiveness/", views.effectiveness, name="effectiveness"),
    path("deals/", views.deals, name="deals"),
]
