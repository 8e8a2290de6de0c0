"""The analytics filter form: parses the query string; :class:`AnalyticsFilters` validates it
(the same schema as the API and the command), so the three refuse the same input alike.

Choices are limited to what the viewer may see: teams are the managers and leaders visible to
them, reps the people visible to them. A choice outside those is a field error, and the page
shows no figures rather than silently widening them.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from milepost.accounts.models import Account
from milepost.analytics.filters import AnalyticsFilters
from milepost.core.schema_forms import SchemaForm
from milepost.pipeline.models import Product
from milepost.process.selectors import process_list
from milepost.team.models import Role, User

_DATE = forms.DateInput(attrs={"type": "date"})


class AnalyticsFilterForm(SchemaForm):
    schema = AnalyticsFilters

    date_from = forms.DateField(required=False, label=_("From"), widget=_DATE)
    date_to = forms.DateField(required=False, label=_("To"), widget=_DATE)
    process = forms.ChoiceField(required=False, label=_("Process"))
    version = forms.IntegerField(required=False, min_value=1, label=_("Version"))
    team = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label=_("Team"))
    rep = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label=_("Rep"))
    product = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label=_("Product")
    )
    sector = forms.ChoiceField(required=False, label=_("Sector"))
    source = forms.CharField(required=False, max_length=64, label=_("Lead source"))
    amount_min = forms.DecimalField(required=False, min_value=0, label=_("Amount from"))
    amount_max = forms.DecimalField(required=False, min_value=0, label=_("Amount to"))
    every = forms.ChoiceField(
        required=False,
        choices=[("month", _("Month")), ("quarter", _("Quarter"))],
        label=_("Trend by"),
    )
    scope_from = forms.DateField(required=False, label=_("Close dates from"), widget=_DATE)
    scope_to = forms.DateField(required=False, label=_("Close dates to"), widget=_DATE)

    def __init__(self, data=None, *, users: list[User], **kwargs) -> None:
        super().__init__(data, **kwargs)
        processes = [(p.key, p.name) for p in process_list()]
        self.fields["process"].choices = processes
        managers = [u for u in users if u.role in (Role.MANAGER, Role.LEADER)]
        self.fields["team"].choices = [("", _("All visible"))] + [
            (str(m.pk), str(m)) for m in managers
        ]
        self.fields["rep"].choices = [("", _("Anyone"))] + [(str(u.pk), str(u)) for u in users]
        self.fields["product"].choices = [("", _("Any product"))] + [
            (str(p.pk), p.name) for p in Product.objects.order_by("name")
        ]
        sectors = (
            Account.objects.exclude(sector="")
            .order_by("sector")
            .values_list("sector", flat=True)
            .distinct()
        )
        self.fields["sector"].choices = [("", _("Any sector"))] + [(s, s) for s in sectors]

    def schema_input(self) -> dict:
        data = super().schema_input()
        return {k: v for k, v in data.items() if v not in (None, "")}
