"""1:1 pages: My 1:1s, the session page (draft agenda editor, then notes and action items),
the action items list, the invitation (.ics), the deal page's coaching partial and the inspection
page's overdue-items-per-rep column.

Views parse input, call one service or selector and render. Hidden sessions, reps and items are
404 (the privacy rule in :mod:`milepost.coaching.sessions.selectors`). Every write on the
session page answers an HTMX request with the session body re-rendered (200; 422 with the
message next to the form; 409 when someone else changed the session) and a plain form with a
message and a redirect, so the pages work without JavaScript. Reordering is Up / Down buttons
(keyboard).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from milepost.coaching.agenda.services import session_create_from_draft, session_schedule_next
from milepost.coaching.competencies.selectors import competency_labels, effective_competencies
from milepost.coaching.models import ActionItem, ActionStatus, CoachingSession, SessionStatus
from milepost.coaching.sessions import forms as f
from milepost.coaching.sessions import services as svc
from milepost.coaching.sessions.ics import ics_filename, session_ics, session_invite_send
from milepost.coaching.sessions.selectors import (
    action_item_get,
    action_item_scope,
    last_and_next_sessions,
    manages_rep,
    open_action_items_for_deal,
    overdue_counts_by_rep,
    session_get,
    sessions_for_rep,
)
from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.core.forms import first_error
from milepost.core.htmx import is_partial
from milepost.pipeline.presentation import today
from milepost.pipeline.selectors import opportunity_get, opportunity_scope
from milepost.process.models import StageKind
from milepost.team.models import User

CONFLICT = gettext_lazy(
    "This 1:1 was changed by someone else since you loaded the page, so nothing was saved. "
    "The current version is shown; make your change again."
)


def _labelled(items: Any) -> list[ActionItem]:
    """Action items with ``competency_label`` set, for display."""
    labels = competency_labels()
    out = list(items)
    for a in out:
        a.competency_label = labels.get(a.competency, a.competency)
    return out


def _version(request: HttpRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


# --------------------------------------------------------------------------------------------
# My 1:1s


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Manager: the reps reporting to them with last / next 1:1 and cadence, and a button to
    draft the next one. Everyone: their own 1:1s and open action items."""
    user: User = request.user  # type: ignore[assignment]
    today = timezone.localdate()
    reps = list(User.objects.filter(manager=user, is_active=True).order_by("last_name"))
    slots = last_and_next_sessions(user=user, rep_ids=[r.id for r in reps])
    open_items = action_item_scope(user).filter(status=ActionStatus.OPEN)
    counts: dict[int, list[int]] = {}
    for rep_id, due in open_items.filter(session__rep__in=reps).values_list(
        "session__rep_id", "due_date"
    ):
        c = counts.setdefault(rep_id, [0, 0])
        c[0] += 1
        c[1] += due < today
    cadences = {c.rep_id: c for c in user.cadences_run.filter(rep__in=reps)}
    rows = [
        {
            "rep": rep,
            "last": slots[rep.id]["last"],
            "next": slots[rep.id]["next"],
            "cadence": cadences.get(rep.id),
            "open": counts.get(rep.id, [0, 0])[0],
            "overdue": counts.get(rep.id, [0, 0])[1],
        }
        for rep in reps
    ]
    mine = open_items.filter(Q(owner=user) | Q(session__rep=user))
    return render(
        request,
        "coaching/sessions_home.html",
        {
            "nav": "coaching",
            "rows": rows,
            "new_form": f.NewSessionForm(),
            "my_sessions": list(sessions_for_rep(user=user, rep_id=user.id)[:20]),
            "my_items": _labelled(mine.distinct().select_related("session", "opportunity")),
            "run_sessions": list(
                CoachingSession.objects.filter(
                    manager=user, status__in=(SessionStatus.DRAFT, SessionStatus.IN_PROGRESS)
                ).select_related("rep")
            ),
            "today": today,
            "weekdays": list(enumerate(svc.WEEKDAYS[:5])),
        },
    )


@login_required
@require_POST
def session_new(request: HttpRequest, rep_id: int) -> HttpResponse:
    """Draft the next 1:1 with a rep from the pipeline (the agenda is generated now)."""
    user: User = request.user  # type: ignore[assignment]
    if not manages_rep(user, rep_id):
        raise Http404
    form = f.NewSessionForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form)[1])
        return HttpResponseRedirect(reverse("coaching:home"))
    scheduled: datetime = form.cleaned_data["scheduled_for"]
    try:
        session = session_create_from_draft(
            user, rep_id, scheduled, duration_minutes=form.cleaned_data["duration_minutes"]
        )
    except NotFound:
        raise Http404 from None
    except InvalidChange as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("coaching:home"))
    return HttpResponseRedirect(reverse("coaching:session", args=[session.pk]))


