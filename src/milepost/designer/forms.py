"""Input parsing for the process designer's pages.

The forms parse types only (a whole number, a choice, lines of text, a rule as YAML): whether
the process is valid is decided by the CLI's validator on the saved draft
(:func:`milepost.designer.validation.draft_problems`), whose problems the pages show at the field.
So a form accepts e.g. a probability of 150; the page then says why it cannot be published.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from milepost.core.errors import InvalidChange
from milepost.designer.services import parse_rule
from milepost.engine.methodology_schema import MethodologyDef
from milepost.engine.vocabulary import (
    BUYER_PHASES,
    FORECAST_CATEGORIES,
    STAGE_KINDS,
    VERIFIERS,
)

NOT_RELEVANT, RECOMMENDED, REQUIRED = "", "recommended", "required"
_LEVELS = [
    (NOT_RELEVANT, gettext_lazy("Not relevant")),
    (RECOMMENDED, gettext_lazy("Recommended")),
    (REQUIRED, gettext_lazy("Required")),
]


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v, v.replace("_", " ").capitalize()) for v in values]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class VersionForm(forms.Form):
    """Every designer edit names the draft version it was made on (optimistic lock)."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class SettingsForm(VersionForm):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    gate_policy = forms.ChoiceField(
        choices=[
            ("block", gettext_lazy("Block")),
            ("warn", gettext_lazy("Warn")),
            ("open", gettext_lazy("Open")),
        ],
        label=gettext_lazy("Exit-criteria gate"),
    )
    currency = forms.CharField(max_length=8)
    methodologies = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=gettext_lazy("Methodologies used"),
        help_text=gettext_lazy(
            "One per line: pack key, a colon, what it is used for (meddpicc: qualification)."
        ),
    )

    @staticmethod
    def initial_from(document: dict[str, Any], version: int) -> dict[str, Any]:
        uses = document.get("methodologies") or []
        return {
            "version": version,
            "name": document.get("name", ""),
            "description": document.get("description", ""),
            "gate_policy": document.get("gate_policy", "warn"),
            "currency": document.get("currency", gettext_lazy("USD")),
            "methodologies": "\n".join(
                f"{u.get('pack', '')}: {u.get('purpose', '')}".rstrip(": ")
                for u in uses
                if isinstance(u, dict)
            ),
        }

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        uses = []
        for line in _lines(data["methodologies"]):
            pack, _, purpose = line.partition(":")
            uses.append(
                {"pack": pack.strip(), **({"purpose": p} if (p := purpose.strip()) else {})}
            )
        return {
            "name": data["name"],
            "description": data["description"],
            "gate_policy": data["gate_policy"],
            "currency": data["currency"],
            "methodologies": uses,
        }


