"""Pages for leaders and managers: the coaching routine per manager, its observational effect,
and the weekly digest. Each view parses the query, calls one read and renders; every read is
scoped by the coaching privacy rule (nothing visible is a 404, never an empty page)."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from milepost.coaching.leaders.digest import digest_for
from milepost.coaching.leaders.selectors import (
    DEFAULT_TOP_N,
    DEFAULT_WEEKS,
    EFFECT_WEEKS,
    FOLLOW_DAYS,
    MAX_WEEKS,
    coaching_effect_for,
    leader_overview,
    visible_managers,
)
from milepost.core.errors import NotFound


def int_param(request: HttpRequest, name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(request.GET.get(name, default))
    except (TypeError, ValueError):
        return default
    return max(low, min(value, high))


@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    weeks = int_param(request, "weeks", DEFAULT_WEEKS, 1, MAX_WEEKS)
    top_n = int_param(request, "top", DEFAULT_TOP_N, 1, 100)
    try:
        rows, win = leader_overview(user=request.user, weeks=weeks, top_n=top_n)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    return render(
        request,
        "coaching/leaders/overview.html",
        {"rows": rows, "window": win, "weeks": weeks, "top_n": top_n, "nav": "leaders"},
    )


@login_required
@require_GET
def effect(request: HttpRequest, manager_id: int) -> HttpResponse:
    weeks = int_param(request, "weeks", EFFECT_WEEKS, 2, MAX_WEEKS)
    follow = int_param(request, "follow", FOLLOW_DAYS, 1, 60)
    try:
        view = coaching_effect_for(
            user=request.user, manager_id=manager_id, weeks=weeks, follow_days=follow
        )
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    return render(
        request, "coaching/leaders/effect.html", {"view": view, "follow": follow, "nav": "leaders"}
    )


@login_required
@require_GET
def digest(request: HttpRequest) -> HttpResponse:
    """The digest of the asker (a manager) or of a manager they may see (``?manager=id``)."""
    try:
        managers = {m.id: m for m in visible_managers(request.user)}
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    wanted = request.GET.get("manager")
    try:
        manager_id = int(wanted) if wanted else request.user.id
    except ValueError as exc:
        raise Http404("manager not found") from exc
    manager = managers.get(manager_id)
    if manager is None:
        if wanted:
            raise Http404("manager not found")
        manager = next(iter(managers.values()))
    try:
        week = date.fromisoformat(request.GET.get("week", ""))
    except ValueError:
        week = timezone.localdate()
    result = digest_for(viewer=request.user, manager=manager, week=week)
    return render(
        request,
        "coaching/digest.html",
        {"digest": result, "managers": list(managers.values()), "nav": "leaders"},
    )
