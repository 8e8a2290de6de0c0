"""Input form of the skills pages. It parses input only; the rules are in services."""

from __future__ import annotations

from django import forms

SCORE_CHOICES = [
    (1, "1 - Not yet"),
    (2, "2 - Developing"),
    (3, "3 - Capable"),
    (4, "4 - Strong"),
    (5, "5 - Role model"),
]


class RatingForm(forms.Form):
    competency = forms.CharField(max_length=64)
    score = forms.TypedChoiceField(choices=SCORE_CHOICES, coerce=int, label="Score")
    observation = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Observation"
    )
    session = forms.IntegerField(required=False, widget=forms.HiddenInput)
