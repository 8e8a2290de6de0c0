"""The manager's inspection page: the team's open deals not under control, ranked by amount x
risk (the chance it is lost or slips), with the signals behind each, and a signal x rep matrix
of who needs help where; and the admins' page of the fitted risk model.

One :func:`inspect_pipeline` call per request (set-based, row-scoped); filters, counts and the
page slice are Polars operations on its frames. Only the 50 rows of the current page are turned
into Python objects, with one query for their names and one for their stage labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import polars as pl
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from milepost.core.errors import NotFound
from milepost.core.htmx import is_partial
from milepost.engine.criteria import MET
from milepost.engine.risk_model import risk_sentence
from milepost.engine.signals import SIGNAL_LABELS
from milepost.evidence.provenance import by_label, how_label
from milepost.inspection.deal import inspect_opportunity
from milepost.inspection.forms import (
    InspectionFilterForm,
    signal_matrix,
    signals_by_deal,
)
from milepost.inspection.models import Snooze
from milepost.inspection.pipeline import inspect_pipeline
from milepost.inspection.selectors import risk_model_overview
from milepost.inspection.snoozes.selectors import snooze_list
from milepost.pipeline.presentation import format_date, format_money, today
from milepost.pipeline.selectors import opportunity_scope
from milepost.process.models import Stage, StageKind
from milepost.team.models import User
from milepost.team.selectors import user_list

PAGE_SIZE = 50
BODY_TARGET = "inspection-body"  # HX-Target asking for the filter form and the results


class FramePages:
    """A Polars frame as a paginator's object list (length and slicing, nothing else)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def __len__(self) -> int:
        return self.frame.height

    def __getitem__(self, index: slice) -> pl.DataFrame:
        return self.frame[index]


@dataclass(frozen=True)
class DealRow:
    id: int
    name: str
    account: str
    url: str
    explain_url: str
    rep: str
    stage: str
    verified_stage: str
    amount: str
    close_date: date
    close_display: str
    overdue: bool
    risk: int  # chance of being lost or slipping, whole percent
    risk_text: str  # "about 70% likely to slip or be lost: ..." with the top signals
    under_control: bool
    first_gap: str
    signals: list[dict[str, Any]]
    # Applying now: the whole deal's (the row is in the "Snoozed" tab) and its signals' (not
    # among ``signals``, shown muted).
    snoozes: list[Snooze] = field(default_factory=list)


def open_stage_choices() -> list[tuple[str, str]]:
    """Open stages of every current process version, by key (a key shared by processes
    filters all of them)."""
    rows = (
        Stage.objects.filter(version__is_current=True, kind=StageKind.OPEN)
        .order_by("version__process__name", "position")
        .values_list("key", "label")
    )
    choices: dict[str, str] = {}
    for key, label in rows:
        choices.setdefault(key, label)
    return list(choices.items())


def _stage_labels(version_ids: list[int]) -> dict[tuple[int, str], str]:
    rows = Stage.objects.filter(version_id__in=version_ids).values_list(
        "version_id", "key", "label"
    )
    return {(vid, key): label for vid, key, label in rows}


def page_rows(*, user: User, result, frame: pl.DataFrame, users: dict[int, User]) -> list[DealRow]:
    """Display rows for one page of the ranked frame (at most :data:`PAGE_SIZE` deals)."""
    if frame.is_empty():
        return []
    ids = frame["opportunity_id"].to_list()
    names = {
        row["id"]: row
        for row in opportunity_scope(user=user)
        .filter(pk__in=ids)
        .values("id", "name", "currency", "account__name")
    }
    labels = _stage_labels(frame["process_version_id"].unique().to_list())
    signals = signals_by_deal(result, ids)
    snoozes: dict[int, list[Snooze]] = {i: [] for i in ids}
    for snooze in snooze_list(user=user, as_of=result.as_of, opportunity_ids=ids):
        snoozes[snooze.opportunity_id].append(snooze)
    on = today()
    rows = []
    for deal in frame.iter_rows(named=True):
        oid = deal["opportunity_id"]
        opp = names.get(oid, {"name": f"#{oid}", "currency": "USD", "account__name": None})
        vid = deal["process_version_id"]
        owner = users.get(deal["owner_id"])
        rows.append(
            DealRow(
                id=oid,
                name=opp["name"],
                account=opp["account__name"] or gettext("No account"),
                url=reverse("pipeline:detail", args=[oid]),
                explain_url=reverse("inspection:explain", args=[oid]),
                rep=str(owner) if owner else gettext("User %(id)s") % {"id": deal["owner_id"]},
                stage=labels.get((vid, deal["stage_key"]), deal["stage_key"]),
                verified_stage=labels.get((vid, deal["verified_stage"]), deal["verified_stage"]),
                amount=format_money(deal["amount"], opp["currency"]),
                close_date=deal["close_date"],
                close_display=format_date(deal["close_date"]),
                overdue=deal["close_date"] < on,
                risk=deal["risk"],
                risk_text=risk_sentence(
                    deal["risk_probability"],
                    [s["label"] for s in signals[oid] if s["contribution"] > 0],
                ),
                under_control=deal["under_control"],
                first_gap=labels.get((vid, deal["first_gap"]), deal["first_gap"] or ""),
                signals=signals[oid],
                snoozes=snoozes[oid],
            )
        )
    return rows


