"""The opportunity table (django-tables2): columns, sorting and cell formatting."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.utils.html import format_html

from milepost.pipeline.models import Opportunity
from milepost.pipeline.presentation import days_in_stage, format_money, is_over_max, is_overdue


class OpportunityTable(tables.Table):
    name = tables.Column(linkify=("pipeline:detail", {"opportunity_id": tables.A("pk")}))
    account = tables.Column(accessor="account__name", verbose_name="Account", default="—")
    owner = tables.Column(order_by=("owner__last_name", "owner__first_name"))
    stage = tables.Column(order_by=("stage__kind", "stage__position"))
    amount = tables.Column(attrs={"td": {"class": "numeric"}, "th": {"class": "numeric"}})
    close_date = tables.DateColumn(format="M j, Y", verbose_name="Close date")
    # Fewer days in stage = entered later, so sort by the entry time, newest first.
    days_in_stage = tables.Column(
        accessor="stage_entered_at",
        verbose_name="Days in stage",
        order_by=("-stage_entered_at",),
        attrs={"td": {"class": "numeric"}, "th": {"class": "numeric"}},
    )
    probability = tables.Column(
        verbose_name="Prob.", attrs={"td": {"class": "numeric"}, "th": {"class": "numeric"}}
    )
    forecast_category = tables.Column(verbose_name="Forecast")
    # Filled by the view for the rows of the current page (one set-based inspection run).
    control = tables.Column(accessor="pk", verbose_name="Control", orderable=False, empty_values=())

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
        empty_text = "No opportunities match these filters."

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
        text = value.strftime("%b %-d, %Y")
        if is_overdue(record):
            return format_html('{} <span class="badge badge-danger">overdue</span>', text)
        return text

    def render_days_in_stage(self, value, record: Opportunity):
        days = days_in_stage(record)
        if is_over_max(record):
            return format_html(
                '{} <span class="badge badge-warn">over {} d</span>', days, record.stage.max_days
            )
        return days

    def render_probability(self, value, record: Opportunity) -> str:
        return f"{value}%" + (" (set)" if record.probability_overridden else "")
