"""The snooze forms of the pages: parsing only; the rules are the service's."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy


class SnoozeForm(forms.Form):
    signal = forms.CharField(required=False, max_length=32, label=gettext_lazy("Signal"))
    reason = forms.CharField(max_length=500, strip=False, label=gettext_lazy("Reason"))
    until = forms.DateField(label=gettext_lazy("Until"))


class SnoozeEndForm(forms.Form):
    version = forms.IntegerField(min_value=1, label=gettext_lazy("Version"))
