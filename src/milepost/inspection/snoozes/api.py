"""Snooze endpoints: list the snoozes of the deals you may see, snooze a deal or a signal,
read one with its history, end one early. A hidden deal or snooze is a 404 like a missing one;
a rep (who may see but not snooze) gets a 403."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status
from ninja.errors import HttpError

from milepost.core.schemas import WRITE_ERRORS, ErrorOut
from milepost.inspection.models import Snooze
from milepost.inspection.snoozes import schemas as s
from milepost.inspection.snoozes.selectors import (
    active_q,
    snooze_get,
    snooze_history,
    snooze_list,
)
from milepost.inspection.snoozes.services import snooze_create, snooze_end

router = Router(tags=["inspection"])
PATH = "/inspection/snoozes"
ERRORS = {403: ErrorOut, **WRITE_ERRORS}


def _out(snooze: Snooze, active: bool) -> dict[str, Any]:
    return {
        "id": snooze.pk,
        "opportunity_id": snooze.opportunity_id,
        "signal": snooze.signal,
        "reason": snooze.reason,
        "until": snooze.until,
        "created_by_id": snooze.created_by_id,
        "created_at": snooze.created_at,
        "ended_by_id": snooze.ended_by_id,
        "ended_at": snooze.ended_at,
        "active": active,
        "version": snooze.version,
    }


def _detail(request: HttpRequest, snooze_id: int) -> dict[str, Any]:
    now = timezone.now()
    snooze = snooze_get(user=request.auth, snooze_id=snooze_id)
    active = Snooze.objects.filter(active_q(now), pk=snooze.pk).exists()
    history = [
        {"action": e.action, "actor_id": e.actor_id, "at": e.at}
        for e in snooze_history(user=request.auth, snooze_id=snooze_id)
    ]
    return {**_out(snooze, active), "history": history}


@router.get(PATH, response=s.SnoozeListOut)
def list_snoozes(request: HttpRequest, query: Query[s.SnoozeQuery]):
    """Snoozes of the deals you may see, soonest to end first (by default those applying now)."""
    now = timezone.now()
    active = {"active": True, "inactive": False, "all": None}[query.state]
    ids = None if query.opportunity is None else [query.opportunity]
    rows = snooze_list(user=request.auth, as_of=now, opportunity_ids=ids, active=active)
    current = set(
        snooze_list(user=request.auth, as_of=now, opportunity_ids=ids).values_list("id", flat=True)
    )
    return {"items": [_out(z, z.pk in current) for z in rows]}


@router.post(PATH, response={201: s.SnoozeDetailOut, **ERRORS})
def create_snooze(request: HttpRequest, payload: s.SnoozeIn):
    """Snooze a deal (``signal`` empty) or one of its signals until a day (managers and above)."""
    try:
        snooze = snooze_create(
            user=request.auth,
            opportunity_id=payload.opportunity_id,
            signal=payload.signal,
            reason=payload.reason,
            until=payload.until,
        )
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    return Status(201, _detail(request, snooze.pk))


@router.get(f"{PATH}/{{snooze_id}}", response={200: s.SnoozeDetailOut, 404: ErrorOut})
def get_snooze(request: HttpRequest, snooze_id: int):
    """One snooze with its history: who snoozed, when, why, and who ended it."""
    return _detail(request, snooze_id)


@router.post(f"{PATH}/{{snooze_id}}/end", response={200: s.SnoozeDetailOut, **ERRORS})
def end_snooze(request: HttpRequest, snooze_id: int, payload: s.SnoozeEndIn):
    """End a snooze now: the deal or signal counts again at once."""
    try:
        snooze_end(user=request.auth, snooze_id=snooze_id, version=payload.version)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    return _detail(request, snooze_id)
