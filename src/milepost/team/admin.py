"""The user admin, without the powers that would let a sales-ops admin act as someone else.

- No password field, no "change password" form: nobody sets another user's password. The admin
  sends a password-reset email instead (an action), and the user chooses their own.
- A new user is created without a usable password, then gets that email.
- API tokens are not registered at all: they are personal (the API promises nobody sees
  another's), and editing one would re-point, extend or un-revoke it. To cut a user off,
  deactivate the user: their tokens and sessions stop working.
- Unlocking a sign-in locked by django-axes is an action here (the axes admin works too), and
  so is removing a lost authenticator (the user enrols again; the secret is never shown here).

Every change goes through Django's admin log, which the security log copies.
"""

from __future__ import annotations

from axes.utils import reset as axes_reset
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin
from django.http import Http404

from milepost.core.admin import KeepsHistoryAdmin
from milepost.security.models import EventKind
from milepost.security.services import password_reset_email_send, security_event_record
from milepost.security.two_factor import two_factor_reset
from milepost.team.models import User


class UserCreationForm(forms.ModelForm):
    """New users start without a usable password; they set one from the reset email."""

    class Meta:
        model = User
        fields = ("username", "email", "first_name", "last_name", "role", "manager", "region")

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.set_unusable_password()
        if commit:
            user.save()
        return user


class UserChangeForm(auth_forms.UserChangeForm):
    """Django's form, without the password hash field and its "change password" link."""

    password = None  # type: ignore[assignment]


def _without_password(fieldsets):  # type: ignore[no-untyped-def]
    return tuple(
        (name, {**opts, "fields": tuple(f for f in opts["fields"] if f != "password")})
        for name, opts in fieldsets
    )


@admin.register(User)
class MilepostUserAdmin(KeepsHistoryAdmin, UserAdmin):
    fieldsets = (
        *_without_password(UserAdmin.fieldsets),
        ("Sales role", {"fields": ("role", "manager", "region", "title")}),
    )
    form = UserChangeForm
    add_form = UserCreationForm
    # Django's add template asks for "a username and password": there is no password here.
    add_form_template = "admin/change_form.html"
    add_fieldsets = (
        (None, {"fields": ("username", "email", "first_name", "last_name")}),
        ("Sales role", {"fields": ("role", "manager", "region")}),
    )
    list_display = ("username", "first_name", "last_name", "role", "manager", "region", "is_active")
    list_filter = ("role", "region", "is_active")
    actions = ("send_password_reset", "unlock_sign_in", "remove_two_factor")

    def user_change_password(self, request, id, form_url=""):  # type: ignore[no-untyped-def]
        raise Http404("passwords are set by their owner (send a password-reset email)")

    @admin.action(description="Send a password-reset email")
    def send_password_reset(self, request, queryset):  # type: ignore[no-untyped-def]
        sent, skipped = [], []
        for user in queryset:
            ok = password_reset_email_send(user=user, request=request, by=request.user)
            (sent if ok else skipped).append(user.get_username())
            if ok:
                self.log_change(request, user, "Sent a password-reset email")
        if sent:
            self.message_user(request, f"Password-reset email sent to {', '.join(sent)}.")
        if skipped:
            self.message_user(
                request,
                f"No email sent to {', '.join(skipped)} (no address, or inactive).",
                messages.WARNING,
            )

    @admin.action(description="Unlock sign-in (clear failed attempts)")
    def unlock_sign_in(self, request, queryset):  # type: ignore[no-untyped-def]
        for user in queryset:
            cleared = axes_reset(username=user.get_username())
            security_event_record(
                kind=EventKind.UNLOCKED,
                user=user,
                request=request,
                detail=f"by {request.user.get_username()}: {cleared} failure record(s) cleared",
            )
        self.message_user(request, f"Sign-in unlocked for {queryset.count()} user(s).")

    @admin.action(description="Remove two-factor (lost authenticator)")
    def remove_two_factor(self, request, queryset):  # type: ignore[no-untyped-def]
        for user in queryset:
            if two_factor_reset(user=user, request=request, by=request.user):
                self.log_change(request, user, "Removed the two-factor authenticator")
        self.message_user(
            request, "Two-factor removed: those users sign in with their password alone now."
        )
