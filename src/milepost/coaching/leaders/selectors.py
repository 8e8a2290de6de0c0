"""Coaching the coaches: per manager, whether the 1:1 routine happens (reads only).

For the asking user, one row per manager they may see *by the coaching privacy rule*
(:func:`milepost.coaching.sessions.selectors.coaching_visible_rep_ids`: themself and everyone
below): a leader sees the managers under them, a manager sees only their own row, a rep or a
sales-ops admin by role alone sees none (NotFound, 404). Set-based: a fixed number of queries
whatever the number of managers, plus one inspection of the visible open deals.

What a row says, over the last ``weeks`` weeks (ending today):

* **Cadence kept**: completed sessions with the manager's direct reports vs the meetings their
  active cadences planned in the window (a cadence starting mid-window counts from its start).
* **Top-risk deals covered**: of the team's ``top_n`` open deals by amount x risk (today's
  inspection), how many were an agenda item of a completed session in the window.
* **Action items**: items of the manager's sessions due in the window: done on time
  (``completed_at`` on or before the due date), done late, still open past due (overdue).
* **Reps without a 1:1**: direct reports with no completed session in the window.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import polars as pl
from django.db.models import Count, F, Q
from django.utils import timezone

from milepost.coaching.models import (
    ActionStatus,
    AgendaItem,
    CoachingCadence,
    SessionStatus,
)
from milepost.coaching.sessions.selectors import (
    action_item_scope,
    coaching_visible_rep_ids,
    session_scope,
)
from milepost.core.errors import NotFound
from milepost.engine.coaching_effect import (
    COACHED_SCHEMA,
    DISCUSSED_SCHEMA,
    MET_SCHEMA,
    PERIOD_HITS_SCHEMA,
    CompetencyEffect,
    DealEffect,
    competency_effect,
    deal_effect,
    risk_band,
    week_start,
)
from milepost.inspection.pipeline import inspect_pipeline
from milepost.pipeline.models import Opportunity
from milepost.process.models import StageKind
from milepost.team.models import Role, User

DEFAULT_WEEKS = 3
DEFAULT_TOP_N = 10
MAX_WEEKS = 26


@dataclass
class ManagerRow:
    """One manager's coaching routine over the window (counts, never notes)."""

    manager: User
    reps: list[User]
    sessions_done: int = 0
    sessions_expected: int = 0
    top_deals: int = 0
    top_covered: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    reps_without_session: list[User] = field(default_factory=list)

    @property
    def cadence_kept(self) -> float | None:
        if not self.sessions_expected:
            return None
        return min(1.0, self.sessions_done / self.sessions_expected)

    @property
    def covered_share(self) -> float | None:
        return self.top_covered / self.top_deals if self.top_deals else None

    @property
    def on_time_share(self) -> float | None:
        total = self.on_time + self.late + self.overdue
        return self.on_time / total if total else None


@dataclass(frozen=True)
class Window:
    weeks: int
    start: date  # first day in the window
    end: date  # today (inclusive)

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=timezone.get_current_timezone())

    @property
    def end_at(self) -> datetime:
        return datetime.combine(
            self.end + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone()
        )


def window(weeks: int, today: date | None = None) -> Window:
    weeks = max(1, min(int(weeks), MAX_WEEKS))
    end = today or timezone.localdate()
    return Window(weeks, end - timedelta(days=7 * weeks - 1), end)


def visible_managers(user: User) -> list[User]:
    """Managers whose coaching routine ``user`` may see (privacy rule); NotFound if none."""
    ids = coaching_visible_rep_ids(user)
    managers = list(
        User.objects.filter(id__in=ids, role=Role.MANAGER, is_active=True).order_by(
            "last_name", "first_name", "username"
        )
    )
    if not managers:
        raise NotFound("no managers to show")
    return managers


def team_reps(manager_ids: list[int]) -> dict[int, list[User]]:
    """Direct reports (role rep, active) of each manager: the people they run 1:1s with."""
    teams: dict[int, list[User]] = {m: [] for m in manager_ids}
    for rep in User.objects.filter(
        manager_id__in=manager_ids, role=Role.REP, is_active=True
    ).order_by("last_name", "first_name", "username"):
        teams[rep.manager_id].append(rep)
    return teams