class StageForm(VersionForm):
    key = forms.CharField(
        max_length=64, help_text=gettext_lazy("Lower-case letters, digits and _.")
    )
    label = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=_choices(STAGE_KINDS))
    buyer_phase = forms.ChoiceField(
        choices=_choices(BUYER_PHASES), label=gettext_lazy("Buyer phase")
    )
    buyer_goal = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label=gettext_lazy("Buyer goal")
    )
    probability = forms.IntegerField(label=gettext_lazy("Probability (%)"))
    forecast_category = forms.ChoiceField(
        choices=_choices(FORECAST_CATEGORIES), label=gettext_lazy("Forecast category")
    )
    expected_days = forms.IntegerField(required=False, label=gettext_lazy("Expected days in stage"))
    max_days = forms.IntegerField(required=False, label=gettext_lazy("Maximum days in stage"))

    @staticmethod
    def initial_from(stage: dict[str, Any], version: int) -> dict[str, Any]:
        return {"version": version, **{k: v for k, v in stage.items() if isinstance(v, str | int)}}

    def values(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


class NewStageForm(StageForm):
    position = forms.IntegerField(required=False, min_value=1, label=gettext_lazy("Position"))


class StageTextForm(VersionForm):
    """Suggested actions, playbook and job aid; the methodology mapping fields are added per
    pack the process uses (one choice per element, or two lists when a pack is not loaded)."""

    suggested_actions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label=gettext_lazy("Suggested actions"),
        help_text=gettext_lazy("One per line."),
    )
    playbook = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        label=gettext_lazy("Playbook (Markdown)"),
    )
    job_aid = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        label=gettext_lazy("Job aid notes (Markdown)"),
    )

    def __init__(
        self,
        *args: Any,
        packs_used: list[str],
        packs: dict[str, MethodologyDef],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.packs_used = packs_used
        self.packs = packs
        self.pack_fields: list[tuple[str, str, list[str]]] = []  # (pack, title, field names)
        for pack in packs_used:
            definition = packs.get(pack)
            names = []
            if definition is None:
                for level in (REQUIRED, RECOMMENDED):
                    name = f"m__{pack}__{level}"
                    self.fields[name] = forms.CharField(
                        required=False, label=f"{pack}: {level} elements (comma-separated keys)"
                    )
                    names.append(name)
                self.pack_fields.append((pack, pack, names))
                continue
            for element in definition.elements:
                name = f"m__{pack}__{element.key}"
                self.fields[name] = forms.ChoiceField(
                    choices=_LEVELS, required=False, label=element.label
                )
                names.append(name)
            self.pack_fields.append((pack, definition.name, names))

    def initial_from(self, stage: dict[str, Any], version: int) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "version": version,
            "suggested_actions": "\n".join(stage.get("suggested_actions") or []),
            "playbook": stage.get("playbook", ""),
            "job_aid": stage.get("job_aid", ""),
        }
        mapping = stage.get("methodology") or {}
        for pack in self.packs_used:
            spec = mapping.get(pack) or {}
            if pack not in self.packs:
                for level in (REQUIRED, RECOMMENDED):
                    initial[f"m__{pack}__{level}"] = ", ".join(spec.get(level) or [])
                continue
            for level in (REQUIRED, RECOMMENDED):
                for element in spec.get(level) or []:
                    initial[f"m__{pack}__{element}"] = level
        return initial

    def values(self, stage: dict[str, Any]) -> dict[str, Any]:
        data = self.cleaned_data
        mapping: dict[str, Any] = {}
        # Packs the process no longer lists keep their mapping (the validator reports them).
        for pack, spec in (stage.get("methodology") or {}).items():
            if pack not in self.packs_used:
                mapping[pack] = spec
        for pack in self.packs_used:
            spec: dict[str, list[str]] = {REQUIRED: [], RECOMMENDED: []}
            if pack not in self.packs:
                for level in (REQUIRED, RECOMMENDED):
                    raw = data.get(f"m__{pack}__{level}") or ""
                    spec[level] = [e.strip() for e in raw.split(",") if e.strip()]
            else:
                for element in self.packs[pack].elements:
                    level = data.get(f"m__{pack}__{element.key}") or ""
                    if level:
                        spec[level].append(element.key)
            spec = {k: v for k, v in spec.items() if v}
            if spec:
                mapping[pack] = spec
        return {
            "suggested_actions": _lines(data["suggested_actions"]),
            "playbook": data["playbook"],
            "job_aid": data["job_aid"],
            "methodology": mapping,
        }


class CriterionForm(VersionForm):
    id = forms.CharField(
        max_length=64, label=gettext_lazy("Id"), help_text=gettext_lazy("Unique in the process.")
    )
    statement = forms.CharField(
        max_length=400, widget=forms.Textarea(attrs={"rows": 2}), label=gettext_lazy("Statement")
    )
    verifier = forms.ChoiceField(choices=_choices(VERIFIERS), label=gettext_lazy("Verified by"))
    evidence = forms.ChoiceField(
        required=False,
        choices=[
            ("", gettext_lazy("Default (required without a rule)")),
            ("required", gettext_lazy("Required")),
            ("optional", gettext_lazy("Optional")),
        ],
        label=gettext_lazy("Evidence"),
    )
    guidance = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label=gettext_lazy("Guidance")
    )
    rule = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        label=gettext_lazy("Automatic check (rule as YAML)"),
        help_text=gettext_lazy("e.g. contact_role: {role: economic_buyer} — leave empty for none."),
    )

    def clean_rule(self) -> Any:
        try:
            return parse_rule(self.cleaned_data["rule"] or "")
        except InvalidChange as exc:
            raise forms.ValidationError(str(exc)) from None

    def values(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


class YamlForm(VersionForm):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false"}),
        label=gettext_lazy("Process YAML"),
    )


class MoveForm(VersionForm):
    direction = forms.ChoiceField(
        choices=[("up", gettext_lazy("Up")), ("down", gettext_lazy("Down"))]
    )


def mapping_form(needed: list[Any], targets: list[tuple[str, str]], data: Any = None) -> forms.Form:
    """One required choice per old stage with open deals: the new stage they move to."""
    form = forms.Form(data)
    for stage in needed:
        deals = f"{stage.open_deals} open deal{'s' if stage.open_deals != 1 else ''}"
        form.fields[f"map__{stage.key}"] = forms.ChoiceField(
            choices=[("", gettext_lazy("Choose a stage…")), *targets],
            label=f"{stage.label} ({stage.key}) — {deals} move to",
        )
    return form