@login_required
@require_POST
def session_next(request: HttpRequest, rep_id: int) -> HttpResponse:
    """Draft the next 1:1 at the cadence's next free meeting."""
    try:
        session = session_schedule_next(manager=request.user, rep_id=rep_id)  # type: ignore[arg-type]
    except NotFound:
        raise Http404 from None
    except InvalidChange as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("coaching:home"))
    return HttpResponseRedirect(reverse("coaching:session", args=[session.pk]))


@login_required
@require_POST
def cadence(request: HttpRequest, rep_id: int) -> HttpResponse:
    """Set or (with ``clear``) stop the cadence with a rep."""
    user: User = request.user  # type: ignore[assignment]
    if not manages_rep(user, rep_id):
        raise Http404
    if request.POST.get("clear"):
        svc.cadence_clear(user=user, rep_id=rep_id)
        messages.success(request, gettext("Cadence stopped."))
        return HttpResponseRedirect(reverse("coaching:home"))
    form = f.CadenceForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form)[1])
        return HttpResponseRedirect(reverse("coaching:home"))
    d = form.cleaned_data
    try:
        svc.cadence_set(
            user=user,
            rep_id=rep_id,
            every_weeks=d["every_weeks"],
            weekday=d["weekday"],
            time_of_day=d["time_of_day"],
            starts_on=d["starts_on"],
            duration_minutes=d["duration_minutes"],
            tz=d["timezone"],
            expected_version=d["version"],
        )
    except VersionConflict:
        messages.error(
            request, gettext("Someone changed this cadence since you loaded it; check it again.")
        )
    except InvalidChange as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, gettext("Cadence saved."))
    return HttpResponseRedirect(reverse("coaching:home"))


# --------------------------------------------------------------------------------------------
# The session page


def _session_context(
    request: HttpRequest, session: CoachingSession, **extra: Any
) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    can_manage = svc.manages_session(user, session)
    deals = (
        opportunity_scope(user=user)
        .filter(owner_id=session.rep_id, stage__kind=StageKind.OPEN)
        .order_by("name")
        .values_list("id", "name")
    )
    competencies = [(c.key, c.label) for c in effective_competencies()]
    owners = [(session.rep_id, str(session.rep)), (session.manager_id, str(session.manager))]
    if user.id not in (session.rep_id, session.manager_id):
        owners.append((user.id, str(user)))
    items = list(session.items.select_related("opportunity", "action_item").order_by("position"))
    for n, item in enumerate(items):
        item.up_id, item.down_id = f"up-{item.pk}", f"down-{item.pk}"  # type: ignore[attr-defined]
        # After a move the keyboard stays on the moved item's button, or its other one when
        # the item reached the top or the bottom (a disabled button cannot hold focus).
        if extra.get("focus") == item.up_id and n == 0:  # type: ignore[attr-defined]
            extra["focus"] = item.down_id  # type: ignore[attr-defined]
        elif extra.get("focus") == item.down_id and n == len(items) - 1:  # type: ignore[attr-defined]
            extra["focus"] = item.up_id  # type: ignore[attr-defined]
    actions = _labelled(
        session.action_items.select_related("owner", "opportunity").order_by("due_date", "id")
    )
    return {
        "nav": "coaching",
        "session": session,
        "items": items,
        "actions": actions,
        "can_manage": can_manage,
        "is_rep": user.id == session.rep_id,
        "editable": session.status in svc.OPEN_STATUSES,
        "action_form": f.ActionAddForm(
            owners=owners,
            deals=list(deals) if can_manage else [],
            competencies=competencies,
            initial={"owner": session.rep_id},
        ),
        "item_form": f.ItemAddForm(),
        "today": timezone.localdate(),
        **extra,
    }


@login_required
@require_GET
def session_page(request: HttpRequest, session_id: int) -> HttpResponse:
    try:
        session = session_get(request.user, session_id)  # type: ignore[arg-type]
    except NotFound:
        raise Http404 from None
    return render(request, "coaching/session.html", _session_context(request, session))


def focus_of(request: HttpRequest) -> str:
    """The id of the button to focus after a move: the same direction on the moved item."""
    item, direction = request.resolver_match.kwargs.get("item_id"), request.POST.get("direction")
    return f"{direction}-{item}" if item and direction in ("up", "down") else ""