def matrix_rows(matrix: pl.DataFrame, users: dict[int, User], query: Any) -> list[dict[str, Any]]:
    """The matrix for the template: a row per rep (by name), a cell per signal with the link
    that lists that cell's deals (the current filters plus this rep and signal)."""
    rows = []
    for rec in matrix.iter_rows(named=True):
        owner = users.get(rec["owner_id"])
        cells = []
        for key, label in SIGNAL_LABELS.items():
            q = query.copy()
            q["rep"] = str(rec["owner_id"])
            q["signal"] = key
            q.pop("page", None)
            cells.append({"key": key, "label": label, "count": rec[key], "query": q.urlencode()})
        rows.append(
            {
                "rep": str(owner) if owner else gettext("User %(id)s") % {"id": rec["owner_id"]},
                "owner_id": rec["owner_id"],
                "deals": rec["deals"],
                "under_control": rec["under_control"],
                "not_under_control": rec["not_under_control"],
                "cells": cells,
            }
        )
    return sorted(rows, key=lambda r: r["rep"].lower())


def _template(request: HttpRequest) -> str:
    if not is_partial(request):
        return "inspection/list.html"
    if request.htmx.target == BODY_TARGET:  # type: ignore[attr-defined]
        return "inspection/partials/body.html"
    return "inspection/partials/results.html"


@login_required
@require_GET
def deal_list(request: HttpRequest) -> HttpResponse:
    visible = user_list(user=request.user)
    users = {u.pk: u for u in visible}
    form = InspectionFilterForm(request.GET, users=visible, stages=open_stage_choices())
    filters = form.to_filters()
    result = inspect_pipeline(user=request.user)
    if filters is None:
        deals = result.deals.clear()
        counted = deals
        snoozed_total = 0
    else:
        deals = filters.deals(result)
        counted = filters.deals(result, rep_and_signal=False)
        snoozed_total = replace(filters, snoozed="yes").deals(result).height
    snoozed_tab = request.GET.copy()
    snoozed_tab.pop("page", None)
    showing_snoozed = filters is not None and filters.snoozed == "yes"
    if showing_snoozed:
        snoozed_tab.pop("snoozed", None)
    else:
        snoozed_tab["snoozed"] = "yes"
    paginator = Paginator(FramePages(deals), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    toggle = request.GET.copy()
    toggle.pop("page", None)
    showing_flagged = filters is not None and filters.control == "all" and filters.flagged
    if showing_flagged:
        toggle["control"] = "no"
        toggle.pop("flagged", None)
    else:
        toggle["control"] = "all"
        toggle["flagged"] = "on"
    context = {
        "nav": "inspection",
        "form": form,
        "filters": filters,
        "filters_invalid": filters is None,
        "page": page,
        "rows": page_rows(user=request.user, result=result, frame=page.object_list, users=users),
        "total": deals.height,
        "team_total": result.deals.height,
        "query": query.urlencode(),
        "toggle_query": toggle.urlencode(),
        "showing_flagged": showing_flagged,
        "showing_snoozed": showing_snoozed,
        "snoozed_total": snoozed_total,
        "snoozed_query": snoozed_tab.urlencode(),
        "signal_labels": list(SIGNAL_LABELS.items()),
        "matrix": matrix_rows(signal_matrix(result, counted), users, query),
        "body_target": BODY_TARGET,
    }
    return render(request, _template(request), context)


@login_required
@require_GET
def explain(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """One deal's explanation: signals with reasons and weights, unmet criteria, next actions.
    HTMX gets the fragment the list expands inline; a plain request the full page."""
    try:
        inspection = inspect_opportunity(user=request.user, opportunity_id=opportunity_id)
    except NotFound:
        raise Http404("No such opportunity") from None
    criteria = inspection.criteria
    limit = criteria.claimed_position + 1
    unmet = [
        {"stage": s.stage.label, "statement": c.criterion.statement, "reason": c.reason}
        for s in criteria.stages
        if s.position < limit
        for c in s.criteria
        if c.status != MET
    ]
    met = [
        {
            "stage": s.stage.label,
            "statement": c.criterion.statement,
            "how": how_label(c.provenance.how),
            "by": by_label(c.provenance.by),
            "self_assessed": c.provenance.self_assessed,
        }
        for s in criteria.stages
        if s.position < limit
        for c in s.criteria
        if c.status == MET
    ]
    signals = [
        {
            **s,
            "label": SIGNAL_LABELS.get(s["signal"], s["signal"]),
            # What the signal does to the odds of a slip or loss (e^coefficient).
            "odds": math.exp(s["contribution"]),
        }
        for s in inspection.signals
    ]
    context = {
        "nav": "inspection",
        "opp": criteria.opportunity,
        "inspection": inspection,
        "signals": signals,
        "unmet": unmet,
        "met": met,
        "deal_url": reverse("pipeline:detail", args=[opportunity_id]),
    }
    if is_partial(request):
        return render(request, "inspection/partials/explanation.html", context)
    return render(request, "inspection/explanation.html", context)


@login_required
@require_GET
def risk_model(request: HttpRequest) -> HttpResponse:
    """The fitted risk model of each process version and how good it is (admins, read-only):
    what each signal does to the chance of a loss or slip, and predicted against observed."""
    try:
        models = risk_model_overview(user=request.user)
    except PermissionDenied:
        raise Http404("No such page") from None
    return render(request, "inspection/risk_model.html", {"nav": "inspection", "models": models})
