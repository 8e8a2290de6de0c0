"""Inspect one deal and explain it: every exit criterion with its status and reason.

:func:`explain_criteria` reads one deal through the ORM and evaluates it with the explained
engine (a reason per criterion); :func:`inspect_opportunity` adds its signals and risk from the
set-based form. The opportunity page, the stage gates and the deal API show these. This per-deal
form is the reference the set-based :func:`milepost.inspection.pipeline.inspect_pipeline` is
tested against.

Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from milepost.engine.criteria import (
    MET,
    RuleResult,
    claimed_position,
    evaluate_rule,
    rule_leaves,
    verified_stage,
)
from milepost.engine.evidence import (
    BY_REP,
    CriterionMeta,
    EvidenceFact,
    Provenance,
    combine,
    criterion_meta,
    provenance,
    score_by,
    weakest,
)
from milepost.engine.process_schema import ExitCriterionDef, ProcessDef, StageDef
from milepost.engine.risk_model import risk_sentence
from milepost.engine.signals import (
    SIGNAL_LABELS,
    next_actions,
)
from milepost.evidence.models import Evidence, EvidenceState
from milepost.inspection.models import Snooze
from milepost.inspection.pipeline import inspect_pipeline
from milepost.inspection.selectors import opportunity_snapshot
from milepost.inspection.snoozes.selectors import snooze_list
from milepost.methodology.models import ElementAssessment
from milepost.pipeline.models import (
    Opportunity,
)
from milepost.pipeline.selectors import opportunity_get
from milepost.process.models import StageKind
from milepost.process.selectors import process_definition
from milepost.process.selectors import scales as methodology_scales
from milepost.team.models import User

NO_PROVENANCE = Provenance((), "none")


@dataclass(frozen=True)
class CriterionView:
    criterion: ExitCriterionDef
    status: str
    reason: str
    rule: RuleResult | None
    evidence: Evidence | None
    provenance: Provenance = NO_PROVENANCE


@dataclass(frozen=True)
class StageView:
    stage: StageDef
    criteria: list[CriterionView]
    position: int

    @property
    def all_met(self) -> bool:
        return all(c.status == MET for c in self.criteria)


@dataclass(frozen=True)
class CriteriaExplanation:
    """A deal's process map: every open stage, every criterion with its status and reason."""

    opportunity: Opportunity
    process: ProcessDef
    stages: list[StageView]
    claimed_stage: str
    claimed_kind: str
    verified_stage: str
    under_control: bool
    first_gap: str | None
    as_of: datetime

    @property
    def claimed_position(self) -> int:
        keys = [s.stage.key for s in self.stages]
        return claimed_position(keys, self.claimed_stage, self.claimed_kind)

    def unmet_ids(self, *, through_claimed: bool = True) -> list[str]:
        """Criteria not met in the stages the deal claims to have passed (and its own)."""
        limit = self.claimed_position + (1 if through_claimed else 0)
        return [
            c.criterion.id
            for s in self.stages
            if s.position < limit
            for c in s.criteria
            if c.status != MET
        ]


def evidence_fact(row: Evidence | None) -> EvidenceFact | None:
    """The engine's view of an evidence row (None: none, or withdrawn)."""
    if row is None or row.state == EvidenceState.WITHDRAWN:
        return None
    state = "rejected" if row.state == EvidenceState.REJECTED else "active"
    return EvidenceFact(
        state,
        row.level,
        row.rejection_reason,
        source=row.source,
        buyer_claim=row.buyer_claim,
        accepted_by_rule=row.accepted_by_rule,
    )


def _score_by(criterion: ExitCriterionDef, backing: dict[tuple[str, str], str]) -> str | None:
    """Who stands behind the methodology scores the criterion's rule reads (None: it reads
    none): the weakest of them (``backing``: each scored element's ``BY_*``; an element not
    scored counts as the rep's)."""
    if criterion.rule is None:
        return None
    specs = [spec for kind, spec in rule_leaves(criterion.rule) if kind == "methodology"]
    if not specs:
        return None
    return weakest(backing.get((spec["pack"], spec["element"]), BY_REP) for spec in specs)


def _score_backing(opportunity_id: int) -> dict[tuple[str, str], str]:
    """Each scored element of the deal and who stands behind its score (a ``BY_*`` code)."""
    rows = ElementAssessment.objects.filter(opportunity_id=opportunity_id).values_list(
        "pack", "element", "level", "verified_level", "verified_by", "artefact", "accepted_by_rule"
    )
    return {
        (pack, element): score_by(
            counts_as_scored=verified_level == level,
            vouched=verified_by is not None,
            artefact=artefact is not None,
            by_rule=bool(rule),
        )
        for pack, element, level, verified_level, verified_by, artefact, rule in rows
    }


