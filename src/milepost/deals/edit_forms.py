"""Forms that create and edit deals on the pages.

They parse types only (a date, a whole number, a choice); what a value may be is decided by the
one deal schema, :func:`milepost.pipeline.validation.clean_deal_fields`, which ``clean()``
calls so the page shows the API's message next to the field it names. Who may pick which
account or owner is the service's rule; its ``InvalidChange`` is put on the field too
(:func:`add_service_error`).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from milepost.core.errors import InvalidChange
from milepost.pipeline import validation as v
from milepost.process.models import ForecastCategory, StageKind
from milepost.team.models import User

# Inline edit groups on the deal page: the fields edited together, the anchor of the fact they
# replace, and the label of the group.
EDIT_GROUPS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "name": (("name",), "name", gettext_lazy("Name")),
    "account": (("account",), "account", gettext_lazy("Account")),
    "amount": (("amount", "currency"), "amount", gettext_lazy("Amount")),
    "close_date": (("close_date",), "close-date", gettext_lazy("Close date")),
    "probability": (("probability",), "probability", gettext_lazy("Probability")),
    "forecast_category": (
        ("forecast_category",),
        "forecast-category",
        gettext_lazy("Forecast category"),
    ),
    "next_step": (("next_step", "next_step_date"), "next-step", gettext_lazy("Next step")),
    "owner": (("owner",), "owner", gettext_lazy("Owner")),
}
# Form field → service field.
_SERVICE_NAMES = {"account": "account_id", "owner": "owner_id"}
_FORM_NAMES = {v_: k for k, v_ in _SERVICE_NAMES.items()}
_SCHEMA_FIELDS = frozenset(v.DealFields.model_fields)


def _date(label: str, *, required: bool) -> forms.DateField:
    return forms.DateField(
        required=required, label=label, widget=forms.DateInput(attrs={"type": "date"})
    )


class DealForm(forms.Form):
    """Every field a deal page may set; :class:`DealEditForm` and :class:`DealCreateForm` keep
    the ones they need."""

    name = forms.CharField(
        label=gettext_lazy("Name"),
        strip=False,
        widget=forms.TextInput(attrs={"maxlength": v.NAME_MAX}),
    )
    account = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label=gettext_lazy("Account")
    )
    amount = forms.CharField(
        label=gettext_lazy("Amount"), widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    currency = forms.CharField(
        label=gettext_lazy("Currency"),
        initial="USD",
        widget=forms.TextInput(attrs={"maxlength": 3, "size": 4, "autocapitalize": "characters"}),
    )
    close_date = _date(gettext_lazy("Close date"), required=True)
    forecast_category = forms.ChoiceField(
        required=False,
        label=gettext_lazy("Forecast category"),
        choices=[("", gettext_lazy("The stage's default")), *ForecastCategory.choices],
    )
    probability = forms.IntegerField(
        required=False,
        label=gettext_lazy("Probability override (%)"),
        help_text=gettext_lazy("Leave empty to use the stage's default."),
        widget=forms.NumberInput(attrs={"min": 0, "max": 100}),
    )
    next_step = forms.CharField(
        required=False,
        label=gettext_lazy("Next step"),
        strip=False,
        widget=forms.TextInput(attrs={"maxlength": v.NEXT_STEP_MAX}),
    )
    next_step_date = _date(gettext_lazy("Next step date"), required=False)
    owner = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label=gettext_lazy("Owner")
    )

    # Fields every instance keeps whatever ``keep`` says (hidden bookkeeping).
    always: tuple[str, ...] = ()

    def __init__(
        self,
        data: Any = None,
        *,
        keep: tuple[str, ...] | None = None,
        accounts: list[tuple[int, str]] = (),  # type: ignore[assignment]
        owners: list[User] = (),  # type: ignore[assignment]
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        if keep is not None:
            for name in list(self.fields):
                if name not in keep and name not in self.always:
                    del self.fields[name]
        if "account" in self.fields:
            self.fields["account"].choices = [("", gettext_lazy("No account"))] + [
                (str(pk), name) for pk, name in accounts
            ]
        if "owner" in self.fields:
            self.fields["owner"].choices = [(str(u.pk), str(u)) for u in owners]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        plain = {k: data[k] for k in data if k in _SCHEMA_FIELDS}
        if "forecast_category" in plain and not plain["forecast_category"]:
            del plain["forecast_category"]
        try:
            data.update(v.clean_deal_fields(plain))
        except InvalidChange as exc:
            add_service_error(self, exc)
        return data

    def changes(self) -> dict[str, Any]:
        """The cleaned values under the service's names (``account`` → ``account_id``)."""
        out: dict[str, Any] = {}
        for name in self.fields:
            if name in self.always or name not in self.cleaned_data:
                continue
            out[_SERVICE_NAMES.get(name, name)] = self.cleaned_data[name]
        return out

    def invalid_field(self) -> str:
        """The first field with an error (where the focus goes), or ''."""
        return next((name for name in self.errors if name in self.fields), "")


def add_service_error(form: forms.Form, exc: InvalidChange) -> None:
    """Put a service's refusal on the field it names (or on the form when it names none)."""
    field = _FORM_NAMES.get(exc.field, exc.field)
    form.add_error(field if field in form.fields else None, str(exc))


class DealEditForm(DealForm):
    """One inline edit group of the deal page, with the version the user saw."""

    always = ("version", "group")
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    group = forms.ChoiceField(choices=[(k, k) for k in EDIT_GROUPS], widget=forms.HiddenInput)

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        if "forecast_category" in self.fields:  # a deal always has one: no "default" choice
            self.fields["forecast_category"].required = True
            self.fields["forecast_category"].choices = ForecastCategory.choices


class DealCreateForm(DealForm):
    """The "New deal" page: every field, the stage (by process) and, under a gate, why."""

    always = ("stage", "justification")
    stage = forms.ChoiceField(label=gettext_lazy("Stage"))
    justification = forms.CharField(
        required=False,
        max_length=1000,
        label=gettext_lazy("Why start past unmet exit criteria?"),
        help_text=gettext_lazy("Needed when the stage's gate warns (at least 10 characters)."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, data: Any = None, *, stages: list[tuple[str, str, list]], **kwargs: Any):
        super().__init__(data, **kwargs)
        self.fields["stage"].choices = [
            (name, [(f"{key}:{s.key}", s.label) for s in group if s.kind == StageKind.OPEN])
            for key, name, group in stages
        ]
        self.order_fields(["name", "account", "amount", "currency", "close_date", "stage"])

    def create_kwargs(self) -> dict[str, Any]:
        out = self.changes()
        process_key, _, stage_key = self.cleaned_data["stage"].partition(":")
        out.update(process_key=process_key, stage_key=stage_key)
        out["justification"] = self.cleaned_data.get("justification", "")
        if not out.get("forecast_category"):
            out.pop("forecast_category", None)
        if out.get("next_step_date") is None:
            out.pop("next_step_date", None)
        return out


class CloseForm(forms.Form):
    """Close as won or lost; a loss says why (checked by the close service)."""

    outcome = forms.ChoiceField(
        choices=[(StageKind.WON, gettext_lazy("Won")), (StageKind.LOST, gettext_lazy("Lost"))],
        label=gettext_lazy("Outcome"),
    )
    lost_reason = forms.CharField(
        required=False, strip=False, label=gettext_lazy("Why was it lost?")
    )
    justification = forms.CharField(
        required=False,
        max_length=1000,
        label=gettext_lazy("Why win past unmet exit criteria?"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class VersionForm(forms.Form):
    """Archive or restore: only the version the admin saw."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
