"""Input parsing for the evidence actions on the opportunity page.

The forms only parse types (a date, a contact id, a version); what the evidence must contain and
who may record, verify or reject it is decided by :mod:`milepost.evidence.services`, whose
``InvalidChange`` errors the views show next to the form.
"""

from __future__ import annotations

from django import forms


class EvidenceRecordForm(forms.Form):
    """Record or replace the evidence for one criterion."""

    note = forms.CharField(required=False, max_length=4000, label="What is the evidence?")
    link = forms.CharField(required=False, max_length=500, label="Link")
    evidence_date = forms.DateField(required=False, label="Date")
    buyer_confirmed = forms.BooleanField(required=False, label="Buyer confirmed")
    # Any id parses; the service decides whether the contact belongs to the deal's account (so
    # the page and the API refuse a foreign contact with the same message).
    confirmed_by = forms.IntegerField(required=False, min_value=1, label="Confirmed by")
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class EvidenceReviewForm(forms.Form):
    """Verify or withdraw: only the version the user saw."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class EvidenceRejectForm(EvidenceReviewForm):
    reason = forms.CharField(required=False, max_length=500, label="Why is it rejected?")
