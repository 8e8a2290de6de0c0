"""1:1 coaching endpoints of the REST API: sessions, their agenda, action items, cadences and
the .ics invitation (the agenda draft preview is in :mod:`milepost.coaching.agenda.api`).

Every read goes through the privacy rule of :mod:`milepost.coaching.sessions.selectors`
(hidden -> 404, exactly like missing); the services decide who may write, and the global
handlers in :mod:`milepost.core.api_errors` map NotFound / VersionConflict / InvalidChange.

Operation ids are pinned to the ones these endpoints had before the coaching app was split
into sub-packages (ninja derives them from the module), so generated clients keep working.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router, Status

from milepost.coaching.agenda.services import session_create_from_draft
from milepost.coaching.models import CoachingCadence, CoachingSession
from milepost.coaching.sessions import schemas as s
from milepost.coaching.sessions import services as svc
from milepost.coaching.sessions.ics import ics_filename, session_ics
from milepost.coaching.sessions.selectors import (
    action_item_get,
    action_item_scope,
    cadence_for,
    manages_rep,
    session_get,
    session_scope,
)
from milepost.core.errors import NotFound
from milepost.core.schemas import ERRORS, WRITE_ERRORS, RowId

router = Router(tags=["coaching"])

BASE = "/coaching"


def _session_out(session: CoachingSession) -> dict[str, Any]:
    data = s.SessionOut.from_orm(session).dict()
    data["items"] = list(session.items.order_by("position"))
    data["action_items"] = list(session.action_items.order_by("due_date", "id"))
    return data


@router.get(
    f"{BASE}/sessions",
    response=list[s.SessionOut],
    operation_id="milepost_coaching_api_list_sessions",
)
def list_sessions(
    request: HttpRequest, rep_id: RowId | None = None, status: str | None = None
) -> Any:
    """1:1s the caller may see (their own, their team's, those they ran), newest first."""
    qs = session_scope(request.auth)
    if rep_id is not None:
        qs = qs.filter(rep_id=rep_id)
    if status:
        qs = qs.filter(status=status)
    return list(qs[:500])


@router.post(
    f"{BASE}/sessions",
    response={201: s.SessionDetailOut, **ERRORS},
    operation_id="milepost_coaching_api_create_session",
)
def create_session(request: HttpRequest, payload: s.SessionIn) -> Any:
    """A draft 1:1 with a rep below the caller; its agenda generated from the pipeline unless
    ``generate`` is false."""
    if payload.generate:
        session = session_create_from_draft(
            request.auth,
            payload.rep_id,
            payload.scheduled_for,
            duration_minutes=payload.duration_minutes,
        )
    else:
        session = svc.session_create(
            user=request.auth,
            rep_id=payload.rep_id,
            scheduled_for=payload.scheduled_for,
            duration_minutes=payload.duration_minutes,
        )
    return Status(201, _session_out(session))


@router.get(
    f"{BASE}/sessions/{{session_id}}",
    response={200: s.SessionDetailOut, **ERRORS},
    operation_id="milepost_coaching_api_get_session",
)
def get_session(request: HttpRequest, session_id: int) -> Any:
    return _session_out(session_get(request.auth, session_id))


@router.patch(
    f"{BASE}/sessions/{{session_id}}",
    response={200: s.SessionDetailOut, **WRITE_ERRORS},
    operation_id="milepost_coaching_api_patch_session",
)
def patch_session(request: HttpRequest, session_id: int, payload: s.SessionPatch) -> Any:
    """Notes, decisions, time (the rep's managers; not after completion)."""
    session = svc.session_update(
        user=request.auth,
        session_id=session_id,
        expected_version=payload.version,
        notes=payload.notes,
        decisions=payload.decisions,
        scheduled_for=payload.scheduled_for,
        duration_minutes=payload.duration_minutes,
    )
    return _session_out(session)


def _transition(request: HttpRequest, service: Any, session_id: int, version: int) -> Any:
    return _session_out(service(user=request.auth, session_id=session_id, expected_version=version))


@router.post(
    f"{BASE}/sessions/{{session_id}}/start",
    response={200: s.SessionDetailOut, **WRITE_ERRORS},
    operation_id="milepost_coaching_api_start_session",
)
def start_session(request: HttpRequest, session_id: int, payload: s.VersionIn) -> Any:
    """Draft -> in progress (the rep's managers)."""
    return _transition(request, svc.session_start, session_id, payload.version)


@router.post(
    f"{BASE}/sessions/{{session_id}}/complete",
    response={200: s.SessionDetailOut, **WRITE_ERRORS},
    operation_id="milepost_coaching_api_complete_session",
)
def complete_session(request: HttpRequest, session_id: int, payload: s.VersionIn) -> Any:
    """In progress -> completed; notes and agenda become read-only."""
    return _transition(request, svc.session_complete, session_id, payload.version)


@router.post(
    f"{BASE}/sessions/{{session_id}}/cancel",
    response={200: s.SessionDetailOut, **WRITE_ERRORS},
    operation_id="milepost_coaching_api_cancel_session",
)
def cancel_session(request: HttpRequest, session_id: int, payload: s.VersionIn) -> Any:
    """A draft or running 1:1 that will not happen (kept for the record)."""
    return _transition(request, svc.session_cancel, session_id, payload.version)


@router.post(
    f"{BASE}/sessions/{{session_id}}/items",
    response={201: s.AgendaItemOut, **WRITE_ERRORS},
    operation_id="milepost_coaching_api_add_item",
)
def add_item(request: HttpRequest, session_id: int, payload: s.ItemIn) -> Any:
    """The manager's own item, at the end of the agenda."""
    item = svc.agenda_item_add(
        user=request.auth,
        session_id=session_id,
        expected_version=payload.version,
        title=payload.title,
    )
    return Status(201, item)


@router.patch(
    f"{BASE}/sessions/{{session_id}}/items/{{item_id}}",
    response={200: s.AgendaItemOut, **WRITE_ERRORS},
    operation_id="milepost_coaching_api_patch_item",
)
def patch_item(request: HttpRequest, session_id: int, item_id: int, payload: s.ItemPatch) -> Any:
    """Title (manager), notes (manager or rep), decision and discussed (manager)."""
    return svc.agenda_item_update(
        user=request.auth,
        session_id=session_id,
        item_id=item_id,
        expected_version=payload.version,
        title=payload.title,
        notes=payload.notes,
        decision=payload.decision,
        discussed=payload.discussed,
    )


@router.post(
    f"{BASE}/sessions/{{session_id}}/items/{{item_id}}/move",
    response={200: s.SessionDetailOut, **WRITE_ERRORS},
    operation_id="milepost_coaching_api_move_item",
)
def move_item(request: HttpRequest, session_id: int, item_id: int, payload: s.ItemMoveIn) -> Any:
    session = svc.agenda_item_move(
        user=request.auth,
        session_id=session_id,
        item_id=item_id,
        direction=payload.direction,
        expected_version=payload.version,
    )
    return _session_out(session)


@router.delete(
    f"{BASE}/sessions/{{session_id}}/items/{{item_id}}",
    response={200: s.SessionDetailOut, **WRITE_ERRORS},
    operation_id="milepost_coaching_api_delete_item",
)
def delete_item(request: HttpRequest, session_id: int, item_id: int, version: int) -> Any:
    """Remove an item (``?version=`` the session version read)."""
    session = svc.agenda_item_remove(
        user=request.auth, session_id=session_id, item_id=item_id, expected_version=version
    )
    return _session_out(session)


@router.get(
    f"{BASE}/sessions/{{session_id}}/invite.ics",
    response={200: None, **ERRORS},
    operation_id="milepost_coaching_api_get_ics",
)
def get_ics(request: HttpRequest, session_id: int, series: bool = False) -> HttpResponse:
    """The invitation as iCalendar (METHOD:REQUEST; UID stable, SEQUENCE = version)."""
    session, body = session_ics(user=request.auth, session_id=session_id, with_rrule=series)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8; method=REQUEST")
    response["Content-Disposition"] = f'attachment; filename="{ics_filename(session)}"'
    return response


@router.post(
    f"{BASE}/sessions/{{session_id}}/action-items",
    response={201: s.ActionItemOut, **WRITE_ERRORS},
    operation_id="milepost_coaching_api_add_action",
)
def add_action(request: HttpRequest, session_id: int, payload: s.ActionIn) -> Any:
    item = svc.action_item_add(
        user=request.auth,
        session_id=session_id,
        title=payload.title,
        due_date=payload.due_date,
        owner_id=payload.owner_id,
        opportunity_id=payload.opportunity_id,
        competency=payload.competency,
    )
    return Status(201, item)


@router.get(
    f"{BASE}/action-items",
    response=list[s.ActionItemOut],
    operation_id="milepost_coaching_api_list_actions",
)
def list_actions(
    request: HttpRequest,
    status: str | None = None,
    rep_id: RowId | None = None,
    opportunity_id: RowId | None = None,
    owner_id: RowId | None = None,
) -> Any:
    """Action items the caller may see (of sessions they may see)."""
    qs = action_item_scope(request.auth)
    if status:
        qs = qs.filter(status=status)
    if rep_id is not None:
        qs = qs.filter(session__rep_id=rep_id)
    if opportunity_id is not None:
        qs = qs.filter(opportunity_id=opportunity_id)
    if owner_id is not None:
        qs = qs.filter(owner_id=owner_id)
    return list(qs.order_by("due_date", "id")[:1000])


@router.get(
    f"{BASE}/action-items/{{action_id}}",
    response={200: s.ActionItemOut, **ERRORS},
    operation_id="milepost_coaching_api_get_action",
)
def get_action(request: HttpRequest, action_id: int) -> Any:
    return action_item_get(request.auth, action_id)


@router.patch(
    f"{BASE}/action-items/{{action_id}}",
    response={200: s.ActionItemOut, **WRITE_ERRORS},
    operation_id="milepost_coaching_api_patch_action",
)
def patch_action(request: HttpRequest, action_id: int, payload: s.ActionPatch) -> Any:
    """Edit an action item (the rep's managers)."""
    return svc.action_item_update(
        user=request.auth,
        action_id=action_id,
        expected_version=payload.version,
        title=payload.title,
        due_date=payload.due_date,
        owner_id=payload.owner_id,
        competency=payload.competency,
    )


@router.post(
    f"{BASE}/action-items/{{action_id}}/status",
    response={200: s.ActionItemOut, **WRITE_ERRORS},
    operation_id="milepost_coaching_api_set_action_status",
)
def set_action_status(request: HttpRequest, action_id: int, payload: s.ActionStatusIn) -> Any:
    """Done / dropped / open again: the owner or the rep's managers."""
    return svc.action_item_set_status(
        user=request.auth,
        action_id=action_id,
        status=payload.status,
        expected_version=payload.version,
    )


def _cadence_out(cadence: CoachingCadence) -> dict[str, Any]:
    data = s.CadenceOut.from_orm(cadence).dict()
    data["next_meetings"] = [o.start for o in svc.next_sessions(cadence, timezone.now(), 4)]
    return data


@router.get(
    f"{BASE}/reps/{{rep_id}}/cadence",
    response={200: s.CadenceOut, **ERRORS},
    operation_id="milepost_coaching_api_get_cadence",
)
def get_cadence(request: HttpRequest, rep_id: int) -> Any:
    """The caller's cadence with a rep below them, with its next meetings."""
    cadence = (
        cadence_for(user=request.auth, rep_id=rep_id) if manages_rep(request.auth, rep_id) else None
    )
    if cadence is None:
        raise NotFound("no cadence")
    return _cadence_out(cadence)


@router.put(
    f"{BASE}/reps/{{rep_id}}/cadence",
    response={200: s.CadenceOut, **WRITE_ERRORS},
    operation_id="milepost_coaching_api_put_cadence",
)
def put_cadence(request: HttpRequest, rep_id: int, payload: s.CadenceIn) -> Any:
    cadence = svc.cadence_set(
        user=request.auth,
        rep_id=rep_id,
        every_weeks=payload.every_weeks,
        weekday=payload.weekday,
        time_of_day=payload.time_of_day,
        starts_on=payload.starts_on,
        duration_minutes=payload.duration_minutes,
        tz=payload.timezone,
        expected_version=payload.version,
    )
    return _cadence_out(cadence)


@router.delete(
    f"{BASE}/reps/{{rep_id}}/cadence",
    response={204: None, **ERRORS},
    operation_id="milepost_coaching_api_delete_cadence",
)
def delete_cadence(request: HttpRequest, rep_id: int) -> Any:
    if not svc.cadence_clear(user=request.auth, rep_id=rep_id):
        raise NotFound("no cadence")
    return Status(204, None)
