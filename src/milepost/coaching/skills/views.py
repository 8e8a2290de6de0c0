"""Skills pages: a rep's competencies (latest scores, trends, rate / self-assess) and the team
heat map. The competency model page of this section is in
:mod:`milepost.coaching.competencies.views`.

Views parse input, call one service or selector from :mod:`milepost.coaching.skills` and render.
A rep hidden by the privacy rule is a 404; someone who may see but not rate gets 403 on the
rate form. The rate form answers an HTMX request with the competencies partial (200, or 422
with the message next to the form) and a plain form with a message and a redirect, so the page
works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from milepost.coaching.sessions.selectors import open_action_items_for_rep
from milepost.coaching.skills import selectors
from milepost.coaching.skills.forms import SCORE_CHOICES, RatingForm
from milepost.coaching.skills.services import rating_add
from milepost.core.errors import InvalidChange, NotFound
from milepost.core.forms import first_error
from milepost.core.htmx import is_partial
from milepost.team.selectors import subordinate_ids


def coaching_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in; NotFound from a service is a 404 (a hidden rep looks like a missing one)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404("not found") from None

    return wrapper


# --- Sparklines -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sparkline:
    """An inline SVG polyline of 1-5 scores; ``text`` is its accessible description."""

    points: str
    dots: list[tuple[float, float, int]]
    width: int
    height: int
    text: str


def sparkline(scores: Sequence[int], *, width: int = 120, height: int = 28) -> Sparkline | None:
    if not scores:
        return None
    pad = 3.0
    step = (width - 2 * pad) / max(len(scores) - 1, 1)

    def y(score: int) -> float:
        return round(height - pad - (score - 1) * (height - 2 * pad) / 4, 1)

    dots = [(round(pad + i * step, 1), y(s), s) for i, s in enumerate(scores)]
    return Sparkline(
        points=" ".join(f"{x},{yy}" for x, yy, _ in dots),
        dots=dots,
        width=width,
        height=height,
        text=", ".join(str(s) for s in scores),
    )


# --- Rep page ---------------------------------------------------------------------------------


def _rep_context(request: HttpRequest, rep_id: int, **extra: Any) -> dict[str, Any]:
    data = selectors.rep_skills(user=request.user, rep_id=rep_id)
    rows = [
        {
            "skill": c,
            "manager_line": sparkline([r.score for r in c.manager]),
            "self_line": sparkline([r.score for r in c.self_assessed]),
        }
        for c in data.competencies
    ]
    return {
        "nav": "coaching",
        "data": data,
        "rows": rows,
        "score_choices": SCORE_CHOICES,
        "error": "",
        "selected": request.GET.get("competency", ""),
        "values": {},
        **extra,
    }


@coaching_view
def skills_home(request: HttpRequest) -> HttpResponse:
    """Managers land on their team's heat map, everyone else on their own skills."""
    if subordinate_ids(request.user.id):
        return HttpResponseRedirect(reverse("skills:team"))
    return HttpResponseRedirect(reverse("skills:rep", args=[request.user.id]))


@coaching_view
@require_GET
def rep_page(request: HttpRequest, rep_id: int) -> HttpResponse:
    """The rep's coaching page: skills and trend, and the open action items of their 1:1s."""
    context = _rep_context(request, rep_id)
    if is_partial(request):
        return render(request, "coaching/skills/_competencies.html", context)
    context.update(
        items=list(open_action_items_for_rep(user=request.user, rep_id=rep_id)),
        today=timezone.localdate(),
        next_url=request.get_full_path(),
    )
    return render(request, "coaching/skills/rep.html", context)


@coaching_view
@require_POST
def rate(request: HttpRequest, rep_id: int) -> HttpResponse:
    """Add a manager rating or a self-assessment; refused writes store nothing."""
    rep = selectors.visible_rep(request.user, rep_id)
    if request.user.id != rep.pk and not selectors.can_rate(request.user, rep.pk):
        raise PermissionDenied("only a manager above the rep rates them")
    form = RatingForm(request.POST)
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            rating = rating_add(
                user=request.user,
                rep_id=rep.pk,
                competency=data["competency"],
                score=data["score"],
                observation=data["observation"],
                session_id=data["session"],
            )
        except InvalidChange as exc:
            error = str(exc)
        else:
            flash = gettext("Saved: %(score)s on %(competency)s.") % {
                "score": rating.score,
                "competency": rating.competency.replace("_", " "),
            }
            if is_partial(request):
                context = _rep_context(request, rep.pk, flash=flash)
                return render(request, "coaching/skills/_competencies.html", context)
            messages.success(request, flash)
            url = reverse("skills:rep", args=[rep.pk]) + f"#c-{rating.competency}"
            return HttpResponseRedirect(url)
    else:
        error = first_error(form)[1]
    context = _rep_context(
        request,
        rep.pk,
        error=error,
        selected=request.POST.get("competency", ""),
        values=request.POST,
    )
    template = (
        "coaching/skills/_competencies.html" if is_partial(request) else "coaching/skills/rep.html"
    )
    return render(request, template, context, status=422)


# --- Team heat map ----------------------------------------------------------------------------

HEAT_CLASSES = {1: "heat-1", 2: "heat-2", 3: "heat-3", 4: "heat-4", 5: "heat-5"}


@coaching_view
@require_GET
def team(request: HttpRequest) -> HttpResponse:
    manager_id = request.GET.get("manager")
    try:
        manager = int(manager_id) if manager_id else None
    except ValueError:
        raise Http404("not found") from None
    heat = selectors.team_heat_map(user=request.user, manager_id=manager)
    rows = [
        {
            "row": row,
            "cells": [
                (c, cell, HEAT_CLASSES.get(cell.score or 0, "heat-none"))
                for c, cell in zip(heat.competencies, row.cells, strict=True)
            ],
        }
        for row in heat.rows
    ]
    return render(
        request,
        "coaching/skills/team.html",
        {
            "nav": "coaching",
            "heat": heat,
            "rows": rows,
            "averages": list(zip(heat.competencies, heat.averages, strict=True)),
        },
    )
