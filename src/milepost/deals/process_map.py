"""The deal's process map: every open stage, each exit criterion with its status, reason and
evidence and what the viewer may do about it, the control verdict, the risk breakdown and the
next actions.

Built by :func:`process_map` from one :func:`~milepost.inspection.pipeline.inspect_opportunity`
call. The opportunity page includes it and every evidence action answers with it re-rendered, so
the criterion, the banner, the verified stage and the risk can never disagree.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from milepost.accounts.selectors import contact_list
from milepost.engine.criteria import MET, UNKNOWN
from milepost.engine.process_schema import StageDef
from milepost.engine.signals import SIGNAL_LABELS
from milepost.evidence.models import (
    BuyerClaim,
    Evidence,
    EvidenceEvent,
    EvidenceSource,
    EvidenceState,
)
from milepost.evidence.provenance import by_label, how_label
from milepost.evidence.selectors import evidence_history
from milepost.inspection.deal import (
    CriterionView,
    OpportunityInspection,
    StageView,
    inspect_opportunity,
)
from milepost.process.models import StageKind
from milepost.team.models import User

STATUS_LABELS = {MET: "Met", UNKNOWN: "Unknown", "unmet": "Not met"}


@dataclass
class CriterionRow:
    """One criterion on the map, with what the viewer may do about it."""

    view: CriterionView
    stage: StageDef
    history: list[EvidenceEvent]
    can_record: bool
    can_verify: bool
    can_reject: bool
    can_withdraw: bool
    can_accept: bool = False
    can_reject_claim: bool = False
    error: str = ""
    error_action: str = ""
    flash: str = ""
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.view.criterion.id

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.view.status, self.view.status)

    @property
    def evidence(self) -> Evidence | None:
        return self.view.evidence

    @property
    def how_label(self) -> str:
        """How the criterion is met: rule, methodology score, evidence."""
        return how_label(self.view.provenance.how)

    @property
    def by_label(self) -> str:
        """By whom: the deal's data, rep-claimed, manager-verified, buyer-confirmed via ..."""
        return by_label(self.view.provenance.by)

    @property
    def self_assessed(self) -> bool:
        return self.view.provenance.self_assessed

    @property
    def can_act(self) -> bool:
        return (
            self.can_record
            or self.can_verify
            or self.can_reject
            or self.can_withdraw
            or self.can_accept
            or self.can_reject_claim
        )


@dataclass
class StageRow:
    view: StageView
    rows: list[CriterionRow]
    is_claimed: bool
    is_verified: bool
    is_gap: bool

    @property
    def stage(self) -> StageDef:
        return self.view.stage


@dataclass
class ProcessMap:
    """Everything the process map shows for one deal, as seen by one user."""

    inspection: OpportunityInspection
    stages: list[StageRow]
    stage_labels: dict[str, str]
    contacts: list[Any]
    is_open: bool
    signals: list[dict[str, Any]]
    error: str = ""

    @property
    def opp(self) -> Any:
        return self.inspection.criteria.opportunity

    @property
    def unverified_stages(self) -> set[str]:
        """Open stages with an exit criterion not met (a deal past them is not in control)."""
        return {s.stage.key for s in self.inspection.criteria.stages if not s.all_met}

    @property
    def claimed_label(self) -> str:
        key = self.inspection.criteria.claimed_stage
        return self.stage_labels.get(key, key)

    @property
    def verified_label(self) -> str:
        key = self.inspection.criteria.verified_stage
        return self.stage_labels.get(key, key)

    @property
    def first_gap_label(self) -> str:
        key = self.inspection.criteria.first_gap
        return self.stage_labels.get(key, key) if key else ""

    @property
    def under_control(self) -> bool:
        return self.inspection.criteria.under_control

    @property
    def move_unmet(self) -> list[CriterionRow]:
        """What a move to the next stage would skip: unmet criteria up to the current stage."""
        limit = self.inspection.criteria.claimed_position
        return [
            row
            for stage in self.stages
            if stage.view.position <= limit
            for row in stage.rows
            if row.view.status != MET
        ]

    def row(self, criterion_key: str) -> CriterionRow | None:
        return next((r for s in self.stages for r in s.rows if r.key == criterion_key), None)


def process_map(*, user: User, opportunity_id: int) -> ProcessMap:
    """The map of a deal ``user`` may see (NotFound otherwise)."""
    inspection = inspect_opportunity(user=user, opportunity_id=opportunity_id)
    explanation = inspection.criteria
    opp = explanation.opportunity
    is_open = explanation.claimed_kind == StageKind.OPEN
    is_owner = opp.owner_id == user.pk
    history: dict[str, list[EvidenceEvent]] = defaultdict(list)
    for event in evidence_history(user=user, opportunity_id=opportunity_id):
        history[event.criterion_key].append(event)
    contacts = (
        list(contact_list(user=user, account_id=opp.account_id).order_by("last_name", "id"))
        if opp.account_id and is_open
        else []
    )
    claimed = explanation.claimed_stage
    stages = []
    for stage_view in explanation.stages:
        rows = []
        for view in stage_view.criteria:
            ev = view.evidence
            active = ev is not None and ev.state == EvidenceState.ACTIVE
            reviewer = is_open and not is_owner and active
            claim = ev.buyer_claim if ev is not None else ""
            by_buyer = ev is not None and ev.source == EvidenceSource.BUYER_ACTION
            rows.append(
                CriterionRow(
                    view=view,
                    stage=stage_view.stage,
                    history=history.get(view.criterion.id, []),
                    can_record=is_open,
                    can_verify=is_open and not is_owner and active and ev.verified_by_id is None,
                    can_reject=is_open and not is_owner and active,
                    can_withdraw=is_open and ev is not None and ev.state != EvidenceState.WITHDRAWN,
                    can_accept=reviewer
                    and claim in (BuyerClaim.PENDING, BuyerClaim.REJECTED)
                    and ev.artefact_id is not None
                    and not by_buyer,
                    can_reject_claim=reviewer
                    and claim in (BuyerClaim.PENDING, BuyerClaim.ACCEPTED)
                    and not by_buyer,
                )
            )
        key = stage_view.stage.key
        stages.append(
            StageRow(
                view=stage_view,
                rows=rows,
                is_claimed=key == claimed,
                is_verified=key == explanation.verified_stage,
                is_gap=key == explanation.first_gap,
            )
        )
    # Each signal's odds multiplier (e^contribution), as the inspection explanation shows it.
    signals = [
        {
            **s,
            "label": SIGNAL_LABELS.get(s["signal"], s["signal"]),
            "odds": math.exp(s["contribution"]),
        }
        for s in inspection.signals
    ]
    return ProcessMap(
        inspection=inspection,
        stages=stages,
        stage_labels={s.key: s.label for s in explanation.process.stages},
        contacts=contacts,
        is_open=is_open,
        signals=signals,
    )
