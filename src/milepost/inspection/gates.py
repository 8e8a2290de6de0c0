"""Stage gates: may a deal move forward past exit criteria that are not met?

The process file's ``gate_policy`` decides:

* ``block`` — a forward move past an unmet criterion is refused (the error lists them);
* ``warn`` — the move is allowed with a written justification, recorded on the transition;
* ``open`` — the move is allowed; the unmet criteria are still recorded.

A move *forward* (to a later open stage, or to won) claims every stage before the target has
been passed, so those stages' exit criteria are checked. Moves back and moves to lost claim no
progress and are never gated, but what was unmet is recorded all the same. The result, frozen on
the :class:`~milepost.pipeline.models.StageTransition`, is what the criteria said *at the move*.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext, ngettext

from milepost.core.errors import InvalidChange
from milepost.engine.criteria import MET
from milepost.inspection.deal import explain_criteria
from milepost.pipeline.models import Opportunity
from milepost.process.models import Stage, StageKind
from milepost.team.models import User

MIN_JUSTIFICATION = 10


class GateBlocked(InvalidChange):
    """A ``block`` gate refused the move; ``unmet`` lists the criteria in the way."""

    def __init__(self, message: str, unmet: list[dict[str, str]], field: str = "stage"):
        self.unmet = unmet
        super().__init__(message, field=field)


@dataclass(frozen=True)
class GateResult:
    policy: str
    forward: bool
    unmet: list[dict[str, str]]
    met: int

    def as_json(self, *, at: datetime, justification: str) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "forward": self.forward,
            "evaluated_at": at.isoformat(),
            "met": self.met,
            "unmet": self.unmet,
            "justification": justification,
        }


def gate_check(*, user: User, opportunity: Opportunity, target: Stage, at: datetime) -> GateResult:
    """What the target stage's gate says for ``opportunity`` as it is now."""
    explanation = explain_criteria(user=user, opportunity_id=opportunity.pk, as_of=at)
    process = explanation.process
    open_keys = [s.key for s in process.open_stages]
    current = explanation.claimed_position
    if target.kind == StageKind.WON:
        limit = len(open_keys)
    elif target.kind == StageKind.OPEN and target.key in open_keys:
        limit = open_keys.index(target.key)
    else:
        limit = -1  # lost: no progress claimed
    forward = limit > current
    checked = [s for s in explanation.stages if s.position < max(limit, 0)]
    unmet = [
        {
            "stage": view.stage.key,
            "stage_label": view.stage.label,
            "criterion": c.criterion.id,
            "statement": c.criterion.statement,
            "status": c.status,
            "reason": c.reason,
        }
        for view in checked
        for c in view.criteria
        if c.status != MET
    ]
    met = sum(1 for view in checked for c in view.criteria if c.status == MET)
    return GateResult(process.gate_policy, forward, unmet, met)


def gate_enforce(
    *,
    user: User,
    opportunity: Opportunity,
    target: Stage,
    at: datetime,
    justification: str,
) -> dict[str, Any]:
    """Check the gate; raise when the policy refuses; return what to record on the transition."""
    result = gate_check(user=user, opportunity=opportunity, target=target, at=at)
    justification = (justification or "").strip()
    if result.forward and result.unmet:
        listed = "; ".join(f"{u['stage_label']}: {u['statement']}" for u in result.unmet[:5])
        more = (
            gettext(" and %(n)s more") % {"n": len(result.unmet) - 5}
            if len(result.unmet) > 5
            else ""
        )
        if result.policy == "block":
            raise GateBlocked(
                gettext("%(label)s needs every earlier exit criterion met; not met: %(listed)s")
                % {"label": target.label, "listed": listed + more},
                result.unmet,
            )
        if result.policy == "warn" and len(justification) < MIN_JUSTIFICATION:
            raise GateBlocked(
                ngettext(
                    "%(n)d exit criterion is not met (%(listed)s); say why the deal moves "
                    "anyway (at least %(min)d characters)",
                    "%(n)d exit criteria are not met (%(listed)s); say why the deal moves "
                    "anyway (at least %(min)d characters)",
                    len(result.unmet),
                )
                % {"n": len(result.unmet), "listed": listed + more, "min": MIN_JUSTIFICATION},
                result.unmet,
                field="justification",
            )
    return result.as_json(at=at, justification=justification[:1000])
