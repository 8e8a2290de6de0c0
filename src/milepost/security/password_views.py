"""Self-service password change and reset by email: Django's views with Milepost's templates.

The change itself is recorded by a receiver (``receivers._password_saved``) whichever way it
happens; the reset *request* is recorded here, with the address typed, whether or not an
account has it (the page says the same either way, so it does not reveal who has an account).
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import reverse_lazy

from milepost.security.models import EventKind
from milepost.security.services import security_event_record


class PasswordChange(auth_views.PasswordChangeView):
    template_name = "security/password_change.html"
    success_url = reverse_lazy("security:password_change_done")


class PasswordChangeDone(auth_views.PasswordChangeDoneView):
    template_name = "security/password_change_done.html"


class PasswordReset(auth_views.PasswordResetView):
    template_name = "security/password_reset.html"
    email_template_name = "security/password_reset_email.txt"
    subject_template_name = "security/password_reset_subject.txt"
    success_url = reverse_lazy("security:password_reset_done")

    def form_valid(self, form) -> HttpResponse:  # type: ignore[no-untyped-def]
        email = form.cleaned_data["email"]
        users = list(form.get_users(email))
        security_event_record(
            kind=EventKind.PASSWORD_RESET_REQUESTED,
            user=users[0] if len(users) == 1 else None,
            request=self.request,
            detail=f"for {email}" + ("" if users else " (no active account has it)"),
        )
        return super().form_valid(form)


class PasswordResetDone(auth_views.PasswordResetDoneView):
    template_name = "security/password_reset_done.html"


class PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    template_name = "security/password_reset_confirm.html"
    success_url = reverse_lazy("security:password_reset_complete")


class PasswordResetComplete(auth_views.PasswordResetCompleteView):
    template_name = "security/password_reset_complete.html"