def expected_meetings(
    weekday: int, every_weeks: int, starts_on: date, start: date, end: date
) -> int:
    """Meetings a cadence plans in ``[start, end]``: its weekday, every ``every_weeks`` weeks
    counted from the first such weekday on or after ``starts_on``."""
    first = starts_on + timedelta(days=(weekday - starts_on.weekday()) % 7)
    step = 7 * max(1, every_weeks)
    if first > end:
        return 0
    if first >= start:
        begin = first
    else:
        skipped = (start - first).days // step + (1 if (start - first).days % step else 0)
        begin = first + timedelta(days=skipped * step)
    if begin > end:
        return 0
    return (end - begin).days // step + 1


def leader_overview(
    *,
    user: User,
    weeks: int = DEFAULT_WEEKS,
    top_n: int = DEFAULT_TOP_N,
    today: date | None = None,
) -> tuple[list[ManagerRow], Window]:
    """One :class:`ManagerRow` per manager ``user`` may see (NotFound when none)."""
    win = window(weeks, today)
    managers = visible_managers(user)
    manager_ids = [m.id for m in managers]
    teams = team_reps(manager_ids)
    rows = {m.id: ManagerRow(manager=m, reps=teams[m.id]) for m in managers}
    rep_manager = {r.id: m for m, reps in teams.items() for r in reps}

    for c in CoachingCadence.objects.filter(
        manager_id__in=manager_ids, rep_id__in=list(rep_manager), active=True
    ).values("manager_id", "rep_id", "weekday", "every_weeks", "starts_on"):
        if rep_manager.get(c["rep_id"]) == c["manager_id"]:
            rows[c["manager_id"]].sessions_expected += expected_meetings(
                c["weekday"], c["every_weeks"], c["starts_on"], win.start, win.end
            )

    completed = session_scope(user).filter(
        status=SessionStatus.COMPLETED,
        scheduled_for__gte=win.start_at,
        scheduled_for__lt=win.end_at,
        rep_id__in=list(rep_manager),
    )
    met_reps: dict[int, set[int]] = defaultdict(set)
    for manager_id, rep_id, n in (
        completed.order_by()
        .values("manager_id", "rep_id")
        .annotate(n=Count("id"))
        .values_list("manager_id", "rep_id", "n")
    ):
        if rep_manager.get(rep_id) == manager_id:
            rows[manager_id].sessions_done += n
        met_reps[rep_id].add(manager_id)
    for row in rows.values():
        row.reps_without_session = [r for r in row.reps if not met_reps.get(r.id)]

    _top_deals(user, rows, rep_manager, completed, top_n)

    due = action_item_scope(user).filter(
        session__manager_id__in=manager_ids, due_date__gte=win.start, due_date__lte=win.end
    )
    done = Q(status=ActionStatus.DONE)
    for manager_id, on_time, late, overdue in (
        due.order_by()
        .values("session__manager_id")
        .annotate(
            on_time=Count("id", filter=done & Q(completed_at__date__lte=F("due_date"))),
            late=Count("id", filter=done & Q(completed_at__date__gt=F("due_date"))),
            overdue=Count("id", filter=Q(status=ActionStatus.OPEN, due_date__lt=win.end)),
        )
        .values_list("session__manager_id", "on_time", "late", "overdue")
    ):
        row = rows[manager_id]
        row.on_time, row.late, row.overdue = on_time, late, overdue
    return [rows[m] for m in manager_ids], win


def _top_deals(user, rows, rep_manager, completed, top_n: int) -> None:  # type: ignore[no-untyped-def]
    """Each team's top-risk open deals (today's inspection) and how many a 1:1 covered."""
    if not rep_manager:
        return
    deal_ids = list(
        Opportunity.objects.filter(
            owner_id__in=list(rep_manager), stage__kind=StageKind.OPEN, archived_at__isnull=True
        ).values_list("id", flat=True)
    )
    if not deal_ids:
        return
    deals = inspect_pipeline(user=user, opportunity_ids=deal_ids).deals
    owners = pl.DataFrame(
        {"owner_id": list(rep_manager), "manager_id": list(rep_manager.values())},
        schema={"owner_id": pl.Int64, "manager_id": pl.Int64},
    )
    top = (
        deals.join(owners, on="owner_id")
        .sort(["priority", "opportunity_id"], descending=[True, False])
        .group_by("manager_id", maintain_order=True)
        .head(top_n)
    )
    covered = set(
        AgendaItem.objects.filter(
            session__in=completed, opportunity_id__in=top["opportunity_id"].to_list()
        ).values_list("opportunity_id", flat=True)
    )
    for manager_id, opportunity_id in top.select("manager_id", "opportunity_id").iter_rows():
        rows[manager_id].top_deals += 1
        rows[manager_id].top_covered += opportunity_id in covered


