"""Reads for analytics: the deals a user may see, narrowed by the filters, as frames of their
history; the engine does the maths.

Scoping: every read starts from :func:`milepost.pipeline.selectors.opportunity_scope` (the one
visibility rule: a rep their own deals, a manager or leader their reporting line, an admin
everyone; archived deals left out). A team filter names a manager or leader the asker may see
(:func:`milepost.team.selectors.team_members`), else no deal at all; a rep filter narrows within
what is visible. So a figure never counts a deal its reader could not open.

The history is read once per report as frames (stage transitions, opportunity changes) through
:func:`milepost.inspection.sql_frames.read_frame`, on one snapshot where the database allows it
(:func:`~milepost.inspection.sql_frames.consistent_reads`), and handed to
:mod:`milepost.engine.conversion`, :mod:`~milepost.engine.velocity` and
:mod:`~milepost.engine.waterfall`. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet
from django.utils import timezone

from milepost.analytics.filters import AnalyticsFilters
from milepost.engine import conversion as conv
from milepost.engine import process_effectiveness as pe
from milepost.engine import velocity as vel
from milepost.engine import waterfall as wf
from milepost.engine.process_schema import ProcessDef
from milepost.evidence.models import EvidenceEvent
from milepost.inspection.sql_frames import consistent_reads, read_frame
from milepost.pipeline.models import Lead, Opportunity, OpportunityChange, StageTransition
from milepost.pipeline.selectors import OpportunityFilters, opportunity_list, opportunity_scope
from milepost.process.models import ProcessVersion, Stage
from milepost.process.selectors import current_version, process_definition, process_version
from milepost.team.models import User
from milepost.team.selectors import team_members, visible_user_ids


def analytics_deals(*, user: User, filters: AnalyticsFilters) -> QuerySet[Opportunity]:
    """The deals ``user`` may see that the filters select (every stage, open or closed)."""
    qs = opportunity_scope(user=user).filter(stage__version__process__key=filters.process)
    if filters.version is not None:
        qs = qs.filter(stage__version__number=filters.version)
    if filters.team is not None:
        qs = qs.filter(owner_id__in=team_members(user=user, manager_id=filters.team) or [])
    if filters.rep is not None:
        qs = qs.filter(owner_id=filters.rep)
    if filters.product is not None:
        qs = qs.filter(product_id=filters.product)
    if filters.sector:
        qs = qs.filter(account__sector=filters.sector)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.amount_min is not None:
        qs = qs.filter(amount__gte=filters.amount_min)
    if filters.amount_max is not None:
        qs = qs.filter(amount__lte=filters.amount_max)
    return qs


@dataclass(frozen=True)
class Stages:
    """The stages the figures are laid out by: one version of the process (the one asked for,
    else the current one)."""

    version: ProcessVersion | None
    order: conv.StageOrder
    labels: dict[str, str]
    max_days: dict[str, int | None]

    def label(self, key: str) -> str:
        return self.labels.get(key, key)


def process_stages(filters: AnalyticsFilters) -> Stages:
    version = (
        process_version(process_key=filters.process, number=filters.version)
        if filters.version is not None
        else current_version(process_key=filters.process)
    )
    stages = list(Stage.objects.filter(version=version).order_by("position")) if version else []
    order = conv.StageOrder(
        open=tuple(s.key for s in stages if s.kind == "open"),
        won=tuple(s.key for s in stages if s.kind == "won"),
        lost=tuple(s.key for s in stages if s.kind == "lost"),
    )
    return Stages(
        version,
        order,
        {s.key: s.label for s in stages},
        {s.key: s.max_days for s in stages if s.kind == "open"},
    )


def _read(qs: QuerySet[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """:func:`read_frame`, or no rows when the filters can match nothing (an empty team)."""
    try:
        return read_frame(qs, schema)
    except EmptyResultSet:
        return pl.DataFrame(schema=schema)


def transitions_frame(deals: QuerySet[Opportunity]) -> pl.DataFrame:
    """The stage transitions of ``deals`` (see ``engine.conversion.TRANSITIONS_SCHEMA``)."""
    qs = (
        StageTransition.objects.filter(opportunity__in=deals.order_by().values("pk"))
        # Moves at the same instant keep the order they were written in (by id).
        .order_by("opportunity_id", "moved_at", "pk")
        .values_list(
            "opportunity_id",
            "from_stage__key",
            "to_stage__key",
            "to_stage__kind",
            "moved_at",
            "amount",
            "close_date",
        )
    )
    return _read(qs, conv.TRANSITIONS_SCHEMA)


def changes_frame(deals: QuerySet[Opportunity]) -> pl.DataFrame:
    """The close-date and amount changes of ``deals``, as
    :data:`milepost.engine.waterfall.CHANGES_SCHEMA`."""
    qs = (
        OpportunityChange.objects.filter(opportunity__in=deals.order_by().values("pk"))
        .order_by("opportunity_id", "changed_at", "pk")
        .values_list("opportunity_id", "changed_at", "amount_to", "close_date_to")
    )
    return _read(qs, wf.CHANGES_SCHEMA)


def leads_frame(*, user: User, filters: AnalyticsFilters) -> pl.DataFrame:
    """Leads owned by people ``user`` may see (team, rep and source filters apply; the deal
    filters do not, a lead having no deal yet): :data:`~milepost.engine.conversion.LEADS_SCHEMA`."""
    visible = visible_user_ids(user)
    qs = Lead.objects.all() if visible is None else Lead.objects.filter(owner_id__in=visible)
    if filters.team is not None:
        qs = qs.filter(owner_id__in=team_members(user=user, manager_id=filters.team) or [])
    if filters.rep is not None:
        qs = qs.filter(owner_id=filters.rep)
    if filters.source:
        qs = qs.filter(source=filters.source)
    values = qs.order_by().values_list(
        "pk", "created_at", "converted_at", "opportunity__stage__kind"
    )
    return _read(values, conv.LEADS_SCHEMA)


@dataclass(frozen=True)
class Inputs:
    """What one report reads: the stages, the period and the deals' history."""

    filters: AnalyticsFilters
    stages: Stages
    start: datetime
    end: datetime
    as_of: datetime
    transitions: pl.DataFrame
    changes: pl.DataFrame | None
    leads: pl.DataFrame | None


