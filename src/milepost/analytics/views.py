"""Analytics pages: conversion, velocity, the waterfall, and the deals behind any figure.

Every page parses the filters with :class:`~milepost.analytics.forms.AnalyticsFilterForm`,
calls one report selector for the signed-in user, and renders each figure as a chart with its
table beside it. ``?format=csv&table=NAME`` downloads one table, ``?format=xlsx`` all of the
page's tables (both through :mod:`milepost.core.exports`, formula-safe). Reps see their own
deals, managers and leaders their reporting line, admins everyone: the selectors' rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.views.decorators.http import require_GET
from django_tables2 import RequestConfig

from milepost.analytics import charts, selectors
from milepost.analytics.effectiveness_text import change_text, points, suggestion_text
from milepost.analytics.filters import AnalyticsFilters
from milepost.analytics.forms import AnalyticsFilterForm
from milepost.analytics.tables import (
    TOO_FEW,
    WATERFALL_LABELS,
    Table,
    conversion_tables,
    effectiveness_tables,
    velocity_tables,
    waterfall_tables,
)
from milepost.core import formatting
from milepost.core.exports import csv_response, xlsx_response
from milepost.core.htmx import is_partial
from milepost.deals.tables import OpportunityTable
from milepost.process.selectors import current_version
from milepost.team.selectors import user_list

PAGE_SIZE = 50
EMPTY = "—"


@dataclass(frozen=True)
class Cell:
    text: str
    href: str | None
    numeric: bool


@dataclass(frozen=True)
class Shown:
    """A table as the page shows it: formatted cells, some linking to their deals."""

    name: str
    title: str
    header: list[str]
    rows: list[list[Cell]]
    chart: charts.Chart | None = None


def _format(value: Any, kind: str) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, Promise):  # "too few deals"
        return str(value)
    if kind == "money":
        return formatting.money(value)
    if kind == "share":
        return formatting.share(value, 1)
    if kind == "days":
        return formatting.number(value, 1)
    if kind == "int":
        return formatting.number(value)
    if kind == "date":
        return formatting.date_short(value)
    if kind == "points":
        return points(value)
    if kind == "number":
        return formatting.number(value, 2)
    return str(value)


def deals_link(filters: AnalyticsFilters, figure: str, part: str, stage: str | None) -> str:
    query = filters.query(figure=figure, part=part, **({"stage": stage} if stage else {}))
    return f"{reverse('analytics:deals')}?{urlencode(query)}"


def _shown(table: Table, filters: AnalyticsFilters, chart: charts.Chart | None = None) -> Shown:
    rows = []
    for key, row in zip(table.keys, table.rows, strict=True):
        cells = []
        for index, (value, kind) in enumerate(zip(row, table.formats, strict=True)):
            href = None
            link = table.links.get(index)
            if link is not None and value not in (None, 0):
                figure, part = link
                stage = (
                    key
                    if figure in ("cohort", "funnel", "visits", "criterion", "stage_health")
                    else None
                )
                href = deals_link(filters, figure, part or key, stage)
            cells.append(Cell(_format(value, kind), href, kind != "text"))
        rows.append(cells)
    return Shown(table.name, str(table.title), [str(h) for h in table.header], rows, chart)


def _filter_form(request: HttpRequest) -> tuple[AnalyticsFilterForm, AnalyticsFilters | None]:
    form = AnalyticsFilterForm(request.GET or None, users=user_list(user=request.user))
    if not request.GET:
        return form, AnalyticsFilters()
    if form.is_valid():
        assert isinstance(form.validated, AnalyticsFilters)
        return form, form.validated
    return form, None


def _export(request: HttpRequest, tables: list[Table], page: str) -> HttpResponse | None:
    kind = request.GET.get("format")
    if kind == "csv":
        name = request.GET.get("table") or tables[0].name
        table = next((t for t in tables if t.name == name), None)
        if table is None:
            raise Http404("No such table on this page")
        return csv_response(table.lines(), filename=f"analytics-{page}-{table.name}.csv")
    if kind == "xlsx":
        return xlsx_response(
            [(t.name, t.lines()) for t in tables], filename=f"analytics-{page}.xlsx"
        )
    return None


def _page(
    request: HttpRequest,
    page: str,
    report: Callable[..., Any],
    tabulate: Callable[[Any], list[Table]],
    chart_for: Callable[[Table, AnalyticsFilters], charts.Chart | None],
    extra: Callable[[Any, AnalyticsFilters], dict[str, Any]] | None = None,
) -> HttpResponse:
    form, filters = _filter_form(request)
    context: dict[str, Any] = {"nav": "analytics", "page": page, "form": form, "tables": []}
    if filters is not None:
        result = report(user=request.user, filters=filters)
        tables = tabulate(result)
        exported = _export(request, tables, page)
        if exported is not None:
            return exported
        first, last = filters.period()
        query = filters.query()
        context.update(
            filters=filters,
            result=result,
            stages=result.stages if hasattr(result, "stages") else result.inputs.stages,
            period=(first, last),
            tables=[_shown(t, filters, chart_for(t, filters)) for t in tables],
            xlsx_query=urlencode({**query, "format": "xlsx"}),
            csv_query=urlencode({**query, "format": "csv"}),
            query=urlencode(query),
        )
        if extra is not None:
            context.update(extra(result, filters))
    template = f"analytics/{page}.html"
    if is_partial(request):
        template = "analytics/partials/figures.html"
    return render(request, template, context, status=200 if filters is not None else 422)


# --- charts -------------------------------------------------------------------------------


def _conversion_chart(table: Table, filters: AnalyticsFilters) -> charts.Chart | None:
    if table.name == "funnel":
        rows = [
            (
                str(row[0]),
                float(row[1]),
                gettext("%(n)s deals") % {"n": formatting.number(row[1])},
                deals_link(filters, "funnel", "reached", key) if row[1] else None,
            )
            for key, row in zip(table.keys, table.rows, strict=True)
        ]
        return charts.bar_chart(gettext("Deals reaching each stage"), rows)
    if table.name == "cohorts":
        rows = []
        for key, row in zip(table.keys, table.rows, strict=True):
            rate = row[12]  # win rate
            text = _format(rate, "share")
            if rate is not TOO_FEW and rate is not None:
                text += " " + gettext("(n=%(n)s)") % {"n": row[15]}
            rows.append(
                (
                    str(row[0]),
                    rate if isinstance(rate, float | int) else None,
                    text,
                    deals_link(filters, "cohort", "won", key) if row[4] else None,
                )
            )
        return charts.bar_chart(gettext("Win rate of each stage's cohort"), rows)
    return None


def _velocity_chart(table: Table, filters: AnalyticsFilters) -> charts.Chart | None:
    if table.name == "time_in_stage":
        rows = [
            (
                str(row[0]),
                charts.as_float(row[2]),
                gettext("median %(d)s days") % {"d": _format(row[2], "days")}
                if row[2] is not None
                else gettext("no visits ended"),
                deals_link(filters, "visits", "ended", key) if row[1] else None,
            )
            for key, row in zip(table.keys, table.rows, strict=True)
        ]
        return charts.bar_chart(gettext("Median days in each stage"), rows)
    if table.name == "trend":
        rows = [
            (
                formatting.date_short(row[0]),
                charts.as_float(row[7]),
                _format(row[7], "money") + " " + gettext("a day"),
                None,
            )
            for row in table.rows
        ]
        return charts.bar_chart(gettext("Sales velocity by period"), rows)
    return None


def _rate_text(rate: Any, n: Any) -> str:
    text = _format(rate, "share")
    if rate is not TOO_FEW and rate is not None:
        text += " " + gettext("(n=%(n)s)") % {"n": n}
    return text


def _effectiveness_chart(table: Table, filters: AnalyticsFilters) -> charts.Chart | None:
    """Loss rate in each stage; win rate with each criterion met at the exit, against not."""
    if table.name == "stages":
        rows = [
            (
                str(row[0]),
                row[5] if isinstance(row[5], float | int) else None,
                _rate_text(row[5], row[8]),
                deals_link(filters, "stage_health", "lost_here", key) if row[4] else None,
            )
            for key, row in zip(table.keys, table.rows, strict=True)
        ]
        return charts.bar_chart(gettext("Loss rate in each stage"), rows)
    if table.name == "criteria":
        rows = [
            (
                str(row[1]),
                row[6] if isinstance(row[6], float | int) else None,
                gettext("met %(met)s, not met %(unmet)s")
                % {"met": _rate_text(row[6], row[9]), "unmet": _rate_text(row[10], row[13])},
                deals_link(filters, "criterion", "met", key) if row[3] else None,
            )
            for key, row in zip(table.keys, table.rows, strict=True)
        ]
        return charts.bar_chart(gettext("Win rate with each criterion met at the exit"), rows)
    return None


def _waterfall_chart(table: Table, filters: AnalyticsFilters) -> charts.Chart | None:
    rows = []
    for key, row in zip(table.keys, table.rows, strict=True):
        amount: Decimal = row[3]
        text = _format(amount, "money")
        href = deals_link(filters, "waterfall", key, None) if row[1] else None
        rows.append((key, str(WATERFALL_LABELS[key]), amount, text, href))
    return charts.waterfall_chart(gettext("Pipeline from opening to closing"), rows)


# --- pages --------------------------------------------------------------------------------


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    target = reverse("analytics:conversion")
    return redirect(f"{target}?{request.GET.urlencode()}" if request.GET else target)


@login_required
@require_GET
def conversion(request: HttpRequest) -> HttpResponse:
    return _page(
        request, "conversion", selectors.conversion_report, conversion_tables, _conversion_chart
    )


@login_required
@require_GET
def velocity(request: HttpRequest) -> HttpResponse:
    return _page(request, "velocity", selectors.velocity_report, velocity_tables, _velocity_chart)


@login_required
@require_GET
def waterfall(request: HttpRequest) -> HttpResponse:
    return _page(
        request, "waterfall", selectors.waterfall_report, waterfall_tables, _waterfall_chart
    )


@dataclass(frozen=True)
class SuggestionShown:
    """One suggestion as the page shows it: its text, why it ranks where it does, and the
    change a sales-ops admin may open as a designer draft (posted to the designer)."""

    rank: int
    text: str
    change: str
    change_fields: list[tuple[str, str]]
    evidence: str
    deals: str
    amount: str


def _effectiveness_context(
    report: selectors.EffectivenessReport, filters: AnalyticsFilters
) -> dict[str, Any]:
    labels = report.stages.labels
    shown = []
    result = report.result
    for rank, s in enumerate(result.suggestions if result else (), start=1):
        change = s.change.as_json()
        shown.append(
            SuggestionShown(
                rank=rank,
                text=suggestion_text(s.kind, s.params),
                change=change_text(change, labels),
                change_fields=[(k, str(v)) for k, v in change.items()],
                evidence=formatting.number(s.evidence, 2),
                deals=formatting.number(s.affected_deals),
                amount=formatting.money(s.affected_amount),
            )
        )
    version = report.stages.version
    return {
        "frames": report.frames,
        "suggestions": shown,
        "version_number": version.number if version is not None else None,
        # A draft starts from the live version: offer it only when the figures are of it.
        "draft_possible": version is not None
        and version.pk == getattr(current_version(process_key=filters.process), "pk", None),
    }


@login_required
@require_GET
def effectiveness(request: HttpRequest) -> HttpResponse:
    """Process effectiveness: which exit criteria tell wins from losses, where deals are lost,
    stall and skip, and ranked suggestions (a sales-ops admin may open one as a draft)."""
    return _page(
        request,
        "effectiveness",
        selectors.effectiveness_report,
        effectiveness_tables,
        _effectiveness_chart,
        _effectiveness_context,
    )


@login_required
@require_GET
def deals(request: HttpRequest) -> HttpResponse:
    """The deals behind one figure, as the deals table lists them."""
    query = request.GET.copy()
    figure, part, stage = (query.pop(k, [""])[-1] for k in ("figure", "part", "stage"))
    query.pop("page", None)
    query.pop("sort", None)
    form = AnalyticsFilterForm(query, users=user_list(user=request.user))
    if not form.is_valid():
        return render(
            request,
            "analytics/deals.html",
            {"nav": "analytics", "page": "deals", "form": form, "table": None},
            status=422,
        )
    filters = form.validated
    assert isinstance(filters, AnalyticsFilters)
    try:
        ids = selectors.figure_deal_ids(
            user=request.user, filters=filters, figure=figure, part=part, stage=stage or None
        )
    except selectors.UnknownFigure:
        raise Http404("No such figure") from None
    table = OpportunityTable(selectors.figure_deals(user=request.user, ids=ids))
    RequestConfig(request, paginate={"per_page": PAGE_SIZE}).configure(table)
    context = {
        "nav": "analytics",
        "page": "deals",
        "form": form,
        "table": table,
        "count": len(ids),
        "figure": figure,
        "part": part,
        "stage": stage,
        "back_query": urlencode(filters.query()),
    }
    return render(request, "analytics/deals.html", context)