# ---------------------------------------------------------------------------------------------
# Effect, observational (the maths is milepost.engine.coaching_effect).

EFFECT_WEEKS = 8
FOLLOW_DAYS = 14
PERIOD_DAYS = 14
STALE_DAYS = 14
_UTC = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class EffectView:
    manager: User
    weeks: int
    deals: DealEffect
    competencies: list[CompetencyEffect]
    rep_names: dict[int, str]
    competency_labels: dict[str, str]
    indicators_used: list[str]


def _manager_for(user: User, manager_id: int) -> User:
    for m in visible_managers(user):
        if m.id == manager_id:
            return m
    raise NotFound("manager not found")


def _frame(rows: list[tuple], schema: dict) -> pl.DataFrame:  # type: ignore[type-arg]
    return pl.DataFrame(rows, schema=schema, orient="row")


def _weekly_states(deal_ids: list[int], weeks: list[date], as_of: datetime) -> pl.DataFrame:
    """Each deal's stage and historical risk band at the start (Monday 00:00 UTC) of each week,
    from the stage history, close-date changes and activities (open deals only). Every frame
    is sorted by ``t`` before an as-of join (so it is sorted within each deal too; Polars
    cannot check that with ``by`` and would warn)."""
    from milepost.pipeline.models import Activity, OpportunityChange, StageTransition

    grid = pl.DataFrame({"opportunity_id": deal_ids}, schema={"opportunity_id": pl.Int64}).join(
        pl.DataFrame({"week_start": weeks}, schema={"week_start": pl.Date}), how="cross"
    )
    grid = grid.with_columns(pl.col("week_start").cast(_UTC).alias("t")).sort("t")
    moves = _frame(
        list(
            StageTransition.objects.filter(opportunity_id__in=deal_ids, moved_at__lte=as_of)
            .order_by()
            .values_list("opportunity_id", "moved_at", "to_stage__key", "to_stage__kind")
        ),
        {"opportunity_id": pl.Int64, "t": _UTC, "stage_key": pl.String, "kind": pl.String},
    ).sort("t")
    states = grid.join_asof(
        moves, on="t", by="opportunity_id", strategy="backward", check_sortedness=False
    ).filter(pl.col("kind") == StageKind.OPEN)
    acts = (
        _frame(
            list(
                Activity.objects.filter(opportunity_id__in=deal_ids, occurred_at__lte=as_of)
                .order_by()
                .values_list("opportunity_id", "occurred_at")
            ),
            {"opportunity_id": pl.Int64, "t": _UTC},
        )
        .with_columns(pl.col("t").alias("last_activity"))
        .sort("t")
    )
    changes = _frame(
        list(
            OpportunityChange.objects.filter(
                opportunity_id__in=deal_ids, close_date_to__isnull=False
            )
            .order_by()
            .values_list(
                "opportunity_id",
                "changed_at",
                "close_date_from",
                "close_date_to",
                "close_date_shift_days",
            )
        ),
        {
            "opportunity_id": pl.Int64,
            "t": _UTC,
            "close_from": pl.Date,
            "close_to": pl.Date,
            "shift": pl.Int64,
        },
    ).sort("t")
    pushes = (
        changes.filter(pl.col("shift") > 0)
        .with_columns(pl.lit(1).alias("pushed"))
        .select("opportunity_id", "t", "pushed")
    )
    current_close = _frame(
        list(Opportunity.objects.filter(id__in=deal_ids).values_list("id", "close_date")),
        {"opportunity_id": pl.Int64, "close_now": pl.Date},
    )
    before = changes.select("opportunity_id", "t", pl.col("close_to").alias("close_before"))
    after = changes.select("opportunity_id", "t", pl.col("close_from").alias("close_after"))
    states = (
        states.sort("t")
        .join_asof(
            acts.select("opportunity_id", "t", "last_activity"),
            on="t",
            by="opportunity_id",
            strategy="backward",
            check_sortedness=False,
        )
        .join_asof(pushes, on="t", by="opportunity_id", strategy="backward", check_sortedness=False)
        .join_asof(before, on="t", by="opportunity_id", strategy="backward", check_sortedness=False)
        .join_asof(after, on="t", by="opportunity_id", strategy="forward", check_sortedness=False)
        .join(current_close, on="opportunity_id", how="left")
        .with_columns(pl.coalesce("close_before", "close_after", "close_now").alias("close_then"))
    )
    stale = pl.col("last_activity").is_null() | (
        pl.col("t") - pl.col("last_activity") > timedelta(days=STALE_DAYS)
    )
    flags = (
        stale.cast(pl.Int64)
        + pl.col("pushed").is_not_null().cast(pl.Int64)
        + (pl.col("close_then") < pl.col("week_start")).fill_null(False).cast(pl.Int64)
    )
    return states.select(
        "opportunity_id",
        "week_start",
        "stage_key",
        # risk_band() as an expression: 0 flags low, 1 medium, 2+ high.
        pl.when(flags >= 2)
        .then(pl.lit(risk_band(2)))
        .when(flags == 1)
        .then(pl.lit(risk_band(1)))
        .otherwise(pl.lit(risk_band(0)))
        .alias("risk_band"),
    )