def read_inputs(
    *, user: User, filters: AnalyticsFilters, changes: bool = False, leads: bool = False
) -> Inputs:
    start, end = filters.moments()
    as_of = timezone.now()
    stages = process_stages(filters)
    deals = analytics_deals(user=user, filters=filters)
    with consistent_reads():
        transitions = transitions_frame(deals)
        changed = changes_frame(deals) if changes else None
        lead_rows = leads_frame(user=user, filters=filters) if leads else None
    return Inputs(filters, stages, start, min(end, as_of), as_of, transitions, changed, lead_rows)


def _history(i: Inputs) -> pl.DataFrame:
    """The transitions prepared once for all of a report's figures."""
    return conv.history(i.transitions, i.stages.order, i.as_of)


# ---------------------------------------------------------------------------------------------
# Reports


@dataclass(frozen=True)
class ConversionReport:
    inputs: Inputs
    cohorts: list[conv.StageCohort]
    funnel: list[conv.FunnelStep]
    win_rate: conv.WinRate
    leads: conv.LeadFunnel


def conversion_report(*, user: User, filters: AnalyticsFilters) -> ConversionReport:
    """Cohort conversion by stage, the funnel to won, the win rate and lead conversion."""
    i = read_inputs(user=user, filters=filters, leads=True)
    window: dict[str, Any] = {"start": i.start, "end": i.end, "as_of": i.as_of}
    won_label = i.stages.order.won[0] if i.stages.order.won else "won"
    assert i.leads is not None
    hist = _history(i)
    return ConversionReport(
        inputs=i,
        cohorts=conv.cohort_conversion(hist, i.stages.order, **window),
        funnel=conv.funnel(hist, i.stages.order, won_label=won_label, **window),
        win_rate=conv.win_rate(hist, i.stages.order, **window),
        leads=conv.lead_funnel(i.leads, **window),
    )


@dataclass(frozen=True)
class VelocityReport:
    inputs: Inputs
    time_in_stage: dict[str, vel.Spread]
    velocity: vel.Velocity
    trend: list[vel.Velocity]


