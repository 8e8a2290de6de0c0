from django.urls import path

from milepost.security import log_views, login_views, password_views, two_factor_views

app_name = "security"
urlpatterns = [
    path("login/code/", login_views.login_code, name="login_code"),
    path("two-factor/", two_factor_views.two_factor, name="two_factor"),
    path("password/", password_views.PasswordChange.as_view(), name="password_change"),
    path(
        "password/done/", password_views.PasswordChangeDone.as_view(), name="password_change_done"
    ),
    path("password/reset/", password_views.PasswordReset.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        password_views.PasswordResetDone.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        password_views.PasswordResetConfirm.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        password_views.PasswordResetComplete.as_view(),
        name="password_reset_complete",
    ),
    path("events/", log_views.events, name="events"),
    path("events.csv", log_views.events_csv, name="events_csv"),
]