def _met_events(deal_ids: list[int], since: datetime, until: datetime) -> pl.DataFrame:
    """When each criterion became met: evidence recorded active or verified by a manager, and
    methodology elements reaching the top of their scale (key ``pack.element``)."""
    from milepost.evidence.models import EvidenceAction, EvidenceEvent, EvidenceState
    from milepost.methodology.models import ElementAssessmentEvent
    from milepost.process.selectors import scales

    rows = list(
        EvidenceEvent.objects.filter(
            opportunity_id__in=deal_ids,
            at__gte=since,
            at__lt=until,
            state=EvidenceState.ACTIVE,
            action__in=[EvidenceAction.RECORDED, EvidenceAction.VERIFIED],
        )
        .order_by()
        .values_list("opportunity_id", "criterion_key", "at")
    )
    tops = {key: levels[-1] for key, levels in scales().items() if levels}
    for opp, pack, element, level, previous, at in (
        ElementAssessmentEvent.objects.filter(
            opportunity_id__in=deal_ids, at__gte=since, at__lt=until
        )
        .order_by()
        .values_list("opportunity_id", "pack", "element", "level", "previous_level", "at")
    ):
        top = tops.get((pack, element))
        if top is not None and level == top and previous != top:
            rows.append((opp, f"{pack}.{element}", at))
    return _frame(rows, MET_SCHEMA)


def _period_hits(
    user: User, deal_ids: list[int], ends: list[datetime], period_days: int
) -> tuple[pl.DataFrame, list[str], dict[str, list[str]]]:
    """Indicator hits of the team's open deals at the end of each period. Only indicators
    that can be known for a past date count: inspection signals (as of the period end) and
    methodology element levels (replayed from their history); criterion indicators would use
    today's evidence and are left out."""
    from milepost.coaching.competencies.selectors import competency_model
    from milepost.engine.skill_gaps import indicator_hits
    from milepost.methodology.models import ElementAssessmentEvent
    from milepost.process.selectors import scales

    model = competency_model()
    usable = [i for i in model.indicators if i.when.criterion_unmet is None]
    model = model.model_copy(update={"indicators": usable})
    history = _frame(
        list(
            ElementAssessmentEvent.objects.filter(opportunity_id__in=deal_ids)
            .order_by()
            .values_list("opportunity_id", "pack", "element", "level", "at")
        ),
        {
            "opportunity_id": pl.Int64,
            "pack": pl.String,
            "element": pl.String,
            "level": pl.String,
            "at": _UTC,
        },
    )
    element_scales = scales()
    frames = []
    for end in ends:
        result = inspect_pipeline(user=user, as_of=end, opportunity_ids=deal_ids)
        elements = (
            history.filter(pl.col("at") <= end)
            .sort("at")
            .group_by("opportunity_id", "pack", "element")
            .agg(pl.col("level").last())
        )
        hits = indicator_hits(
            result.deals.select("opportunity_id", "owner_id", "stage_key"),
            pl.DataFrame(
                schema={"opportunity_id": pl.Int64, "criterion_id": pl.String, "status": pl.String}
            ),
            result.signals.select("opportunity_id", "signal"),
            elements,
            element_scales,
            model,
        )
        start = (end - timedelta(days=period_days)).date()
        frames.append(hits.with_columns(pl.lit(start).alias("period_start")))
    hits = (
        pl.concat(frames).select(list(PERIOD_HITS_SCHEMA))
        if frames
        else pl.DataFrame(schema=PERIOD_HITS_SCHEMA)
    )
    links = {i.key: list(i.competencies) for i in usable}
    return hits, [i.label for i in usable], links