def velocity_report(*, user: User, filters: AnalyticsFilters) -> VelocityReport:
    """Time in stage, cycle lengths, sales velocity with its factors, and its trend."""
    i = read_inputs(user=user, filters=filters)
    window: dict[str, Any] = {"start": i.start, "end": i.end, "as_of": i.as_of}
    hist = _history(i)
    return VelocityReport(
        inputs=i,
        time_in_stage=vel.time_in_stage(hist, i.stages.order, **window),
        velocity=vel.sales_velocity(hist, i.stages.order, **window),
        trend=vel.velocity_trend(hist, i.stages.order, every=filters.every, **window),
    )


@dataclass(frozen=True)
class WaterfallReport:
    inputs: Inputs
    waterfall: wf.Waterfall


def waterfall_report(*, user: User, filters: AnalyticsFilters) -> WaterfallReport:
    """The pipeline waterfall over the period, for the close-date window of the filters."""
    i = read_inputs(user=user, filters=filters, changes=True)
    assert i.changes is not None
    scope_from, scope_to = filters.scope()
    return WaterfallReport(
        inputs=i,
        waterfall=wf.waterfall(
            i.transitions,
            i.changes,
            start=i.start,
            end=i.end,
            as_of=i.as_of,
            scope_from=scope_from,
            scope_to=scope_to,
        ),
    )


# ---------------------------------------------------------------------------------------------
# The deals behind a figure

FIGURES = {
    "cohort": ("entered", "advanced", "won", "lost", "open"),
    "funnel": ("reached",),
    "closed": ("won", "lost", "all"),
    "open": ("open",),
    "visits": ("ended",),
    "waterfall": wf.BARS,
    # Process effectiveness (``stage``: the criterion id, for criterion figures).
    "criterion": ("exits", "met", "unmet", "late", "waived"),
    "stage_health": ("lost_here", "stalled", "skipped"),
}


class UnknownFigure(ValueError):
    """The figure or its part is not one the pages link to."""


def figure_deal_ids(
    *,
    user: User,
    filters: AnalyticsFilters,
    figure: str,
    part: str,
    stage: str | None = None,
) -> list[int]:
    """Ids of the deals behind one figure (what a page's number links to), scoped like it.

    ``figure``/``part``: ``cohort`` + entered/advanced/won/lost/open (of ``stage``), ``funnel``
    + reached (``stage``), ``closed`` + won/lost/all, ``open`` + open (at the period's end),
    ``visits`` + ended (of ``stage``), ``waterfall`` + a bar key.
    """
    if part not in FIGURES.get(figure, ()):
        raise UnknownFigure(f"{figure}/{part}")
    if figure in ("criterion", "stage_health"):
        return _effectiveness_deal_ids(
            user=user, filters=filters, figure=figure, part=part, key=stage
        )
    i = read_inputs(user=user, filters=filters, changes=figure == "waterfall")
    order = i.stages.order
    hist = _history(i)
    ids: pl.Series
    if figure == "cohort":
        rows = conv.cohort_entries(hist, order, i.start, i.end).filter(pl.col("stage") == stage)
        if part == "advanced":
            rows = rows.filter(pl.col("advanced_at").is_not_null())
        elif part != "entered":
            rows = rows.filter(pl.col("outcome") == part)
        ids = rows["opportunity_id"]
    elif figure == "funnel":
        pos = order.positions().get(stage or "")
        reached = conv.funnel_reached(hist, order, i.start, i.end)
        ids = reached.filter(pl.col("pos") == pos)["opportunity_id"]
    elif figure == "closed":
        rows = conv.closed_in(hist, i.start, i.end)
        if part != "all":
            rows = rows.filter(pl.col("outcome") == part)
        ids = rows["opportunity_id"]
    elif figure == "open":
        ids = vel.open_at(hist, i.end)["opportunity_id"]
    elif figure == "visits":
        done = vel.visits(hist).filter(
            (pl.col("stage") == stage)
            & (pl.col("left_at") >= i.start)
            & (pl.col("left_at") < i.end)
        )
        ids = done["opportunity_id"]
    else:
        assert i.changes is not None
        scope_from, scope_to = filters.scope()
        opening, flows, closing = wf.waterfall_flows(
            i.transitions,
            i.changes,
            start=i.start,
            end=i.end,
            as_of=i.as_of,
            scope_from=scope_from,
            scope_to=scope_to,
        )
        if part == "opening":
            ids = opening["opportunity_id"]
        elif part == "closing":
            ids = closing["opportunity_id"]
        else:
            ids = flows.filter(pl.col("flow") == part)["opportunity_id"]
    return sorted(set(ids.to_list()))


