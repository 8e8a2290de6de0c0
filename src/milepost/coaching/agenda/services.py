"""Draft a 1:1 agenda from real pipeline data, and freeze it into a draft session.

Fetch once, then compute: one set-based inspection of the manager's team (deals, criteria
statuses, signals), the element scores of those deals, the process definitions and the packs;
then the engine decides (:mod:`milepost.engine.skill_gaps` for patterns against the team,
:mod:`milepost.engine.agenda` for ranking). What the agenda says is frozen into each
:class:`AgendaItem`'s ``detail`` at draft time, so the record shows what the manager was shown,
not what the pipeline says later.

The team a rep is compared with is everyone below the manager drafting (their whole team).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from milepost.coaching.competencies.selectors import competency_labels, competency_model
from milepost.coaching.models import AgendaItem, CoachingCadence, CoachingSession, ItemKind
from milepost.coaching.sessions.selectors import manages_rep, open_action_items_for_rep
from milepost.coaching.sessions.services import next_sessions, session_create
from milepost.core.errors import InvalidChange, NotFound
from milepost.engine.agenda import AgendaDraft, DealFacts, OpenAction, draft_agenda
from milepost.engine.criteria import MET
from milepost.engine.methodology_schema import MethodologyDef
from milepost.engine.process_schema import ProcessDef, StageDef
from milepost.engine.signals import SIGNAL_LABELS
from milepost.engine.skill_gaps import indicator_hits, skill_gaps
from milepost.inspection.pipeline import inspect_pipeline
from milepost.methodology.models import ElementAssessment
from milepost.pipeline.models import Opportunity
from milepost.process.models import StageKind
from milepost.process.selectors import pack_definitions, process_definitions
from milepost.process.selectors import scales as methodology_scales
from milepost.team.models import User
from milepost.team.selectors import subordinate_ids

ELEMENTS_SCHEMA = {
    "opportunity_id": pl.Int64,
    "pack": pl.String,
    "element": pl.String,
    "level": pl.String,
}


def quarter_end(day: date) -> date:
    """The last day of ``day``'s calendar quarter (the period deals are ranked against)."""
    first_month_next = ((day.month - 1) // 3 + 1) * 3 + 1
    if first_month_next > 12:
        return date(day.year, 12, 31)
    return date(day.year, first_month_next, 1) - timedelta(days=1)


def _stage_questions(
    stage: StageDef, packs: dict[str, MethodologyDef], levels: dict[tuple[str, str], str]
) -> tuple[str, ...]:
    """The manager's questions for a deal at ``stage``: from the methodology elements mapped
    to the stage, elements not yet at their top level first, required before recommended;
    each element's ``coaching_questions`` (what a manager asks the rep), else its questions."""
    ranked: list[tuple[int, int, int, list[str]]] = []
    n = 0
    for pack_key, mapping in stage.methodology.items():
        pack = packs.get(pack_key)
        if pack is None:
            continue
        elements = {e.key: e for e in pack.elements}
        for weight, keys in ((0, mapping.required), (1, mapping.recommended)):
            for key in keys:
                element = elements.get(key)
                if element is None:
                    continue
                scale = element.scale or pack.scale
                top = scale.levels[-1].key if scale.levels else None
                settled = levels.get((pack_key, key)) == top
                questions = list(getattr(element, "coaching_questions", None) or element.questions)
                ranked.append((int(settled), weight, n, questions))
                n += 1
    ranked.sort(key=lambda r: r[:3])
    # One question per element first, so three questions cover three elements.
    out: list[str] = []
    depth = max((len(r[3]) for r in ranked), default=0)
    for i in range(depth):
        out.extend(r[3][i] for r in ranked if i < len(r[3]))
    return tuple(out)


def _unverified(process: ProcessDef, stage_key: str, statuses: dict[str, str]) -> tuple[str, ...]:
    """Statements of exit criteria not met, of the claimed stage and the stages before it
    (later stages' criteria are not expected yet)."""
    out: list[str] = []
    for stage in process.open_stages:
        for criterion in stage.exit_criteria:
            if statuses.get(criterion.id, MET) != MET:
                out.append(criterion.statement)
        if stage.key == stage_key:
            break
    return tuple(out)


def agenda_draft(
    *, manager: User, rep_id: int, as_of: datetime | None = None, max_deals: int = 5
) -> tuple[AgendaDraft, dict[str, Any]]:
    """The draft agenda of ``manager``'s next 1:1 with ``rep_id`` (nothing written).

    Returns the draft and a context for display: ``period_end``, ``as_of``, ``gaps`` (all the
    rep's skill gaps), ``deals`` (opportunity id -> name), ``competency_labels``.
    Only someone above the rep may draft (else NotFound, as for a rep they cannot see).
    """
    if not manages_rep(manager, rep_id):
        raise NotFound(gettext("rep not found"))
    as_of = as_of or timezone.now()
    today = timezone.localdate(as_of) if timezone.is_aware(as_of) else as_of.date()
    period_end = quarter_end(today)
    team = subordinate_ids(manager.id)
    team_deal_ids = list(
        Opportunity.objects.filter(
            owner_id__in=team, stage__kind=StageKind.OPEN, archived_at__isnull=True
        ).values_list("id", flat=True)
    )
    result = inspect_pipeline(
        user=manager, as_of=as_of, opportunity_ids=team_deal_ids, with_statuses=True
    )
    deals = result.deals
    rep_deals = deals.filter(pl.col("owner_id") == rep_id)
    rep_ids = rep_deals["opportunity_id"].to_list()
    packs = pack_definitions()
    elements = pl.DataFrame(
        list(
            ElementAssessment.objects.filter(opportunity_id__in=deals["opportunity_id"].to_list())
            .order_by()
            .values_list("opportunity_id", "pack", "element", "level")
        ),
        schema=ELEMENTS_SCHEMA,
        orient="row",
    )
    model = competency_model()
    hits = indicator_hits(
        deals.select("opportunity_id", "owner_id", "stage_key"),
        result.statuses,
        result.signals.select("opportunity_id", "signal"),
        elements,
        methodology_scales(),
        model,
    )
    gaps = [g for g in skill_gaps(hits, model) if g.rep_id == rep_id]

    processes = process_definitions(sorted(set(rep_deals["process_version_id"].to_list())))
    opps = {
        oid: (name, amount, currency)
        for oid, name, amount, currency in Opportunity.objects.filter(pk__in=rep_ids).values_list(
            "id", "name", "amount", "currency"
        )
    }
    names = {oid: v[0] for oid, v in opps.items()}
    statuses: dict[int, dict[str, str]] = {}
    for row in result.statuses.filter(pl.col("opportunity_id").is_in(rep_ids)).iter_rows(
        named=True
    ):
        statuses.setdefault(row["opportunity_id"], {})[row["criterion_id"]] = row["status"]
    reasons: dict[int, list[str]] = {}
    # The signal codes too, so the agenda can link each signal to where it is fixed.
    signal_items: dict[int, list[dict[str, str]]] = {}
    for row in result.signals.filter(pl.col("opportunity_id").is_in(rep_ids)).iter_rows(named=True):
        label = SIGNAL_LABELS.get(row["signal"], row["signal"])
        reasons.setdefault(row["opportunity_id"], []).append(row["reason"] or label)
        signal_items.setdefault(row["opportunity_id"], []).append(
            {"signal": row["signal"], "reason": row["reason"] or label}
        )
    levels: dict[int, dict[tuple[str, str], str]] = {}
    for row in elements.filter(pl.col("opportunity_id").is_in(rep_ids)).iter_rows(named=True):
        levels.setdefault(row["opportunity_id"], {})[(row["pack"], row["element"])] = row["level"]

    facts: list[DealFacts] = []
    for row in rep_deals.iter_rows(named=True):
        process = processes[row["process_version_id"]]
        stage = next(s for s in process.stages if s.key == row["stage_key"])
        oid = row["opportunity_id"]
        facts.append(
            DealFacts(
                opportunity_id=oid,
                name=names.get(oid, f"Deal {oid}"),
                amount=opps[oid][1] if oid in opps else Decimal(str(row["amount"] or 0)),
                risk=int(row["risk"] or 0),
                close_date=row["close_date"],
                stage_key=stage.key,
                stage_label=stage.label,
                unverified=_unverified(process, stage.key, statuses.get(oid, {})),
                signals=tuple(reasons.get(oid, ())),
                questions=_stage_questions(stage, packs, levels.get(oid, {})),
            )
        )
    open_actions = [
        OpenAction(
            action_id=a.pk,
            title=a.title,
            owner_id=a.owner_id,
            due_date=a.due_date,
            opportunity_id=a.opportunity_id,
            competency=a.competency,
        )
        for a in open_action_items_for_rep(user=manager, rep_id=rep_id)
    ]
    draft = draft_agenda(
        deals=facts,
        gaps=gaps,
        open_actions=open_actions,
        today=today,
        period_end=period_end,
        max_deals=max_deals,
    )
    context = {
        "as_of": as_of,
        "today": today,
        "period_end": period_end,
        "gaps": gaps,
        "deals": names,
        "currencies": {oid: v[2] for oid, v in opps.items()},
        "signal_items": signal_items,
        "team_size": len(team),
        "competency_labels": competency_labels(),
    }
    return draft, context


def _detail(item: Any) -> dict[str, Any]:
    """A JSON-safe copy of an engine item, for the frozen ``detail``."""
    out: dict[str, Any] = {}
    for key, value in asdict(item).items():
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out


@transaction.atomic
def session_create_from_draft(
    manager: User,
    rep_id: int,
    scheduled_for: datetime,
    *,
    duration_minutes: int = 30,
    cadence: CoachingCadence | None = None,
    as_of: datetime | None = None,
) -> CoachingSession:
    """A draft session whose agenda is the generated draft: deals, then skills, then
    carry-over, each with what it was generated from frozen in ``detail``."""
    as_of = as_of or timezone.now()
    draft, context = agenda_draft(manager=manager, rep_id=rep_id, as_of=as_of)
    session = session_create(
        user=manager,
        rep_id=rep_id,
        scheduled_for=scheduled_for,
        duration_minutes=duration_minutes,
        cadence=cadence,
        generated_at=as_of,
    )
    rows: list[AgendaItem] = []
    for deal in draft.deal_items:
        rows.append(
            AgendaItem(
                kind=ItemKind.DEAL,
                title=deal.title[:300],
                opportunity_id=deal.opportunity_id,
                detail={
                    **_detail(deal),
                    "currency": context["currencies"].get(deal.opportunity_id, ""),
                    "signal_items": context["signal_items"].get(deal.opportunity_id, []),
                },
            )
        )
    for skill in draft.skill_items:
        rows.append(
            AgendaItem(
                kind=ItemKind.SKILL,
                title=skill.title[:300],
                competency=skill.competencies[0] if skill.competencies else "",
                detail=_detail(skill),
            )
        )
    for carry in draft.carry_over:
        rows.append(
            AgendaItem(
                kind=ItemKind.CARRY_OVER,
                title=carry.title[:300],
                action_item_id=carry.action_id,
                opportunity_id=carry.opportunity_id,
                competency=carry.competency,
                detail=_detail(carry),
            )
        )
    for n, row in enumerate(rows, start=1):
        row.session = session
        row.position = n
    AgendaItem.objects.bulk_create(rows)
    return session


def session_schedule_next(
    *, manager: User, rep_id: int, now: datetime | None = None
) -> CoachingSession:
    """Draft the next 1:1 at the next free meeting of the cadence ``manager`` runs with the
    rep (a meeting that already has a session is skipped)."""
    if not manages_rep(manager, rep_id):
        raise NotFound(gettext("rep not found"))
    cadence = CoachingCadence.objects.filter(manager=manager, rep_id=rep_id, active=True).first()
    if cadence is None:
        raise InvalidChange(gettext("set a cadence for this rep first"), field="cadence")
    now = now or timezone.now()
    taken = set(
        CoachingSession.objects.filter(
            manager=manager, rep_id=rep_id, scheduled_for__gte=now
        ).values_list("scheduled_for", flat=True)
    )
    for occurrence in next_sessions(cadence, now, 12):
        if occurrence.start not in taken:
            return session_create_from_draft(
                manager,
                rep_id,
                occurrence.start,
                duration_minutes=cadence.duration_minutes,
                cadence=cadence,
                as_of=now,
            )
    raise InvalidChange(
        gettext("the next meetings of the cadence all have a session"), field="cadence"
    )
