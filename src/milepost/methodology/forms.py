"""Input parsing for the methodology panel and the Blue Sheet.

The forms only parse types (ids, versions, a rating that is a whole number); which levels,
fields, contacts, roles and ratings are allowed is decided by :mod:`milepost.methodology.services`,
so the page and the API refuse the same things with the same message.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from milepost.core.schema_forms import SchemaForm
from milepost.engine.methodology_schema import ElementDef
from milepost.methodology.schemas import AssessmentVerifyIn

ANSWER_PREFIX = "answer__"


class IdListField(forms.Field):
    """Several ``name=<id>`` values (a multi-select) as a list of ints."""

    widget = forms.SelectMultiple

    def to_python(self, value: Any) -> list[int]:
        values = value if isinstance(value, list | tuple) else ([value] if value else [])
        out = []
        for raw in values:
            if raw in ("", None):
                continue
            try:
                out.append(int(raw))
            except (TypeError, ValueError):
                raise ValidationError(f"{raw!r} is not an id") from None
        return out


class AssessmentForm(forms.Form):
    """Score one element: level, notes, linked contacts and the element's own fields."""

    level = forms.CharField(max_length=32, label=gettext_lazy("Level"))
    notes = forms.CharField(required=False, max_length=4000, label=gettext_lazy("Notes"))
    contacts = IdListField(required=False, label=gettext_lazy("Contacts"))
    version = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    # The buyer's proof behind a level only a manager may set (checked by the evidence
    # service, as the evidence form's artefact is).
    artefact_kind = forms.CharField(required=False, max_length=16, label=gettext_lazy("Artefact"))
    artefact_text = forms.CharField(
        required=False, strip=False, label=gettext_lazy("Pasted e-mail or meeting notes")
    )
    artefact_file = forms.FileField(
        required=False, label=gettext_lazy("File (.eml, PDF, PNG, JPEG; at most 2 MB)")
    )
    attendee = forms.IntegerField(required=False, label=gettext_lazy("Who attended"))

    def __init__(self, *args: Any, element: ElementDef, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.element = element
        for f in element.fields:
            self.fields[f"{ANSWER_PREFIX}{f.key}"] = forms.CharField(
                required=False, max_length=4000, label=f.label, strip=True
            )

    def answers(self) -> dict[str, str]:
        """The element's fields as posted (empty ones included: they clear the answer)."""
        return {
            f.key: self.cleaned_data.get(f"{ANSWER_PREFIX}{f.key}", "") for f in self.element.fields
        }


class InfluenceForm(forms.Form):
    """Add or edit one buying influence on the Blue Sheet."""

    contact = forms.IntegerField(label=gettext_lazy("Contact"))
    role = forms.CharField(max_length=32, label=gettext_lazy("Role"))
    degree = forms.CharField(max_length=32, label=gettext_lazy("Degree of influence"))
    response_mode = forms.CharField(max_length=32, label=gettext_lazy("Response mode"))
    rating = forms.IntegerField(label=gettext_lazy("Rating"))
    win_results = forms.CharField(
        required=False, max_length=4000, label=gettext_lazy("Win-results")
    )
    notes = forms.CharField(required=False, max_length=4000, label=gettext_lazy("Notes"))
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class VersionForm(forms.Form):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class AssessmentVerifyForm(SchemaForm):
    """Verify a score: only the version the manager saw (the API's schema)."""

    schema = AssessmentVerifyIn

    version = forms.IntegerField(widget=forms.HiddenInput)
