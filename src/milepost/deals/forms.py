"""Input parsing for the deal pages: filter forms (board, table), the move form and the evidence
actions on the process map.

Filter forms turn query-string input into :class:`OpportunityFilters`; the row-level rules stay
in the selectors. Choices are limited to what the viewer may see, and an invalid choice (for
example another team's manager) makes :meth:`PipelineFilterForm.to_filters` return ``None`` so
the page shows nothing instead of silently widening the list.

The evidence forms only parse types (a date, a contact id, a version); what the evidence must
contain and who may record, verify or reject it is decided by :mod:`milepost.evidence.services`,
whose ``InvalidChange`` errors the views show next to the form.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

# The evidence forms live with the evidence app (the inspection page's claim queue uses them
# too); re-exported for the process map's actions.
from milepost.evidence.forms import (  # noqa: F401 - re-exported
    EvidenceRecordForm,
    EvidenceRejectForm,
    EvidenceReviewForm,
)
from milepost.pipeline.presentation import MAX_BOARD_OFFSET, PERIOD_CHOICES, period_range
from milepost.pipeline.selectors import OpportunityFilters
from milepost.process.models import ForecastCategory, Stage
from milepost.team.models import Role, User

TEAM_ROLES = (Role.MANAGER, Role.LEADER)


class PipelineFilterForm(forms.Form):
    """Filters shared by the board and the table."""

    q = forms.CharField(
        required=False,
        max_length=100,
        label=gettext_lazy("Search"),
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": gettext_lazy("Deal, account or id")}
        ),
    )
    owner = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label=gettext_lazy("Owner")
    )
    team = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label=gettext_lazy("Team")
    )
    period = forms.ChoiceField(
        required=False, choices=PERIOD_CHOICES, label=gettext_lazy("Close period")
    )

    def __init__(
        self,
        data: dict | None = None,
        *,
        users: list[User],
        process_choices: list[tuple[str, str]] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(data, **kwargs)
        self.fields["owner"].choices = [("", gettext_lazy("Anyone"))] + [
            (str(u.pk), str(u)) for u in users
        ]
        managers = [u for u in users if u.role in TEAM_ROLES]
        if not managers:  # reps see nobody with a team
            del self.fields["team"]
        else:
            self.fields["team"].choices = [("", gettext_lazy("All teams"))] + [
                (str(m.pk), f"{m}'s team") for m in managers
            ]
        if process_choices and len(process_choices) > 1:
            self.fields["process"] = forms.ChoiceField(
                required=False, choices=process_choices, label=gettext_lazy("Process")
            )
            self.order_fields(["process"])

    def process_key(self, default: str) -> str:
        if self.is_bound and self.is_valid() and self.cleaned_data.get("process"):
            return self.cleaned_data["process"]
        return default

    def filter_values(self) -> dict:
        """Keyword arguments for :class:`OpportunityFilters` (call only when valid)."""
        data = self.cleaned_data
        close_from, close_to = period_range(data.get("period") or "")
        return {
            "search": (data.get("q") or "").strip() or None,
            "owner_id": data.get("owner"),
            "team_of": data.get("team"),
            "close_from": close_from,
            "close_to": close_to,
        }

    def to_filters(self, *, process_key: str | None = None) -> OpportunityFilters | None:
        if not self.is_valid():
            return None
        return OpportunityFilters(process_key=process_key, **self.filter_values())


STATUS_CHOICES = [
    ("open", gettext_lazy("Open")),
    ("won", gettext_lazy("Won")),
    ("lost", gettext_lazy("Lost")),
    ("all", gettext_lazy("All")),
]


class TableFilterForm(PipelineFilterForm):
    """The board's filters plus stage, status, forecast category and explicit close dates."""

    stage = forms.ChoiceField(required=False, label=gettext_lazy("Stage"))
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES, label=gettext_lazy("Status"))
    forecast_category = forms.ChoiceField(
        required=False,
        choices=[("", gettext_lazy("Any category")), *ForecastCategory.choices],
        label=gettext_lazy("Forecast category"),
    )
    close_from = forms.DateField(
        required=False,
        label=gettext_lazy("Close from"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    close_to = forms.DateField(
        required=False,
        label=gettext_lazy("Close to"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, data: dict | None = None, *, stages: list[Stage], **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.fields["stage"].choices = [("", gettext_lazy("Any stage"))] + [
            (s.key, s.label) for s in stages
        ]

    def filter_values(self) -> dict:
        values = super().filter_values()
        data = self.cleaned_data
        values.update(
            stage_key=data.get("stage") or None,
            status=data.get("status") or "open",
            forecast_category=data.get("forecast_category") or None,
        )
        if data.get("close_from"):
            values["close_from"] = max(filter(None, [values["close_from"], data["close_from"]]))
        if data.get("close_to"):
            values["close_to"] = min(filter(None, [values["close_to"], data["close_to"]]))
        return values


class MoveForm(forms.Form):
    """A stage move as posted by the board, the keyboard menu or the opportunity page."""

    to_stage = forms.SlugField(max_length=64, label=gettext_lazy("Move to stage"))
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    lost_reason = forms.CharField(required=False, max_length=200, label=gettext_lazy("Lost reason"))
    note = forms.CharField(required=False, max_length=500, label=gettext_lazy("Note"))
    justification = forms.CharField(
        required=False,
        max_length=1000,
        label=gettext_lazy("Why move past unmet exit criteria?"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    next = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)


class ColumnPageForm(forms.Form):
    """Where a board column's "Show more" starts; bounded so a crafted offset is a 422."""

    offset = forms.IntegerField(min_value=0, max_value=MAX_BOARD_OFFSET)


class ControlIdsForm(forms.Form):
    """The deals whose control dots the board asks for: ``ids=1,2,3``, at most a board's worth."""

    MAX_IDS = 200

    ids = forms.CharField(max_length=4000)

    def clean_ids(self) -> list[int]:
        parts = [p for p in self.cleaned_data["ids"].split(",") if p.strip()]
        if len(parts) > self.MAX_IDS:
            raise forms.ValidationError(f"at most {self.MAX_IDS} deals at a time")
        try:
            ids = [int(p) for p in parts]
        except ValueError:
            raise forms.ValidationError("a comma-separated list of deal ids") from None
        if any(i < 1 or i > 2**31 - 1 for i in ids):
            raise forms.ValidationError("deal ids are positive whole numbers")
        return ids


class GateCheckForm(forms.Form):
    """The stage a board move asks the gate about, before anything is sent to move."""

    to_stage = forms.SlugField(max_length=64, label=gettext_lazy("Move to stage"))


# --- Evidence actions on the process map ------------------------------------------------