def _write(
    request: HttpRequest, session_id: int, act: Callable[[User], Any], done: str = ""
) -> HttpResponse:
    """Run one service for the session page and answer with the body (HTMX) or a redirect."""
    user: User = request.user  # type: ignore[assignment]
    status, error, field, focus = 200, "", "", focus_of(request)
    try:
        act(user)
    except NotFound:
        raise Http404 from None
    except VersionConflict:
        status, error = 409, CONFLICT
    except InvalidChange as exc:
        status, error, field = 422, str(exc), exc.field
    try:
        session = session_get(user, session_id)
    except NotFound:
        raise Http404 from None
    if is_partial(request):
        ctx = _session_context(request, session, error=error, error_field=field, focus=focus)
        return render(request, "coaching/_session_body.html", ctx, status=status)
    if error:
        messages.error(request, error)
    elif done:
        messages.success(request, done)
    return HttpResponseRedirect(reverse("coaching:session", args=[session_id]))


@login_required
@require_POST
def item_add(request: HttpRequest, session_id: int) -> HttpResponse:
    form = f.ItemAddForm(request.POST)

    def act(user: User) -> None:
        if not form.is_valid():
            raise InvalidChange(first_error(form)[1], field="title")
        svc.agenda_item_add(
            user=user,
            session_id=session_id,
            expected_version=_version(request),
            title=form.cleaned_data["title"],
        )

    return _write(request, session_id, act, "Item added.")


@login_required
@require_POST
def item_move(request: HttpRequest, session_id: int, item_id: int) -> HttpResponse:
    return _write(
        request,
        session_id,
        lambda user: svc.agenda_item_move(
            user=user,
            session_id=session_id,
            item_id=item_id,
            direction=request.POST.get("direction", ""),
            expected_version=_version(request),
        ),
    )


@login_required
@require_POST
def item_remove(request: HttpRequest, session_id: int, item_id: int) -> HttpResponse:
    return _write(
        request,
        session_id,
        lambda user: svc.agenda_item_remove(
            user=user, session_id=session_id, item_id=item_id, expected_version=_version(request)
        ),
        "Item removed.",
    )


@login_required
@require_POST
def item_update(request: HttpRequest, session_id: int, item_id: int) -> HttpResponse:
    """Title (draft), or notes / discussed / decision (in the session); only the fields sent."""
    post = request.POST

    def act(user: User) -> None:
        svc.agenda_item_update(
            user=user,
            session_id=session_id,
            item_id=item_id,
            expected_version=_version(request),
            title=post.get("title") if "title" in post else None,
            notes=post.get("notes") if "notes" in post else None,
            decision=post.get("decision") if "decision" in post else None,
            discussed=(post.get("discussed") == "on") if "discussed_sent" in post else None,
        )

    return _write(request, session_id, act, "Saved.")


@login_required
@require_POST
def session_update(request: HttpRequest, session_id: int) -> HttpResponse:
    post = request.POST
    return _write(
        request,
        session_id,
        lambda user: svc.session_update(
            user=user,
            session_id=session_id,
            expected_version=_version(request),
            notes=post.get("notes") if "notes" in post else None,
            decisions=post.get("decisions") if "decisions" in post else None,
        ),
        "Saved.",
    )


_TRANSITIONS = {
    "start": (svc.session_start, "The 1:1 has started."),
    "complete": (svc.session_complete, "The 1:1 is complete."),
    "cancel": (svc.session_cancel, "The 1:1 is cancelled."),
}


@login_required
@require_POST
def session_transition(request: HttpRequest, session_id: int, action: str) -> HttpResponse:
    if action not in _TRANSITIONS:
        raise Http404
    service, done = _TRANSITIONS[action]
    return _write(
        request,
        session_id,
        lambda user: service(user=user, session_id=session_id, expected_version=_version(request)),
        done,
    )


@login_required
@require_POST
def action_add(request: HttpRequest, session_id: int) -> HttpResponse:
    def act(user: User) -> None:
        session = session_get(user, session_id)
        form = f.ActionAddForm(
            request.POST,
            owners=[(u, u) for u in (session.rep_id, session.manager_id, user.id)],
            deals=[(o, o) for o in [request.POST.get("opportunity")] if o],
            competencies=[(c.key, c.key) for c in effective_competencies()],
        )
        if not form.is_valid():
            field, message = first_error(form)
            raise InvalidChange(message, field=field)
        d = form.cleaned_data
        svc.action_item_add(
            user=user,
            session_id=session_id,
            title=d["title"],
            due_date=d["due_date"],
            owner_id=d["owner"],
            opportunity_id=d["opportunity"],
            competency=d["competency"] or "",
        )

    return _write(request, session_id, act, "Action item added.")


# --------------------------------------------------------------------------------------------
# Action items


