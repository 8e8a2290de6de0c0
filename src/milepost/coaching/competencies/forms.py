"""Input form of the competency model page. It parses input only; the rules are in services."""

from __future__ import annotations

from django import forms


class ModelYamlForm(forms.Form):
    version = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false"}),
        label="Competency model (YAML)",
        strip=False,
    )
