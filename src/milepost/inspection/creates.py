"""Gated creates: a deal created straight into a later stage passes the same gate as a move.

Creating a deal in "negotiate" claims it went through every stage before; without a gate that
was a way around the stage gates a move respects. The deal is first saved in the process's
first open stage, the gate of :mod:`milepost.inspection.gates` judges the jump exactly as it
judges a move (``block`` refuses, ``warn`` needs a justification, what the criteria said is
recorded on the first transition), and a refusal rolls the whole create back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from milepost.inspection.gates import GateBlocked, gate_enforce
from milepost.pipeline.models import Opportunity
from milepost.pipeline.services import opportunity_create
from milepost.pipeline.validation import deal_warnings
from milepost.process.models import Stage, StageKind
from milepost.team.models import User


@dataclass(frozen=True)
class CreateResult:
    opportunity: Opportunity
    warnings: list[str]


@transaction.atomic
def opportunity_create_gated(*, user: User, justification: str = "", **fields: Any) -> CreateResult:
    """Create a deal (``fields`` as for :func:`opportunity_create`) through the stage gate.

    A gate refusal names ``stage_key`` (``block``) or ``justification`` (``warn`` without
    one) and nothing is written. The result carries warnings about allowed but doubtful
    values (a close date already past).
    """

    def gate(opp: Opportunity, target: Stage, at: datetime) -> dict[str, Any]:
        try:
            return gate_enforce(
                user=user, opportunity=opp, target=target, at=at, justification=justification
            )
        except GateBlocked as exc:
            if exc.field == "justification":
                raise
            raise GateBlocked(str(exc), exc.unmet, field="stage_key") from None

    opp = opportunity_create(user=user, gate=gate, **fields)
    warnings = deal_warnings(
        {"close_date": opp.close_date, "next_step_date": opp.next_step_date},
        is_open=opp.stage.kind == StageKind.OPEN,
    )
    return CreateResult(opportunity=opp, warnings=warnings)
