"""Account pages, mounted under ``/accounts/``."""

from django.urls import path

from milepost.deals.accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.account_index, name="list"),
    path("new/", views.account_new, name="create"),
    path("<int:account_id>/", views.account_detail, name="detail"),
    path("<int:account_id>/edit/", views.account_edit, name="edit"),
    path("<int:account_id>/archive/", views.account_archive_view, name="archive"),
    path("<int:account_id>/contacts/new/", views.contact_new, name="contact_create"),
    path("<int:account_id>/contacts/<int:contact_id>/", views.contact_edit, name="contact_edit"),
    path("<int:account_id>/activities/", views.account_activity_log, name="activity_log"),
]