def figure_deals(*, user: User, ids: list[int]) -> QuerySet[Opportunity]:
    """The deals of :func:`figure_deal_ids`, as the deals table lists them (still scoped)."""
    return opportunity_list(user=user, filters=OpportunityFilters(status="all")).filter(pk__in=ids)


# ---------------------------------------------------------------------------------------------
# Process effectiveness (issue 15, part 4)

_EVIDENCE_EVENTS_SCHEMA: dict[str, Any] = {
    "deal_id": pl.Int64,
    "criterion_id": pl.String,
    "at": pe.TRANSITIONS_SCHEMA["moved_at"],
    "state": pl.String,
    "level": pl.String,
    "event_id": pl.Int64,
}
_LEVEL_RANK = {"rep": 1, "manager": 2, "buyer": 3}


@dataclass(frozen=True)
class EffectivenessFrames:
    """The three input frames of :func:`milepost.engine.process_effectiveness.process_effectiveness`
    for the deals ``user`` may see that the filters select and that were **created in the
    period** (their first transition), with what could not be known.

    ``exits``: criterion exits (rows of ``criterion_exit_moments``, every deal, open ones too);
    ``unrecorded``: those without a criteria row (no gate result, and no evidence history that
    decides the criterion). ``gated``: the gated forward moves among the transitions (their
    ``criteria_result`` says what was met). ``left_out``: transitions into a stage key the
    version does not have (a deal of another version whose stage was since removed), left out.
    """

    process: ProcessDef | None
    stages: Stages
    deals: pl.DataFrame
    transitions: pl.DataFrame
    criteria: pl.DataFrame
    exits: int
    unrecorded: int
    gated: int
    left_out: int
    as_of: datetime