def explain_criteria(
    *, user: User, opportunity_id: int, as_of: datetime | None = None
) -> CriteriaExplanation:
    """One deal through the ORM and the explained engine; NotFound when ``user`` may not see it."""
    as_of = as_of or timezone.now()
    opportunity = opportunity_get(user=user, opportunity_id=opportunity_id)
    snapshot = opportunity_snapshot(user=user, opportunity_id=opportunity_id)
    evidence = {
        row.criterion_key: row
        for row in Evidence.objects.filter(opportunity_id=opportunity_id).select_related(
            "recorded_by", "verified_by", "rejected_by", "confirmed_by", "artefact"
        )
    }
    process = process_definition(opportunity.stage.version_id)
    element_scales = methodology_scales()
    backing = _score_backing(opportunity_id)
    stages: list[StageView] = []
    for position, stage in enumerate(process.open_stages):
        views = []
        for criterion in stage.exit_criteria:
            meta: CriterionMeta = criterion_meta(criterion)
            rule = (
                None
                if criterion.rule is None
                else evaluate_rule(criterion.rule, snapshot, as_of, element_scales)
            )
            row = evidence.get(criterion.id)
            fact = evidence_fact(row)
            result = combine(meta, rule, fact)
            how = provenance(meta, rule, fact, score_by=_score_by(criterion, backing))
            views.append(CriterionView(criterion, result.status, result.reason, rule, row, how))
        stages.append(StageView(stage, views, position))
    kind = opportunity.stage.kind
    verdict = verified_stage(
        [s.stage.key for s in stages],
        opportunity.stage.key,
        {s.stage.key: [c.status for c in s.criteria] for s in stages},
        claimed_kind=kind,
    )
    return CriteriaExplanation(
        opportunity=opportunity,
        process=process,
        stages=stages,
        claimed_stage=opportunity.stage.key,
        claimed_kind=kind,
        verified_stage=verdict.verified_stage,
        under_control=verdict.under_control,
        first_gap=verdict.first_gap,
        as_of=as_of,
    )


@dataclass(frozen=True)
class OpportunityInspection:
    """Everything the deal page shows about control: criteria, signals, risk, next actions."""

    criteria: CriteriaExplanation
    signals: list[dict[str, Any]]  # largest contribution to the risk first
    risk: int  # the chance of being lost or slipping, as a whole percent
    next_actions: list[str]
    risk_probability: float = 0.0
    # Applying at the moment inspected: the whole deal (empty signal) or a signal, which then
    # is not among ``signals`` and adds nothing to the risk.
    snoozes: list[Snooze] = field(default_factory=list)

    @property
    def deal_snooze(self) -> Snooze | None:
        return next((z for z in self.snoozes if not z.signal), None)

    @property
    def risk_text(self) -> str:
        """``about 70% likely to slip or be lost: close date past, too long in stage``: the
        (at most three) signals that add most to the risk; one that adds nothing is not named."""
        return risk_sentence(
            self.risk_probability,
            [SIGNAL_LABELS[s["signal"]] for s in self.signals if s["contribution"] > 0],
        )


def inspect_opportunity(
    *, user: User, opportunity_id: int, as_of: datetime | None = None
) -> OpportunityInspection:
    """The explained criteria plus the signals and risk of the set-based inspection (a one-row
    run of the very same code the team list uses)."""
    as_of = as_of or timezone.now()
    criteria = explain_criteria(user=user, opportunity_id=opportunity_id, as_of=as_of)
    signals: list[dict[str, Any]] = []
    risk, probability = 0, 0.0
    if criteria.claimed_kind == StageKind.OPEN:
        result = inspect_pipeline(user=user, as_of=as_of, opportunity_ids=[opportunity_id])
        signals = result.signals.sort(
            ["contribution", "weight"], descending=True, maintain_order=True
        ).to_dicts()
        if result.deals.height:
            risk = int(result.deals["risk"][0])
            probability = float(result.deals["risk_probability"][0])
    actions = (
        next_actions(
            criteria.process,
            criteria.claimed_stage,
            criteria.unmet_ids(),
            [s["signal"] for s in signals],
        )
        if criteria.claimed_kind == StageKind.OPEN
        else []
    )
    snoozes = list(snooze_list(user=user, as_of=as_of, opportunity_ids=[opportunity_id]))
    return OpportunityInspection(criteria, signals, risk, actions, probability, snoozes)
