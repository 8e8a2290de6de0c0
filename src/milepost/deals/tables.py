"""The opportunity table (django-tables2): columns, sorting and cell formatting."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from milepost.core import formatting
from milepost.pipeline.models import Opportunity
from milepost.pipeline.presentation import days_in_stage, format_money, is_over_max, is_overdue


class OpportunityTable(tables.Table):
    name = tables.Column(linkify=("pipeline:detail", {"opportunity_id": tables.A("pk")}))
    account = tables.Column(
        accessor="account__name", verbose_name=gettext_lazy("Account"), default="—"
    )
    owner = tables.Column(order_by=("owner__last_name", "owner__first_name"))
    stage = tables.Column(order_by=("stage__kind", "stage__position"))
    amount = tables.Column(attrs={"td": {"class": "numeric"}, "th": {"class": "numeric"}})
    close_date = tables.Column(verbose_name=gettext_lazy("Close date"))
    # Fewer days in stage = entered later, so sort by the entry time, newest first.
    days_in_stage = tables.Column(
        accessor="stage_entered_at",
        verbose_name=gettext_lazy("Days in stage"),
        order_by=("-stage_entered_at",),
        attrs={"td": {"class": "numeric"}, "th": {"class": "numeric"}},
    )
    probability = tables.Column(
        verbose_name=gettext_lazy("Probability"),
        attrs={"td": {"class": "numeric"}, "th": {"class": "numeric"}},
    )
    forecast_category = tables.Column(verbose_name=gettext_lazy("Forecast"))
    # Filled by the view for the rows of the current page (one set-based inspection run).
    control = tables.Column(
        accessor="pk", verbose_name=gettext_lazy("Control"), orderable=False, empty_values=()
    )

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.controls: dict[int, Any] = {}

    class Meta:
        model = Opportunity
        fields = (
            "name",
            "account",
            "owner",
            "stage",
            "amount",
            "close_date",
            "days_in_stage",
            "probability",
            "forecast_category",
            "control",
        )
        order_by = ("close_date",)
        attrs = {"class": "striped opportunity-table"}
        empty_text = gettext_lazy("No opportunities match these filters.")

    def render_control(self, value, record: Opportunity):
        control = self.controls.get(record.pk)
        if control is None:
            return "—"
        if control.under_control:
            return format_html(
                '<span class="badge badge-ok" title="Verified stage: {}">Under control</span>',
                control.verified_label,
            )
        return format_html(
            '<span class="badge badge-danger" title="Verified stage: {}">Gap: {}</span>',
            control.verified_label,
            control.first_gap_label or control.verified_label,
        )

    def render_amount(self, value, record: Opportunity) -> str:
        return format_money(value, record.currency)

    def render_close_date(self, value, record: Opportunity):
        text = formatting.date_short(value)
        if is_overdue(record):
            return format_html('{} <span class="badge badge-danger">{}</span>', text, _("overdue"))
        return text

    def render_days_in_stage(self, value, record: Opportunity):
        days = days_in_stage(record)
        if is_over_max(record):
            return format_html(
                '{} <span class="badge badge-warn">{}</span>',
                days,
                _("over the %(max)d-day limit") % {"max": record.stage.max_days},
            )
        return days

    def render_probability(self, value, record: Opportunity) -> str:
        shown = formatting.percent(value)
        return shown + (" " + _("(set)") if record.probability_overridden else "")
