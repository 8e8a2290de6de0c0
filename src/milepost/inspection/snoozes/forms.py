"""The snooze forms of the pages: parsing only; the rules are the service's."""

from __future__ import annotations

from django import forms


class SnoozeForm(forms.Form):
    signal = forms.CharField(required=False, max_length=32)
    reason = forms.CharField(max_length=500, strip=False)
    until = forms.DateField()


class SnoozeEndForm(forms.Form):
    version = forms.IntegerField(min_value=1)
