"""The weekly coaching digest of a manager: what slipped, who is due a 1:1, what is overdue.

:func:`digest_for` reads (page and email share it); :func:`digest_send` mails it once per
(manager, week) through Django's mail framework (plain text with an HTML alternative), the
:class:`DigestDelivery` row being the "already sent" mark, written in the same transaction as
the send so a failed send can be retried.

A week runs Monday 00:00 to the next Monday, in the site's time zone. What counts:

* **Slipped deals** (the team's open deals): close date pushed out during the week, a move back
  to an earlier stage during the week (process changes excluded, as in inspection), or not
  under control today after a stage move or a rejected / withdrawn piece of evidence during the
  week (the ways a deal loses control).
* **Reps due a 1:1**: direct reports whose last completed session with anybody is older than
  their cadence (``every_weeks``), or than two weeks when no cadence is set.
* **Overdue action items**: open items of the manager's sessions due before the week's end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.template.loader import render_to_string
from django.utils import timezone

from milepost.coaching.models import (
    ActionItem,
    ActionStatus,
    CoachingCadence,
    DigestDelivery,
    SessionStatus,
)
from milepost.coaching.sessions.selectors import action_item_scope, session_scope
from milepost.core import formatting
from milepost.engine.coaching_effect import week_start
from milepost.evidence.models import EvidenceAction, EvidenceEvent
from milepost.inspection.pipeline import inspect_pipeline
from milepost.pipeline.choices import TransitionSource
from milepost.pipeline.models import Opportunity, OpportunityChange, StageTransition
from milepost.process.models import StageKind
from milepost.team.models import Role, User

NO_CADENCE_WEEKS = 2


@dataclass
class SlippedDeal:
    opportunity: Opportunity
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DueRep:
    rep: User
    last_session: datetime | None
    every_weeks: int
    has_cadence: bool


@dataclass
class Digest:
    manager: User
    week_start: date
    slipped: list[SlippedDeal]
    due: list[DueRep]
    overdue: list[ActionItem]

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)

    @property
    def is_empty(self) -> bool:
        return not (self.slipped or self.due or self.overdue)


def _at(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def digest_for(*, viewer: User, manager: User, week: date) -> Digest:
    """The digest of ``manager``'s team for the week containing ``week``, read as ``viewer``
    (coaching records through the privacy rule; the caller checks ``viewer`` may see it)."""
    start = week_start(week)
    since, until = _at(start), _at(start + timedelta(days=7))
    reps = list(
        User.objects.filter(manager=manager, role=Role.REP, is_active=True).order_by(
            "last_name", "first_name", "username"
        )
    )
    rep_ids = [r.id for r in reps]
    deals = Opportunity.objects.filter(
        owner_id__in=rep_ids, stage__kind=StageKind.OPEN, archived_at__isnull=True
    )
    reasons: dict[int, list[str]] = {}
    for opp_id, days in OpportunityChange.objects.filter(
        opportunity__in=deals,
        changed_at__gte=since,
        changed_at__lt=until,
        close_date_shift_days__gt=0,
    ).values_list("opportunity_id", "close_date_shift_days"):
        reasons.setdefault(opp_id, []).append(f"close date pushed {days} days")
    for opp_id, from_label, to_label in (
        StageTransition.objects.filter(
            opportunity__in=deals,
            moved_at__gte=since,
            moved_at__lt=until,
            from_stage__kind=StageKind.OPEN,
            to_stage__kind=StageKind.OPEN,
            to_stage__position__lt=F("from_stage__position"),
        )
        .exclude(source=TransitionSource.PROCESS_CHANGE)
        .values_list("opportunity_id", "from_stage__label", "to_stage__label")
    ):
        reasons.setdefault(opp_id, []).append(f"moved back from {from_label} to {to_label}")
    touched = set(
        StageTransition.objects.filter(
            opportunity__in=deals, moved_at__gte=since, moved_at__lt=until
        ).values_list("opportunity_id", flat=True)
    ) | set(
        EvidenceEvent.objects.filter(
            opportunity__in=deals,
            at__gte=since,
            at__lt=until,
            action__in=[EvidenceAction.REJECTED, EvidenceAction.WITHDRAWN],
        ).values_list("opportunity_id", flat=True)
    )
    if touched:
        result = inspect_pipeline(user=viewer, opportunity_ids=sorted(touched))
        for opp_id, under_control in result.deals.select(
            "opportunity_id", "under_control"
        ).iter_rows():
            if not under_control:
                reasons.setdefault(opp_id, []).append("not under control after this week's change")
    names = {
        o.id: o
        for o in Opportunity.objects.filter(id__in=list(reasons)).select_related("owner", "stage")
    }
    slipped = [
        SlippedDeal(names[i], reasons[i])
        for i in sorted(reasons, key=lambda i: (-names[i].amount, i))
        if i in names
    ]

    cadences = {
        rep_id: every
        for rep_id, every in CoachingCadence.objects.filter(
            manager=manager, rep_id__in=rep_ids, active=True
        ).values_list("rep_id", "every_weeks")
    }
    last = dict(
        session_scope(viewer)
        .filter(rep_id__in=rep_ids, status=SessionStatus.COMPLETED, scheduled_for__lt=until)
        .order_by()
        .values("rep_id")
        .annotate(last=Max("scheduled_for"))
        .values_list("rep_id", "last")
    )
    due = []
    for rep in reps:
        every = cadences.get(rep.id, NO_CADENCE_WEEKS)
        seen = last.get(rep.id)
        if seen is None or seen < until - timedelta(days=7 * every):
            due.append(DueRep(rep, seen, every, rep.id in cadences))

    overdue = list(
        action_item_scope(viewer)
        .filter(
            session__manager=manager,
            status=ActionStatus.OPEN,
            due_date__lt=start + timedelta(days=7),
        )
        .select_related("owner", "opportunity", "session__rep")
        .order_by("due_date", "id")
    )
    return Digest(manager, start, slipped, due, overdue)


def digest_managers(username: str | None = None) -> list[User]:
    """Managers who get a digest: every active manager with an email, or the one named."""
    qs = User.objects.filter(role=Role.MANAGER, is_active=True).exclude(email="")
    if username:
        qs = qs.filter(username=username)
    return list(qs.order_by("username"))


def digest_send(*, manager: User, week: date, site_url: str = "") -> bool:
    """Mail ``manager``'s digest for the week once; False if already sent (or no email)."""
    if not manager.email:
        return False
    start = week_start(week)
    if DigestDelivery.objects.filter(manager=manager, week_start=start).exists():
        return False
    digest = digest_for(viewer=manager, manager=manager, week=start)
    context = {"digest": digest, "site_url": site_url.rstrip("/")}
    subject = f"Coaching digest, week of {formatting.date_short(start)}"
    text = render_to_string("coaching/digest_email.txt", context)
    html = render_to_string("coaching/digest_email.html", context)
    try:
        with transaction.atomic():
            DigestDelivery.objects.create(
                manager=manager, week_start=start, sent_at=timezone.now(), recipient=manager.email
            )
            message = EmailMultiAlternatives(
                subject, text, settings.DEFAULT_FROM_EMAIL, [manager.email]
            )
            message.attach_alternative(html, "text/html")
            message.send()
    except IntegrityError:  # another run sent it meanwhile
        return False
    return True