def coaching_effect_for(
    *,
    user: User,
    manager_id: int,
    weeks: int = EFFECT_WEEKS,
    follow_days: int = FOLLOW_DAYS,
    period_days: int = PERIOD_DAYS,
    as_of: datetime | None = None,
) -> EffectView:
    """The observational effect of one manager's coaching (NotFound if not visible)."""
    from milepost.coaching.competencies.selectors import competency_labels

    manager = _manager_for(user, manager_id)
    reps = team_reps([manager.id])[manager.id]
    rep_ids = [r.id for r in reps]
    as_of = as_of or timezone.now()
    weeks = max(1, min(int(weeks), MAX_WEEKS))
    first_week = week_start(as_of.date()) - timedelta(days=7 * (weeks - 1))
    week_starts = [first_week + timedelta(days=7 * i) for i in range(weeks)]
    since = datetime.combine(first_week, time.min, tzinfo=UTC)
    deal_ids = list(
        Opportunity.objects.filter(
            owner_id__in=rep_ids, created_at__lt=as_of, archived_at__isnull=True
        )
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=since))
        .values_list("id", flat=True)
    )
    completed = session_scope(user).filter(
        status=SessionStatus.COMPLETED,
        rep_id__in=rep_ids,
        scheduled_for__gte=since,
        scheduled_for__lte=as_of,
    )
    discussed = _frame(
        [
            (opp, done or planned)
            for opp, done, planned in AgendaItem.objects.filter(
                session__in=completed, opportunity_id__in=deal_ids
            ).values_list("opportunity_id", "session__completed_at", "session__scheduled_for")
        ],
        DISCUSSED_SCHEMA,
    )
    deals = deal_effect(
        discussed,
        _weekly_states(deal_ids, week_starts, as_of),
        _met_events(deal_ids, since, as_of),
        follow_days=follow_days,
        as_of=as_of,
    )
    coached_rows = [
        (rep, comp, done or planned)
        for rep, comp, done, planned in AgendaItem.objects.filter(session__in=completed)
        .exclude(competency="")
        .values_list(
            "session__rep_id", "competency", "session__completed_at", "session__scheduled_for"
        )
    ]
    coached_rows += [
        (rep, comp, created)
        for rep, comp, created in action_item_scope(user)
        .filter(session__in=completed)
        .exclude(competency="")
        .values_list("session__rep_id", "competency", "created_at")
    ]
    periods = max(1, (7 * weeks) // period_days)
    ends = [as_of - timedelta(days=period_days * i) for i in reversed(range(periods))]
    open_ids = list(
        Opportunity.objects.filter(id__in=deal_ids, stage__kind=StageKind.OPEN).values_list(
            "id", flat=True
        )
    )
    hits, indicator_labels, links = _period_hits(user, open_ids, ends, period_days)
    competencies = competency_effect(
        _frame(coached_rows, COACHED_SCHEMA), hits, links, period_days=period_days
    )
    return EffectView(
        manager=manager,
        weeks=weeks,
        deals=deals,
        competencies=competencies,
        rep_names={r.id: str(r) for r in reps},
        competency_labels=competency_labels(),
        indicators_used=indicator_labels,
    )
