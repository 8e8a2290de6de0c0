"""Closing a deal as won or lost: a gated move to the process's won or lost stage.

The close is a move like any other (:func:`~milepost.inspection.moves.opportunity_move_stage`),
so winning past unmet exit criteria meets the stage gate; what this adds is the choice of the
stage by outcome and that a loss always says why (lost reasons are what win/loss analysis reads).
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext

from milepost.core.errors import InvalidChange
from milepost.inspection.moves import MoveResult, opportunity_move_stage
from milepost.pipeline.selectors import opportunity_get
from milepost.pipeline.validation import clean_deal_fields
from milepost.process.models import Stage, StageKind
from milepost.team.models import User

OUTCOMES = (StageKind.WON, StageKind.LOST)


@transaction.atomic
def opportunity_close(
    *,
    user: User,
    opportunity_id: int,
    outcome: str,
    expected_version: int,
    lost_reason: str = "",
    justification: str = "",
    note: str = "",
) -> MoveResult:
    """Move a visible deal to its process's won or lost stage (``outcome``); lost needs a
    reason. Raises NotFound, VersionConflict, GateBlocked or InvalidChange, writing nothing."""
    if outcome not in OUTCOMES:
        raise InvalidChange(
            gettext("outcome must be won or lost, not %(outcome)r") % {"outcome": outcome},
            field="outcome",
        )
    opp = opportunity_get(user=user, opportunity_id=opportunity_id)
    reason = clean_deal_fields({"lost_reason": lost_reason})["lost_reason"]
    if outcome == StageKind.LOST and not reason:
        raise InvalidChange(gettext("say why the deal was lost"), field="lost_reason")
    stage = (
        Stage.objects.filter(version_id=opp.stage.version_id, kind=outcome)
        .order_by("position")
        .first()
    )
    if stage is None:
        raise InvalidChange(
            gettext("this deal's process has no %(outcome)s stage") % {"outcome": outcome},
            field="outcome",
        )
    return opportunity_move_stage(
        user=user,
        opportunity_id=opportunity_id,
        to_stage_id=stage.pk,
        expected_version=expected_version,
        lost_reason=reason if outcome == StageKind.LOST else "",
        justification=justification,
        note=note,
    )