@login_required
@require_POST
def action_status(request: HttpRequest, action_id: int) -> HttpResponse:
    """Done / dropped / reopened, from the session page, the list or the deal page."""
    user: User = request.user  # type: ignore[assignment]
    try:
        item = action_item_get(user, action_id)
    except NotFound:
        raise Http404 from None
    form = f.ActionStatusForm(request.POST)

    def act(u: User) -> None:
        if not form.is_valid():
            raise InvalidChange("open, done or dropped", field="status")
        svc.action_item_set_status(
            user=u,
            action_id=action_id,
            status=form.cleaned_data["status"],
            expected_version=form.cleaned_data["version"],
        )

    if request.POST.get("from") == "session":
        return _write(request, item.session_id, act, "Action item updated.")
    back = request.POST.get("next", "")
    if not back.startswith("/") or back.startswith("//"):
        back = reverse("coaching:actions")
    try:
        act(user)
    except VersionConflict:
        messages.error(request, CONFLICT)
    except InvalidChange as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, gettext("Action item updated."))
    return HttpResponseRedirect(back)


@login_required
@require_GET
def action_list(request: HttpRequest) -> HttpResponse:
    """Action items the user may see: open by default, overdue first."""
    user: User = request.user  # type: ignore[assignment]
    status = request.GET.get("status", ActionStatus.OPEN)
    qs = action_item_scope(user).select_related(
        "owner", "opportunity", "session", "session__rep", "session__manager"
    )
    if status in ActionStatus.values:
        qs = qs.filter(status=status)
    mine = request.GET.get("mine") == "1"
    if mine:
        qs = qs.filter(owner=user)
    return render(
        request,
        "coaching/actions.html",
        {
            "nav": "coaching",
            "items": _labelled(qs.order_by("due_date", "id")[:500]),
            "status": status,
            "statuses": ActionStatus.choices,
            "mine": mine,
            "today": timezone.localdate(),
        },
    )


@login_required
@require_GET
def deal_actions(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """The deal page's partial: open coaching action items on the deal the user may see."""
    user: User = request.user  # type: ignore[assignment]
    try:
        opportunity_get(user=user, opportunity_id=opportunity_id)
    except NotFound:
        raise Http404 from None
    items: list[ActionItem] = list(
        open_action_items_for_deal(user=user, opportunity_id=opportunity_id)
    )
    template = (
        "coaching/_deal_actions.html" if is_partial(request) else "coaching/actions_deal.html"
    )
    return render(
        request,
        template,
        {"items": items, "today": timezone.localdate(), "opportunity_id": opportunity_id},
    )


@login_required
@require_GET
def rep_overdue(request: HttpRequest) -> HttpResponse:
    """The inspection page's "Overdue 1:1 items" column, loaded after the page (one request for
    every rep on it): overdue open action items per rep named in ``rep``, under the coaching
    privacy rule, as out-of-band swaps of the page's empty per-rep cells. Coaching sits above
    inspection, so the inspection page only leaves the slots; nothing is sent when the viewer
    sees no overdue item (the column stays hidden). A plain request goes to the items list."""
    if not is_partial(request):
        return HttpResponseRedirect(reverse("coaching:actions"))
    user: User = request.user  # type: ignore[assignment]
    rep_ids = sorted({int(r) for r in request.GET.getlist("rep") if r.isdecimal() and len(r) < 19})
    counts = overdue_counts_by_rep(user=user, today=today())
    rows = [(rep_id, counts.get(rep_id, 0)) for rep_id in rep_ids] if counts else []
    return render(request, "coaching/_rep_overdue.html", {"rows": rows})


# --------------------------------------------------------------------------------------------
# Invitations


@login_required
@require_GET
def session_invite_ics(request: HttpRequest, session_id: int) -> HttpResponse:
    try:
        session, body = session_ics(
            user=request.user,  # type: ignore[arg-type]
            session_id=session_id,
            with_rrule=request.GET.get("series") == "1",
        )
    except NotFound:
        raise Http404 from None
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8; method=REQUEST")
    response["Content-Disposition"] = f'attachment; filename="{ics_filename(session)}"'
    return response


@login_required
@require_POST
def session_invite_mail(request: HttpRequest, session_id: int) -> HttpResponse:
    try:
        sent = session_invite_send(
            user=request.user,  # type: ignore[arg-type]
            session_id=session_id,
            with_rrule=request.POST.get("series") == "1",
        )
    except NotFound:
        raise Http404 from None
    except InvalidChange as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, gettext("Invitation sent.") if sent else gettext("Nothing was sent.")
        )
    return HttpResponseRedirect(reverse("coaching:session", args=[session_id]))
