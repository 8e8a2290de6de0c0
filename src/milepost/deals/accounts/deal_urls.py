"""The people and activity sections of a deal, under ``/pipeline/opportunities/<id>/people/``."""

from django.urls import path

from milepost.deals.accounts import deal_views as views

app_name = "deal_people"
urlpatterns = [
    path("contacts/", views.contacts_section, name="contacts"),
    path("contacts/add/", views.role_add, name="role_add"),
    path("contacts/new/", views.role_create, name="role_create"),
    path("contacts/<int:link_id>/", views.role_edit, name="role_edit"),
    path("contacts/<int:link_id>/remove/", views.role_remove, name="role_remove"),
    path("activities/", views.activities_section, name="activities"),
    path("activities/log/", views.activity_add, name="activity_log"),
    path("activities/<int:activity_id>/", views.activity_edit, name="activity_edit"),
    path("activities/<int:activity_id>/delete/", views.activity_remove, name="activity_delete"),
]
