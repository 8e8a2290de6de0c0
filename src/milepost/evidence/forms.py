"""The evidence forms of the pages (the process map's actions, the inspection page's claim
queue), validated by the API's schemas (:mod:`milepost.evidence.validation`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from milepost.core.schema_forms import SchemaForm
from milepost.evidence.validation import EvidenceFields, RejectFields, ReviewFields


class EvidenceRecordForm(SchemaForm):
    """Record or replace the evidence for one criterion, with an artefact from the buyer.

    Validated by the API's schema (:class:`milepost.evidence.validation.EvidenceFields`); the
    file is checked and read by the service."""

    schema = EvidenceFields

    note = forms.CharField(required=False, strip=False, label=gettext_lazy("What is the evidence?"))
    link = forms.CharField(required=False, strip=False, label=gettext_lazy("Link"))
    evidence_date = forms.DateField(required=False, label=gettext_lazy("Date"))
    buyer_confirmed = forms.BooleanField(
        required=False, label=gettext_lazy("The buyer confirmed it (attach their artefact)")
    )
    # Any id parses; the service decides whether the contact belongs to the deal's account (so
    # the page and the API refuse a foreign contact with the same message).
    confirmed_by = forms.IntegerField(required=False, label=gettext_lazy("Confirmed by"))
    artefact_kind = forms.CharField(required=False, label=gettext_lazy("Artefact"))
    artefact_text = forms.CharField(
        required=False, strip=False, label=gettext_lazy("Pasted e-mail or meeting notes")
    )
    artefact_file = forms.FileField(
        required=False, label=gettext_lazy("File (.eml, PDF, PNG, JPEG; at most 2 MB)")
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def schema_input(self) -> dict[str, Any]:
        data = super().schema_input()
        # An empty text box is "nothing typed", which the schema spells "".
        for name in ("note", "link", "artefact_kind", "artefact_text"):
            data[name] = data.get(name) or ""
        return data


class EvidenceReviewForm(SchemaForm):
    """Verify, accept or withdraw: only the version the user saw."""

    schema = ReviewFields

    version = forms.IntegerField(widget=forms.HiddenInput)


class EvidenceRejectForm(EvidenceReviewForm):
    """Reject evidence or a buyer-confirmation claim: the version and a reason."""

    schema = RejectFields

    reason = forms.CharField(required=False, strip=False, label=gettext_lazy("Why is it rejected?"))

    def schema_input(self) -> dict[str, Any]:
        data = super().schema_input()
        data["reason"] = data.get("reason") or ""
        return data