def _gate_frames(
    process: ProcessDef, deals: QuerySet[Opportunity], as_of: datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The forward gated moves of ``deals``: their ids (``gated``) and, per move and criterion
    of the process, ``met`` and ``waived`` as the move recorded them (``met_at_gate``,
    ``gate_waivers``). One query; the JSON is read in Python once per gated move."""
    ids = [c.id for s in process.open_stages for c in s.exit_criteria]
    rows = (
        StageTransition.objects.filter(
            opportunity__in=deals.order_by().values("pk"),
            moved_at__lte=as_of,
            criteria_result__isnull=False,
        )
        .order_by()
        .values_list("pk", "criteria_result")
    )
    gated: list[int] = []
    out: dict[str, list[Any]] = {"exit_id": [], "criterion_id": [], "met": [], "waived": []}
    for pk, result in rows.iterator(chunk_size=2000):
        met = pe.met_at_gate(result if isinstance(result, dict) else None, ids)
        if met is None:
            continue
        gated.append(pk)
        waived = pe.gate_waivers(result)
        for criterion, is_met in met.items():
            out["exit_id"].append(pk)
            out["criterion_id"].append(criterion)
            out["met"].append(is_met)
            out["waived"].append(criterion in waived)
    schema = {"exit_id": pl.Int64, "criterion_id": pl.String, "met": pl.Boolean}
    return (
        pl.DataFrame({"exit_id": gated}, schema={"exit_id": pl.Int64}),
        pl.DataFrame(out, schema={**schema, "waived": pl.Boolean}),
    )


def _evidence_at_exits(
    process: ProcessDef,
    moments: pl.DataFrame,
    deals: QuerySet[Opportunity],
    as_of: datetime,
) -> pl.DataFrame:
    """Per exit moment: ``has_history`` (the deal has evidence events for the criterion),
    ``evidence_met`` (active evidence at or above the verifier's level at the exit),
    ``evidence_level`` (level of the active evidence at the exit) and ``first_met_at`` (the
    first event with active evidence at the verifier's level; evidence-decided criteria only)."""
    qs = (
        EvidenceEvent.objects.filter(opportunity__in=deals.order_by().values("pk"), at__lte=as_of)
        .order_by("opportunity_id", "criterion_key", "at", "pk")
        .values_list("opportunity_id", "criterion_key", "at", "state", "level", "pk")
    )
    events = _read(qs, _EVIDENCE_EVENTS_SCHEMA).sort("deal_id", "criterion_id", "at", "event_id")
    meta = pl.DataFrame(
        {
            "criterion_id": [c.id for s in process.open_stages for c in s.exit_criteria],
            "verifier_rank": [
                _LEVEL_RANK[c.verifier] for s in process.open_stages for c in s.exit_criteria
            ],
            "needs_evidence": [
                c.needs_evidence for s in process.open_stages for c in s.exit_criteria
            ],
        },
        schema={"criterion_id": pl.String, "verifier_rank": pl.Int64, "needs_evidence": pl.Boolean},
    )
    events = events.join(meta, on="criterion_id", how="inner").with_columns(
        meets=(pl.col("state") == "active")
        & (pl.col("level").replace_strict(_LEVEL_RANK, default=0) >= pl.col("verifier_rank"))
    )
    first_met = (
        events.filter(pl.col("meets") & pl.col("needs_evidence"))
        .group_by("deal_id", "criterion_id")
        .agg(first_met_at=pl.col("at").min())
    )
    history = events.select("deal_id", "criterion_id").unique().with_columns(has_history=True)
    at_exit = moments.sort("exited_at").join_asof(
        events.select("deal_id", "criterion_id", "at", "state", "level", "meets").sort("at"),
        left_on="exited_at",
        right_on="at",
        by=["deal_id", "criterion_id"],
        strategy="backward",
        check_sortedness=False,  # sorted by time above; Polars cannot check it per group
    )
    return (
        at_exit.join(history, on=["deal_id", "criterion_id"], how="left")
        .join(first_met, on=["deal_id", "criterion_id"], how="left")
        .join(meta, on="criterion_id", how="left")
        .select(
            "deal_id",
            "stage_key",
            "exited_at",
            "criterion_id",
            "exit_id",
            pl.col("has_history").fill_null(False),
            pl.col("meets").fill_null(False).alias("evidence_met"),
            pl.when(pl.col("state") == "active").then(pl.col("level")).alias("evidence_level"),
            "first_met_at",
            # Evidence alone decides the criterion (no rule): its history says met or not.
            (pl.col("needs_evidence") & ~pl.col("criterion_id").is_in(_ruled(process))).alias(
                "evidence_decides"
            ),
        )
    )


def _ruled(process: ProcessDef) -> list[str]:
    return [c.id for s in process.open_stages for c in s.exit_criteria if c.rule is not None]


def _exit_transitions(transitions: pl.DataFrame, moments: pl.DataFrame) -> pl.DataFrame:
    """``moments`` with the id of the transition that made each exit (``exit_id``)."""
    same_deal = pl.col("deal_id").shift(-1) == pl.col("deal_id")
    t = (
        transitions.sort("deal_id", "moved_at", "transition_id")
        .with_columns(
            exit_id=pl.when(same_deal).then(pl.col("transition_id").shift(-1)),
            exited_at=pl.when(same_deal).then(pl.col("moved_at").shift(-1)),
        )
        .filter(pl.col("exit_id").is_not_null())
        .select("deal_id", pl.col("to_stage").alias("stage_key"), "exited_at", "exit_id")
        # Two visits of a stage ending at the same instant: the later exit is the last one.
        .unique(subset=["deal_id", "stage_key", "exited_at"], keep="last", maintain_order=True)
    )
    return moments.join(t, on=["deal_id", "stage_key", "exited_at"], how="left")


def effectiveness_frames(*, user: User, filters: AnalyticsFilters) -> EffectivenessFrames:
    """Build the deals, transitions and criteria frames set-based (one query each, one for the
    gated moves, one for the evidence history) for the deals of the filters created in the
    period. Met at an exit: the exit transition's gate result when it has one (a gated forward
    move); else, for a criterion evidence alone decides, the evidence history at the exit when
    the deal has one for it; else **unrecorded** (no row): never guessed."""
    start, end = filters.moments()
    as_of = timezone.now()
    stages = process_stages(filters)
    empty_criteria = pl.DataFrame(schema=pe.CRITERIA_SCHEMA)
    if stages.version is None:
        return EffectivenessFrames(
            None,
            stages,
            pl.DataFrame(schema=pe.DEALS_SCHEMA),
            pl.DataFrame(schema=pe.TRANSITIONS_SCHEMA),
            empty_criteria,
            0,
            0,
            0,
            0,
            as_of,
        )
    process = process_definition(stages.version.pk)
    keys = [s.key for s in process.stages]
    deals = analytics_deals(user=user, filters=filters)
    with consistent_reads():
        deal_rows = _read(
            deals.order_by().values_list("pk", "stage__kind", "lost_reason", "amount"),
            pe.DEALS_SCHEMA,
        )
        transitions = _read(
            StageTransition.objects.filter(
                opportunity__in=deals.order_by().values("pk"), moved_at__lte=as_of
            )
            .order_by("opportunity_id", "moved_at", "pk")
            .values_list("pk", "opportunity_id", "to_stage__key", "moved_at"),
            pe.TRANSITIONS_SCHEMA,
        )
        gated, gate_rows = _gate_frames(process, deals, as_of)
        created = (
            transitions.group_by("deal_id")
            .agg(pl.col("moved_at").min().alias("created_at"))
            .filter((pl.col("created_at") >= start) & (pl.col("created_at") < end))
            .select("deal_id")
        )
        known = pl.col("to_stage").is_in(keys)
        left_out = transitions.join(created, on="deal_id", how="semi").filter(~known).height
        transitions = transitions.join(created, on="deal_id", how="semi").filter(known)
        deal_rows = deal_rows.join(created, on="deal_id", how="semi")
        moments = _exit_transitions(transitions, pe.criterion_exit_moments(process, transitions))
        at_exit = _evidence_at_exits(process, moments, deals, as_of)
    recorded = (
        at_exit.join(gated.with_columns(gated=True), on="exit_id", how="left")
        .join(gate_rows, on=["exit_id", "criterion_id"], how="left")
        .filter(
            pl.col("gated").fill_null(False) | (pl.col("evidence_decides") & pl.col("has_history"))
        )
        .select(
            "deal_id",
            "stage_key",
            "exited_at",
            "criterion_id",
            pl.when(pl.col("gated").fill_null(False))
            .then(pl.col("met"))
            .otherwise(pl.col("evidence_met"))
            .alias("met"),
            "first_met_at",
            pl.col("waived").fill_null(False),
            "evidence_level",
        )
        .sort("deal_id", "stage_key", "criterion_id")
    )
    return EffectivenessFrames(
        process,
        stages,
        deal_rows,
        transitions,
        recorded,
        moments.height,
        moments.height - recorded.height,
        gated.join(
            transitions.select(pl.col("transition_id").alias("exit_id")), on="exit_id"
        ).height,
        left_out,
        as_of,
    )


@dataclass(frozen=True)
class EffectivenessReport:
    frames: EffectivenessFrames
    result: pe.ProcessEffectiveness | None
    period: tuple[datetime, datetime]

    @property
    def stages(self) -> Stages:
        return self.frames.stages


def _effectiveness_deal_ids(
    *, user: User, filters: AnalyticsFilters, figure: str, part: str, key: str | None
) -> list[int]:
    """The deals behind a process-effectiveness figure: of criterion ``key`` the exits, those
    met, not met, met late or waived; of stage ``key`` the deals lost there, that stalled past
    its max days, or that skipped it (the frames the figures were counted from)."""
    result = effectiveness_report(user=user, filters=filters).result
    if result is None:
        return []
    deals = result.deals
    if figure == "criterion":
        rows = deals.exits.filter(pl.col("criterion_id") == key)
        keep = {
            "exits": pl.lit(True),
            "met": pl.col("met").fill_null(False),
            "unmet": pl.col("met").not_().fill_null(False),
            "late": pl.col("met_late").fill_null(False),
            "waived": pl.col("waived").fill_null(False),
        }[part]
    elif part == "skipped":
        rows = deals.passed.filter(pl.col("stage_key") == key)
        keep = pl.col("skipped")
    else:
        rows = deals.visitors.filter(pl.col("stage_key") == key)
        keep = pl.col(part)
    return sorted(set(rows.filter(keep)["deal_id"].to_list()))


def effectiveness_report(*, user: User, filters: AnalyticsFilters) -> EffectivenessReport:
    """Process effectiveness over the deals of the filters created in the period: the
    criterion and stage figures and the ranked suggestions (nothing is applied)."""
    frames = effectiveness_frames(user=user, filters=filters)
    result = None
    if frames.process is not None:
        result = pe.process_effectiveness(
            frames.process,
            frames.deals,
            frames.transitions,
            frames.criteria,
            as_of=frames.as_of,
        )
    return EffectivenessReport(frames, result, filters.moments())
