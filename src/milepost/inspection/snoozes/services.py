"""Snooze a known stall and end a snooze early: the only writes of snoozes.

Who may: managers, leaders and admins, on the deals they may see. A rep may not snooze their
own deals (the point is that someone above agreed the stall is known); they ask their manager.
A deal you may not see is a :class:`NotFound` (404) like a missing one; a visible deal you may
not snooze is a ``PermissionDenied`` (403). Every write also appends a :class:`SnoozeEvent`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from milepost.core.errors import InvalidChange, NotFound, check_version
from milepost.engine.signals import SIGNAL_LABELS
from milepost.inspection.models import Snooze, SnoozeAction, SnoozeEvent
from milepost.inspection.snoozes.selectors import active_q, snooze_get
from milepost.pipeline.models import Opportunity
from milepost.pipeline.selectors import opportunity_scope
from milepost.process.models import StageKind
from milepost.team.models import Role, User

MAX_DAYS_AHEAD = 180
REASON_MAX = Snooze._meta.get_field("reason").max_length
SNOOZERS = (Role.MANAGER, Role.LEADER, Role.ADMIN)


def can_snooze(user: User) -> bool:
    """Managers and above (and superusers) may snooze the deals they see."""
    return user.is_authenticated and user.is_active and (user.is_admin or user.role in SNOOZERS)


def _check_reason(reason: str) -> str:
    if "\x00" in reason:
        raise InvalidChange(gettext("the reason contains a NUL byte"), field="reason")
    text = reason.strip()
    if not text:
        raise InvalidChange(gettext("say why the deal may wait"), field="reason")
    if len(text) > REASON_MAX:
        raise InvalidChange(
            gettext("the reason is %(len)s characters long; the most is %(REASON_MAX)s")
            % {"len": len(text), "REASON_MAX": REASON_MAX},
            field="reason",
        )
    return text


def _check_until(until: date, today: date) -> None:
    if until < today:
        raise InvalidChange(
            gettext("the snooze cannot end in the past (today is %(today)s)") % {"today": today},
            field="until",
        )
    latest = today + timedelta(days=MAX_DAYS_AHEAD)
    if until > latest:
        raise InvalidChange(
            gettext(
                "a snooze lasts at most %(MAX_DAYS_AHEAD)s days (until %(latest)s at the latest)"
            )
            % {"MAX_DAYS_AHEAD": MAX_DAYS_AHEAD, "latest": latest},
            field="until",
        )


def _event(snooze: Snooze, action: str, actor: User, at: datetime) -> None:
    SnoozeEvent.objects.create(
        snooze=snooze,
        opportunity_id=snooze.opportunity_id,
        action=action,
        actor=actor,
        at=at,
        signal=snooze.signal,
        reason=snooze.reason,
        until=snooze.until,
    )


@transaction.atomic
def snooze_create(
    *,
    user: User,
    opportunity_id: int,
    reason: str,
    until: date,
    signal: str = "",
    now: datetime | None = None,
) -> Snooze:
    """Snooze the whole deal (``signal`` empty) or one of its signals until ``until`` (the last
    day it applies, at most :data:`MAX_DAYS_AHEAD` days from today, UTC).

    Refused (naming the field): an unknown signal, an empty or too long reason, an ``until``
    in the past or too far, a deal no longer open, and a second active snooze of the same deal
    or signal (end the first one instead of stacking them). Does not touch the deal itself.
    """
    now = now or timezone.now()
    try:
        opportunity = (
            opportunity_scope(user=user)
            .select_for_update(of=("self",))
            .select_related("stage")
            .get(pk=opportunity_id)
        )
    except (Opportunity.DoesNotExist, ValueError, TypeError):
        raise NotFound(
            gettext("opportunity %(opportunity_id)s not found") % {"opportunity_id": opportunity_id}
        ) from None
    if not can_snooze(user):
        raise PermissionDenied(gettext("only managers, leaders and admins snooze deals"))
    signal = signal or ""
    if signal and signal not in SIGNAL_LABELS:
        raise InvalidChange(
            gettext("unknown signal %(signal)r") % {"signal": signal}, field="signal"
        )
    text = _check_reason(reason)
    _check_until(until, now.astimezone(UTC).date())
    if opportunity.stage.kind != StageKind.OPEN:
        raise InvalidChange(gettext("only open deals can be snoozed"), field="opportunity_id")
    clash = (
        Snooze.objects.filter(active_q(now), opportunity_id=opportunity.pk, signal=signal)
        .values_list("until", flat=True)
        .first()
    )
    if clash is not None:
        raise InvalidChange(
            gettext("already snoozed until %(clash)s; end that snooze first") % {"clash": clash},
            field="signal",
        )
    snooze = Snooze.objects.create(
        opportunity=opportunity,
        signal=signal,
        reason=text,
        until=until,
        created_by=user,
        created_at=now,
    )
    _event(snooze, SnoozeAction.CREATED, user, now)
    return snooze


@transaction.atomic
def snooze_end(
    *, user: User, snooze_id: int, version: int | None, now: datetime | None = None
) -> Snooze:
    """End an active snooze now (the deal or signal counts again at once). ``version`` is the
    snooze's version the caller read (optimistic locking); an ended or expired snooze is
    refused, naming ``snooze``."""
    now = now or timezone.now()
    visible = snooze_get(user=user, snooze_id=snooze_id)
    if not can_snooze(user):
        raise PermissionDenied(gettext("only managers, leaders and admins end snoozes"))
    snooze = Snooze.objects.select_for_update().get(pk=visible.pk)
    check_version(snooze.version, version, what="snooze")
    if not Snooze.objects.filter(active_q(now), pk=snooze.pk).exists():
        raise InvalidChange(gettext("the snooze has already ended"), field="snooze")
    snooze.ended_at = now
    snooze.ended_by = user
    snooze.version += 1
    snooze.save(update_fields=["ended_at", "ended_by", "version"])
    _event(snooze, SnoozeAction.ENDED, user, now)
    return snooze
