"""Inspect the pipeline, set-based: which deals are under the rep's control, which are not, why.

:func:`inspect_pipeline` runs over every deal a user may see: a fixed number of queries (each a
``GROUP BY`` in the database, read without per-row Python objects), then Polars: criteria
statuses, evidence combined, verified stage, signals, risk. The inspection page, the API, the
1:1 agenda and the benchmark call it. Its reference is the per-deal explained form in
:mod:`milepost.inspection.deal`; a property test holds the two together deal by deal.

Nothing here writes. Process definitions are read from the immutable process versions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import polars as pl
from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from milepost.engine.control_frames import StageCriteria, control_frame, evidence_codes
from milepost.engine.criteria_frames import (
    ELEMENT_LEVELS_SCHEMA,
    STATUS,
    CriteriaPlan,
    opportunity_schema,
)
from milepost.engine.evidence import (
    EVIDENCE_SCHEMA,
    criterion_meta,
)
from milepost.engine.frames import collect
from milepost.engine.process_schema import ExitCriterionDef, ProcessDef, StageDef
from milepost.engine.risk_model import RISK_SIGNALS_SCHEMA, RiskModel, with_contributions
from milepost.engine.signals import (
    SignalSettings,
    compute_signals,
    risk_scores,
)
from milepost.engine.vocabulary import OPPORTUNITY_FIELDS
from milepost.evidence.models import Evidence, EvidenceState
from milepost.inspection.risk import risk_models
from milepost.inspection.snoozes.selectors import SNOOZES_SCHEMA, active_snooze_frame
from milepost.inspection.sql_frames import Reads, consistent_reads, read_frame
from milepost.methodology.models import ElementAssessment
from milepost.pipeline.choices import BuyingRole
from milepost.pipeline.models import (
    Activity,
    ContactEngagement,
    Opportunity,
    OpportunityChange,
    OpportunityContact,
    StageTransition,
)
from milepost.pipeline.selectors import opportunity_scope
from milepost.process.models import Stage, StageKind
from milepost.process.selectors import process_definitions
from milepost.process.selectors import scales as methodology_scales
from milepost.team.models import User
from milepost.team.selectors import visible_user_ids

AMOUNT_SCALE = Opportunity._meta.get_field("amount").decimal_places
_FIELD_COLUMNS = {f: f"{f}_id" if f in ("account", "product") else f for f in OPPORTUNITY_FIELDS}
_UTC = pl.Datetime("us", "UTC")
DEALS_SCHEMA: dict[str, Any] = {
    "opportunity_id": pl.Int64,
    "process_version_id": pl.Int64,
    "owner_id": pl.Int64,
    "stage_key": pl.String,
    "stage_kind": pl.String,
    "amount": pl.Float64,
    "close_date": pl.Date,
    "under_control": pl.Boolean,
    "verified_stage": pl.String,
    "first_gap": pl.String,
    "unmet_before": pl.Int64,
    "risk": pl.Int64,  # chance of being lost or slipping, as a whole percent
    "risk_probability": pl.Float64,
    "signal_count": pl.Int64,
    "priority": pl.Float64,
}
STATUSES_SCHEMA: dict[str, Any] = {
    "opportunity_id": pl.Int64,
    "criterion_id": pl.String,
    "status": STATUS,
}


def _criteria(process: ProcessDef) -> list[tuple[StageDef, ExitCriterionDef]]:
    return [(s, c) for s in process.open_stages for c in s.exit_criteria]


@dataclass(frozen=True)
class InspectionResult:
    """Set-based inspection of the open deals in scope.

    ``deals``: :data:`DEALS_SCHEMA`, one row per open deal, ranked by ``priority`` (amount *
    risk probability). ``statuses``: every (deal, criterion) after evidence. ``signals``: one
    row per signal that fires, with its ``contribution`` to the risk (the breakdown).
    ``timings``: seconds per phase. ``snoozes``: the snoozes applying at ``as_of``
    (:data:`~milepost.inspection.snoozes.selectors.SNOOZES_SCHEMA`); a snoozed signal is not in
    ``signals`` and adds nothing to the risk, a snoozed deal (empty ``signal``) keeps its risk
    and is left out of the lists' "needs attention now" by :class:`~.forms.DealFilters`.
    """

    as_of: datetime
    deals: pl.DataFrame
    statuses: pl.DataFrame
    signals: pl.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    snoozes: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SNOOZES_SCHEMA))


def _scope(
    *,
    user: User,
    opportunity_ids: Sequence[int] | None,
    process_version_id: int | None,
    include_closed: bool = False,
) -> QuerySet[Opportunity]:
    scope = opportunity_scope(user=user)
    if not include_closed:
        scope = scope.filter(stage__kind=StageKind.OPEN)
    if opportunity_ids is not None:
        scope = scope.filter(pk__in=list(opportunity_ids))
    if process_version_id is not None:
        scope = scope.filter(stage__version_id=process_version_id)
    return scope.order_by()


_STALE_IDS_MAX = 20_000


def _within(visible: Any, field: str = "opportunity_id") -> Q:
    """Rows of the deals in scope; no condition at all when the scope is every deal."""
    return Q() if visible is None else Q(**{f"{field}__in": visible})


def _window_q(plan: CriteriaPlan, days: int | None, prefix: str = "") -> Q:
    earliest, latest = plan.window(days)
    q = Q(**{f"{prefix}occurred_at__lte": latest})
    if earliest is not None:
        q &= Q(**{f"{prefix}occurred_at__gte": earliest})
    return q


Read = Callable[[], pl.DataFrame]


def _roles_read(plan: CriteriaPlan, visible: QuerySet[Opportunity] | None) -> Read:
    # (deal, contact, role) is unique, so counting rows counts distinct contacts: a
    # hash aggregate, where COUNT(DISTINCT) would sort.
    aggs = {name: Count("id", filter=Q(buying_role=role)) for role, name in plan.role_aggs.items()}
    qs = (
        OpportunityContact.objects.filter(_within(visible))
        .order_by()
        .values("opportunity_id")
        .annotate(**aggs)
        .values_list("opportunity_id", *aggs)
    )
    return partial(read_frame, qs, {"opportunity_id": pl.Int64, **dict.fromkeys(aggs, pl.Int64)})


def _raw_activity_frame(
    plan: CriteriaPlan,
    visible: QuerySet[Opportunity] | None,
    as_of: datetime,
    keys: Sequence[tuple[tuple[str, ...], int | None]],
) -> pl.DataFrame:
    """Activities counted per registered (types, window) in ``keys``, and the last one that
    happened, per deal."""
    aggs = {
        plan.activity_aggs[(types, days)]: Count(
            "id", filter=Q(type__in=list(types)) & _window_q(plan, days)
        )
        for types, days in keys
    }
    qs = (
        Activity.objects.filter(_within(visible))
        .order_by()
        .values("opportunity_id")
        .annotate(**aggs, last_activity_at=Max("occurred_at", filter=Q(occurred_at__lte=as_of)))
        .values_list("opportunity_id", *aggs, "last_activity_at")
    )
    return read_frame(
        qs,
        {"opportunity_id": pl.Int64, **dict.fromkeys(aggs, pl.Int64), "last_activity_at": _UTC},
    )


def _element_frame(plan: CriteriaPlan, visible: QuerySet[Opportunity] | None) -> pl.DataFrame:
    """The level of every methodology element a criterion checks: one column per element."""
    wanted = Q()
    for pack, element in plan.element_aggs:
        wanted |= Q(pack=pack, element=element)
    qs = (
        ElementAssessment.objects.filter(_within(visible))
        .filter(wanted)
        .order_by()
        .values_list("opportunity_id", "pack", "element", "verified_level")
    )
    levels = read_frame(qs, ELEMENT_LEVELS_SCHEMA)
    return collect(plan.pivot_elements(levels.lazy()), rows=levels.height)


def _raw_engaged_frame(plan: CriteriaPlan, visible: QuerySet[Opportunity] | None) -> pl.DataFrame:
    """Distinct contacts on the activities that happened in each registered window, per deal,
    from the activity-contact links (the stale deals of a run)."""
    through = Activity.contacts.through
    aggs = {
        name: Count("contact_id", distinct=True, filter=_window_q(plan, days, "activity__"))
        for days, name in plan.engaged_aggs.items()
    }
    qs = (
        through.objects.filter(_within(visible, "activity__opportunity_id"))
        .order_by()
        .values(opp=F("activity__opportunity_id"))
        .annotate(**aggs)
        .values_list("opp", *aggs)
    )
    return read_frame(qs, {"opportunity_id": pl.Int64, **dict.fromkeys(aggs, pl.Int64)})


def _engaged_frame(plan: CriteriaPlan, visible: QuerySet[Opportunity] | None) -> pl.DataFrame:
    """Contacts engaged in each registered window, per deal, from the stored engagement (one
    row per deal and contact, with its last activity). Exact for every deal whose activities
    all happened by the moment inspected; the others are re-read raw (:func:`_stale_fix`)."""
    # Counting the indexed column (not the id) lets PostgreSQL answer from the index alone.
    aggs = {
        name: Count("last_engaged_at", filter=Q(last_engaged_at__gte=plan.window(days)[0]))
        for days, name in plan.engaged_aggs.items()
    }
    earliest = min(plan.window(days)[0] for days in plan.engaged_aggs)  # type: ignore[type-var]
    qs = (
        ContactEngagement.objects.filter(_within(visible), last_engaged_at__gte=earliest)
        .order_by()
        .values("opportunity_id")
        .annotate(**aggs)
        .values_list("opportunity_id", *aggs)
    )
    return read_frame(qs, {"opportunity_id": pl.Int64, **dict.fromkeys(aggs, pl.Int64)})


def _from_summary(
    plan: CriteriaPlan,
) -> tuple[dict[str, Any], list[tuple[tuple[str, ...], int | None]]]:
    """The activity columns the per-deal summary answers, as SQL expressions on the deal
    (through its one-to-one summary), and the (types, window) keys it cannot answer.

    A count with no window is the sum of the types' counts. In a window, the summary only
    knows the last activity of each type, which says whether *one* happened there: enough
    for a threshold of 1, not for "at least 3 calls in 30 days" (read raw instead).
    """
    columns: dict[str, Any] = {}
    raw: list[tuple[tuple[str, ...], int | None]] = []
    for (types, days), name in plan.activity_aggs.items():
        if days is None:
            total: Any = Value(0)
            for kind in types:
                total = total + Coalesce(F(f"activity_summary__{kind}_count"), Value(0))
            columns[name] = total
        elif plan.activity_thresholds.get(name, 1) <= 1:
            earliest = plan.window(days)[0]
            happened = Q()
            for kind in types:
                happened |= Q(**{f"activity_summary__{kind}_last_at__gte": earliest})
            columns[name] = Case(When(happened, then=Value(1)), default=Value(0))
        else:
            raw.append((types, days))
    return columns, raw


def _history_reads(visible: QuerySet[Opportunity] | None, as_of: datetime) -> list[Read]:
    """Skips and backward moves from the transitions; close-date pushes and the original
    amount from the change history (reads not yet run)."""
    # A process change moves deals between versions whose stage positions need not line up
    # (stages reordered, added, removed): not a move a person made, so never a skip or a step
    # back.
    # ``stage_steps`` is stored on each move (see milepost.pipeline.facts.stage_steps, which
    # leaves process changes out); the partial index holds only skips and steps back.
    moves = (
        StageTransition.objects.filter(_within(visible), moved_at__lte=as_of)
        .filter(Q(stage_steps__gt=1) | Q(stage_steps__lt=0))
        .order_by()
        .values("opportunity_id")
        .annotate(
            skips=Count("stage_steps", filter=Q(stage_steps__gt=1)),
            backs=Count("stage_steps", filter=Q(stage_steps__lt=0)),
        )
        .values_list("opportunity_id", "skips", "backs")
    )
    pushes = (
        OpportunityChange.objects.filter(
            _within(visible), changed_at__lte=as_of, close_date_shift_days__gt=0
        )
        .order_by()
        .values("opportunity_id")
        .annotate(pushes=Count("id"), pushed_days=Sum("close_date_shift_days"))
        .values_list("opportunity_id", "pushes", "pushed_days")
    )
    amounts = (
        OpportunityChange.objects.filter(
            _within(visible), changed_at__lte=as_of, amount_from__isnull=False
        )
        .order_by()
        .values_list("opportunity_id", "changed_at", "id", "amount_from")
    )

    def first_amounts() -> pl.DataFrame:
        return (
            read_frame(
                amounts,
                {
                    "opportunity_id": pl.Int64,
                    "changed_at": _UTC,
                    "id": pl.Int64,
                    "original_amount": pl.Float64,
                },
            )
            .sort("opportunity_id", "changed_at", "id")
            .group_by("opportunity_id", maintain_order=True)
            .agg(pl.col("original_amount").first())
        )

    return [
        partial(
            read_frame, moves, {"opportunity_id": pl.Int64, "skips": pl.Int64, "backs": pl.Int64}
        ),
        partial(
            read_frame,
            pushes,
            {"opportunity_id": pl.Int64, "pushes": pl.Int64, "pushed_days": pl.Int64},
        ),
        first_amounts,
    ]


def _evidence_frame(visible: QuerySet[Opportunity] | None) -> pl.DataFrame:
    qs = (
        Evidence.objects.filter(_within(visible))
        .exclude(state=EvidenceState.WITHDRAWN)
        .order_by()
        .values_list("opportunity_id", "criterion_key", "state", "level")
    )
    return read_frame(qs, EVIDENCE_SCHEMA)


# Read for every deal whatever the rules say: the signals use them.
_ALWAYS_READ = ("amount", "close_date", "next_step", "next_step_date")


def _opportunity_frame(
    scope: QuerySet[Opportunity],
    activity: dict[str, Any],
    fields: Sequence[str] = OPPORTUNITY_FIELDS,
) -> pl.DataFrame:
    """The deals, with the activity columns their summary answers (``activity``: column name
    → SQL expression), the last activity and ``__facts_until`` (the summary's latest activity,
    for :func:`_stale_fix`).

    Only ``fields`` (those the criteria read) and what the signals need are read; the stage
    comes as its id and is named from a small stage lookup, not joined per row. The other
    opportunity fields are null columns, so every frame has the same shape.
    """
    wanted = [f for f in OPPORTUNITY_FIELDS if f in fields or f in _ALWAYS_READ]
    full = opportunity_schema(AMOUNT_SCALE)
    columns = {f: _FIELD_COLUMNS[f] for f in wanted}
    types = {f: full[f] for f in wanted}
    extra: dict[str, Any] = {}
    if "amount" not in fields:
        # No rule compares the amount: the signals' float is all that is needed, and
        # PostgreSQL sends a float far more cheaply than a numeric.
        extra["_amount_float"] = Cast("amount", FloatField())
        columns["amount"], types["amount"] = "_amount_float", pl.Float64
    schema: dict[str, Any] = {
        "opportunity_id": pl.Int64,
        **types,
        "stage_id": pl.Int64,
        "owner_id": pl.Int64,
        "stage_entered_at": _UTC,
        "created_at": _UTC,
        **dict.fromkeys(activity, pl.Int64),
        "__facts_until": _UTC,
    }
    qs = scope.annotate(
        **activity,
        **extra,
        _last_activity=F("activity_summary__last_activity_at"),
    ).values_list(
        "id",
        *columns.values(),
        "stage_id",
        "owner_id",
        "stage_entered_at",
        "created_at",
        *activity,
        "_last_activity",
    )
    frame = read_frame(qs, schema)
    stage_ids = frame["stage_id"].unique().to_list()
    stages = pl.DataFrame(
        list(Stage.objects.filter(pk__in=stage_ids).values_list("id", "version_id", "key", "kind")),
        schema={
            "stage_id": pl.Int64,
            "process_version_id": pl.Int64,
            "stage_key": pl.String,
            "stage_kind": pl.String,
        },
        orient="row",
    )
    skipped = [f for f in OPPORTUNITY_FIELDS if f not in wanted]
    return (
        frame.join(stages, on="stage_id", how="left")
        .with_columns(
            # Exact for every deal that is not stale; the stale ones are corrected afterwards.
            pl.col("__facts_until").alias("last_activity_at"),
            *(pl.lit(None, dtype=full[f]).alias(f) for f in skipped),
        )
        .drop("stage_id")
    )


def _empty_result(as_of: datetime, timings: dict[str, float]) -> InspectionResult:
    return InspectionResult(
        as_of,
        pl.DataFrame(schema=DEALS_SCHEMA),
        pl.DataFrame(schema=STATUSES_SCHEMA),
        pl.DataFrame(schema=RISK_SIGNALS_SCHEMA),
        timings,
    )


def _inspect_version(
    process: ProcessDef,
    plan: CriteriaPlan,
    wide: pl.DataFrame,
    evidence: pl.DataFrame,
    as_of: datetime,
    with_statuses: bool,
    model: RiskModel | None,
    snoozes: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame]:
    pairs = _criteria(process)
    stages = StageCriteria(
        [s.key for s in process.open_stages],
        [[criterion_meta(c) for c in s.exit_criteria] for s in process.open_stages],
    )
    codes = evidence_codes(evidence, [c.id for _, c in pairs])
    control, statuses = control_frame(wide, plan, stages, codes, with_statuses=with_statuses)
    settings = SignalSettings.of(process)
    model = model or RiskModel.fallback(settings.weights)
    economic = plan.role_column("economic_buyer")
    engaged = plan.engaged_column(settings.engaged_within_days)
    facts = collect(
        wide.lazy()
        .join(control.lazy(), on="opportunity_id", how="left")
        .select(
            "opportunity_id",
            "stage_key",
            "stage_entered_at",
            "created_at",
            pl.col("amount").cast(pl.Float64),
            "close_date",
            "next_step",
            "next_step_date",
            "last_activity_at",
            pl.col(engaged).alias("engaged_recent"),
            pl.col(economic).alias("economic_buyers"),
            "skips",
            "backs",
            "pushes",
            "pushed_days",
            "original_amount",
            "under_control",
            "first_gap",
            "unmet_before",
            "verified_stage",
            "process_version_id",
            "owner_id",
            "stage_kind",
        ),
        rows=wide.height,
    )
    # Signals are about deals still to be won: closed deals get statuses and control only.
    signals = compute_signals(facts.filter(pl.col("stage_kind") == StageKind.OPEN), settings, as_of)
    if snoozes is not None and snoozes.height:
        # A snoozed signal is a known stall: while the snooze applies it adds nothing.
        signals = signals.join(
            snoozes.select("opportunity_id", "signal"), on=["opportunity_id", "signal"], how="anti"
        )
    risk = risk_scores(facts, signals, model)
    signals = with_contributions(signals, model)
    # A closed deal is no longer at risk: 0, as before risk was a chance.
    still_open = pl.col("stage_kind") == StageKind.OPEN
    deals = (
        facts.join(risk, on="opportunity_id", how="left")
        .with_columns(
            pl.when(still_open).then(pl.col(c)).otherwise(pl.lit(0).cast(dtype)).alias(c)
            for c, dtype in (
                ("risk", pl.Int64),
                ("risk_probability", pl.Float64),
                ("priority", pl.Float64),
            )
        )
        .select(list(DEALS_SCHEMA))
    )
    return deals, statuses, signals


def inspect_pipeline(
    *,
    user: User,
    as_of: datetime | None = None,
    opportunity_ids: Sequence[int] | None = None,
    process_version_id: int | None = None,
    include_closed: bool = False,
    with_statuses: bool = False,
    read_threads: int | None = None,
) -> InspectionResult:
    """Inspect every open deal ``user`` may see (narrowed by ids / process version).

    ``include_closed`` adds won and lost deals: their criteria statuses and control (a won
    deal is under control only with no gap at all), without signals (risk 0).
    ``with_statuses`` also returns the long (deal, criterion, status) frame; without it
    ``statuses`` is empty (the statuses are still computed, as columns, for control).
    ``read_threads`` (default ``settings.MILEPOST_INSPECTION_READ_THREADS``; unset, two on
    PostgreSQL from :data:`PARALLEL_READS_FROM` deals, else one) runs the reads on that many
    connections at once, outside a transaction only (see :func:`consistent_reads`).
    """
    as_of = as_of or timezone.now()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    scope = _scope(
        user=user,
        opportunity_ids=opportunity_ids,
        process_version_id=process_version_id,
        include_closed=include_closed,
    )
    # A few named deals (a deal page, a list's rows): one plain connection is quickest.
    native = opportunity_ids is None
    if read_threads is None:
        read_threads = settings.MILEPOST_INSPECTION_READ_THREADS
    if read_threads is None:
        parallel = connection.vendor == "postgresql" and native and _is_large(scope)
        read_threads = 2 if parallel else 1
    with consistent_reads(threads=read_threads if native else 1, native=native) as reads:
        frames = _read(
            scope,
            as_of,
            reads,
            everything=_is_everything(user, include_closed, opportunity_ids, process_version_id),
        )
    if frames is None:
        timings["read"] = time.perf_counter() - started
        return _empty_result(as_of, timings)
    wide, processes, plans, history, evidence, models = frames
    snoozes = active_snooze_frame(scope, as_of)
    timings["read"] = time.perf_counter() - started
    return _evaluate(
        as_of, timings, wide, processes, plans, history, evidence, with_statuses, models, snoozes
    )


# From this many deals in scope, reading on two connections at once pays for opening them (a
# Django and a native connection per worker, about 20 ms each): a team's inspection page reads
# faster on one.
PARALLEL_READS_FROM = 5_000


def _is_large(scope: QuerySet[Opportunity]) -> bool:
    """Whether ``scope`` holds at least :data:`PARALLEL_READS_FROM` deals (counted no further)."""
    return scope.order_by().values("id")[:PARALLEL_READS_FROM].count() >= PARALLEL_READS_FROM


def _is_everything(
    user: User,
    include_closed: bool,
    opportunity_ids: Sequence[int] | None,
    process_version_id: int | None,
) -> bool:
    """Whether the scope is every deal in the database (then related rows need no filter)."""
    return (
        include_closed
        and opportunity_ids is None
        and process_version_id is None
        and visible_user_ids(user) is None
    )


def _read(
    scope: QuerySet[Opportunity],
    as_of: datetime,
    reads: Reads,
    *,
    everything: bool,
    extra: dict[int, ProcessDef] | None = None,
) -> Any:
    """Every frame the evaluation needs: the deals, their process definitions and criteria
    plans, the related aggregates and the evidence (None when there is no deal).

    ``extra``: definitions not stored (a draft being previewed, under a made-up version id)
    whose criteria the deals will also be evaluated against: their plans join the reads.

    The process versions in scope come first (one small query): they decide which aggregates
    the criteria need. Then every read is independent, and :class:`Reads` may run them in
    parallel on one snapshot.
    """
    # Per stage, does any deal in scope sit there (an index probe each), rather than a
    # DISTINCT over every deal.
    in_use = Stage.objects.filter(Exists(scope.filter(stage_id=OuterRef("pk"))))
    versions = sorted(set(in_use.values_list("version_id", flat=True)))
    if not versions:
        return None
    processes = {**process_definitions(versions), **(extra or {})}
    models = risk_models(versions)
    schema = opportunity_schema(AMOUNT_SCALE)
    element_scales = methodology_scales()
    plans: dict[int, CriteriaPlan] = {}
    union = CriteriaPlan([], as_of, schema)
    for vid, process in processes.items():
        plan = CriteriaPlan(
            [(c.id, c.rule) for _, c in _criteria(process)], as_of, schema, element_scales
        )
        plan.role_column("economic_buyer")
        plan.engaged_column(process.thresholds.engaged_within_days)
        plans[vid] = plan
        union.role_aggs.update(plan.role_aggs)
        union.activity_aggs.update(plan.activity_aggs)
        union.fields |= plan.fields
        for name, need in plan.activity_thresholds.items():
            union.activity_thresholds[name] = max(union.activity_thresholds.get(name, 0), need)
        union.engaged_aggs.update(plan.engaged_aggs)
        union.element_aggs.update(plan.element_aggs)
    visible = None if everything else scope.values("id")
    wide, (evidence, *history) = deal_aggregates(
        union,
        scope,
        as_of,
        reads,
        visible=visible,
        also=[partial(_evidence_frame, visible), *_history_reads(visible, as_of)],
    )
    if wide.is_empty():
        return None
    # A deal whose version was not in scope when versions were read (moved meanwhile, on
    # SQLite's per-statement snapshots) waits for the next run rather than half-evaluate.
    wide = wide.filter(pl.col("process_version_id").is_in(versions))
    return wide, processes, plans, history, evidence, models


def deal_aggregates(
    plan: CriteriaPlan,
    scope: QuerySet[Opportunity],
    as_of: datetime,
    reads: Reads,
    *,
    visible: QuerySet[Opportunity] | None,
    also: Sequence[Read] = (),
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """The deals of ``scope`` with every aggregate column of ``plan``: the frame the criteria
    are evaluated on. Stored facts where they are exact, raw rows for the stale deals.

    ``visible``: the deals' ids as a subquery (None: every deal, no filter). ``also``: other
    reads to run in the same batch (on the same snapshot); their frames come back second.
    """
    tasks = _deal_reads(plan, scope, visible, as_of)
    frames = reads.run([*tasks, *also])
    opportunities, related = frames[0], frames[1 : len(tasks)]
    wide = _stale_fix(opportunities, related, plan, scope, as_of, reads)
    for frame in related:
        wide = wide.join(frame, on="opportunity_id", how="left")
    return collect(plan.fill_counts(wide.lazy()), rows=wide.height), frames[len(tasks) :]


def _deal_reads(
    plan: CriteriaPlan,
    scope: QuerySet[Opportunity],
    visible: QuerySet[Opportunity] | None,
    as_of: datetime,
) -> list[Read]:
    """The deals with their stored activity facts first, then one read per other aggregate
    (contact roles, engaged contacts, element levels, counts the facts cannot answer)."""
    summary_columns, raw_keys = _from_summary(plan)
    # Buying-role counts come with the deal too, from its stored role summary.
    roles = {role: name for role, name in plan.role_aggs.items() if role in BuyingRole.values}
    for role, name in roles.items():
        summary_columns[name] = Coalesce(F(f"role_summary__{role}"), Value(0))
    tasks: list[Read] = [partial(_opportunity_frame, scope, summary_columns, plan.fields)]
    if len(roles) < len(plan.role_aggs):  # a role outside the vocabulary: counted raw
        tasks.append(_roles_read(plan, visible))
    if plan.engaged_aggs:
        tasks.append(partial(_engaged_frame, plan, visible))
    if plan.element_aggs:
        tasks.append(partial(_element_frame, plan, visible))
    if raw_keys:
        tasks.append(partial(_raw_activity_counts, plan, visible, as_of, raw_keys))
    return tasks


def _raw_activity_counts(
    plan: CriteriaPlan,
    visible: QuerySet[Opportunity] | None,
    as_of: datetime,
    keys: Sequence[tuple[tuple[str, ...], int | None]],
) -> pl.DataFrame:
    """The activity counts the summary cannot answer (without the last activity, which the
    summary has)."""
    return _raw_activity_frame(plan, visible, as_of, keys).drop("last_activity_at")


def _stale_fix(
    opportunities: pl.DataFrame,
    related: list[pl.DataFrame],
    plan: CriteriaPlan,
    scope: QuerySet[Opportunity],
    as_of: datetime,
    reads: Reads,
) -> pl.DataFrame:
    """Deals with an activity dated after ``as_of`` (planned ahead, or a past ``as_of``): the
    summary counted it, so their activity columns and engaged contacts come from the raw rows.

    Engaged counts arrive in their own frame (in ``related``); they are moved onto the deals
    here so that one frame can be corrected. Usually no deal is stale and nothing is read.
    """
    engaged_columns = list(plan.engaged_aggs.values())
    if engaged_columns:
        index = next(i for i, f in enumerate(related) if engaged_columns[0] in f.columns)
        engaged = related.pop(index)
        opportunities = opportunities.join(engaged, on="opportunity_id", how="left")
    stale = opportunities.filter(pl.col("__facts_until") > as_of)
    if stale.is_empty():
        return opportunities.drop("__facts_until")
    # Few stale deals (the usual case): their ids, so the raw reads go through the indexes of
    # those deals only. Many (a past as_of): a subquery, as a whole-table read would.
    stale_scope: Any = stale["opportunity_id"].to_list()
    if len(stale_scope) > _STALE_IDS_MAX:
        stale_scope = scope.filter(activity_summary__last_activity_at__gt=as_of).values("id")
    # Only what came from the facts: counts the facts cannot answer were read raw already.
    keys = [key for key, name in plan.activity_aggs.items() if name in opportunities.columns]
    raw_reads = [partial(_raw_activity_frame, plan, stale_scope, as_of, keys)]
    if engaged_columns:
        raw_reads.append(partial(_raw_engaged_frame, plan, stale_scope))
    fixed = stale.select("opportunity_id")
    for frame in reads.run(raw_reads):
        fixed = fixed.join(frame, on="opportunity_id", how="left")
    columns = [c for c in fixed.columns if c != "opportunity_id"]
    return (
        opportunities.join(fixed, on="opportunity_id", how="left", suffix="__raw")
        .with_columns(
            pl.when(pl.col("__facts_until") > as_of)
            .then(pl.col(f"{c}__raw"))
            .otherwise(pl.col(c))
            .alias(c)
            for c in columns
        )
        .drop("__facts_until", *(f"{c}__raw" for c in columns))
    )


def _evaluate(
    as_of: datetime,
    timings: dict[str, float],
    wide: pl.DataFrame,
    processes: dict[int, ProcessDef],
    plans: dict[int, CriteriaPlan],
    history: list[pl.DataFrame],
    evidence: pl.DataFrame,
    with_statuses: bool,
    models: dict[int, RiskModel] | None = None,
    snoozes: pl.DataFrame | None = None,
) -> InspectionResult:
    started = time.perf_counter()
    versions = sorted(processes)
    for frame in history:
        wide = wide.join(frame, on="opportunity_id", how="left")
    wide = wide.with_columns(pl.col("skips", "backs", "pushes", "pushed_days").fill_null(0))
    parts = [
        _inspect_version(
            processes[vid],
            plans[vid],
            wide.filter(pl.col("process_version_id") == vid),
            evidence,
            as_of,
            with_statuses,
            (models or {}).get(vid),
            snoozes,
        )
        for vid in versions
    ]
    deals = pl.concat([p[0] for p in parts]).sort(
        ["priority", "opportunity_id"], descending=[True, False]
    )
    statuses = pl.concat(
        [p[1] for p in parts if p[1] is not None] or [pl.DataFrame(schema=STATUSES_SCHEMA)]
    )
    signals = pl.concat([p[2] for p in parts])
    timings["evaluate"] = time.perf_counter() - started
    if snoozes is None:
        snoozes = pl.DataFrame(schema=SNOOZES_SCHEMA)
    return InspectionResult(as_of, deals, statuses, signals, timings, snoozes)


# ---------------------------------------------------------------------------------------------
# One deal, explained.


@dataclass(frozen=True)
class Control:
    """A deal's control at a glance, for lists: claimed vs verified stage and the first gap."""

    under_control: bool
    verified_stage: str
    verified_label: str
    first_gap_label: str | None
    risk: int


def control_by_deal(*, user: User, opportunity_ids: Sequence[int]) -> dict[int, Control]:
    """Control of the listed deals (open and closed) the user may see; one set-based run."""
    if not opportunity_ids:
        return {}
    result = inspect_pipeline(user=user, opportunity_ids=opportunity_ids, include_closed=True)
    processes = process_definitions(result.deals["process_version_id"].unique().to_list())
    labels = {(vid, stage.key): stage.label for vid, p in processes.items() for stage in p.stages}
    return {
        row["opportunity_id"]: Control(
            under_control=row["under_control"],
            verified_stage=row["verified_stage"],
            verified_label=labels[(row["process_version_id"], row["verified_stage"])],
            first_gap_label=(
                labels[(row["process_version_id"], row["first_gap"])] if row["first_gap"] else None
            ),
            risk=row["risk"],
        )
        for row in result.deals.iter_rows(named=True)
    }
