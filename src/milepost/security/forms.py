"""Forms of the security pages: the event-log filter and the one-time code."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from milepost.security.models import EventKind


class EventFilterForm(forms.Form):
    """Filters of the security log. Bad input is a 400 naming the field, never a 500."""

    user = forms.CharField(required=False, max_length=150, label=gettext_lazy("Username"))
    kind = forms.ChoiceField(
        required=False,
        choices=[("", gettext_lazy("Any kind")), *EventKind.choices],
        label=gettext_lazy("Kind"),
    )
    date_from = forms.DateField(required=False, label=gettext_lazy("From"))
    date_to = forms.DateField(required=False, label=gettext_lazy("To"))

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "must be on or after From")
        return data


class OtpCodeForm(forms.Form):
    code = forms.RegexField(
        regex=r"^\s*\d{6}\s*$",
        label=gettext_lazy("Six-digit code"),
        error_messages={"invalid": "enter the 6 digits your authenticator shows"},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip()
