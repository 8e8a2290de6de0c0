"""Gated stage moves: the move a person (or the API) asks for, checked by the stage gate.

A move is the pipeline's :func:`~milepost.pipeline.services.stage_change` primitive plus the
process's stage gate (:mod:`milepost.inspection.gates`), which needs the deal's exit criteria
evaluated as of the move. Evaluating criteria is inspection's job, so the gated move lives here,
next to the gate; the pipeline keeps the ungated primitive that imports and process migrations
share (they record what happened, they do not ask permission).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from milepost.core.errors import InvalidChange, check_version
from milepost.inspection.gates import gate_enforce
from milepost.pipeline.choices import TransitionSource
from milepost.pipeline.models import Opportunity, StageTransition
from milepost.pipeline.services import opportunity_lock, stage_change
from milepost.process.models import Stage, StageKind
from milepost.team.models import User


@dataclass(frozen=True)
class MoveResult:
    opportunity: Opportunity
    transition: StageTransition


@transaction.atomic
def opportunity_move_stage(
    *,
    user: User,
    opportunity_id: int,
    to_stage_id: int | None = None,
    to_stage_key: str | None = None,
    expected_version: int | None = None,
    source: str = TransitionSource.USER,
    note: str = "",
    lost_reason: str = "",
    at: datetime | None = None,
    justification: str = "",
) -> MoveResult:
    """Move a deal to another stage of its process version and append the transition.

    The probability follows the new stage's default unless a person overrode it; the forecast
    category follows the stage default. Moving to the stage it is already in is refused. The
    process's stage gate is enforced (see :mod:`milepost.inspection.gates`): a forward move past
    unmet exit criteria is refused (``block``) or needs a ``justification`` (``warn``); what the
    criteria said is recorded on the transition either way.
    """
    opp = opportunity_lock(user=user, opportunity_id=opportunity_id)
    check_version(opp.version, expected_version, what="opportunity")
    stages = Stage.objects.filter(version_id=opp.stage.version_id)
    try:
        target = (
            stages.get(pk=to_stage_id) if to_stage_id is not None else stages.get(key=to_stage_key)
        )
    except (Stage.DoesNotExist, ValueError):
        wanted = to_stage_id if to_stage_id is not None else to_stage_key
        raise InvalidChange(
            gettext("stage %(wanted)r is not part of this deal's process") % {"wanted": wanted},
            field="stage",
        ) from None
    if target.pk == opp.stage_id:
        raise InvalidChange(
            gettext("the deal is already in %(label)s") % {"label": target.label}, field="stage"
        )
    now = at or timezone.now()
    if now < opp.stage_entered_at:
        raise InvalidChange(
            gettext("a move cannot be dated before the deal entered its stage"), field="at"
        )
    criteria_result = gate_enforce(
        user=user, opportunity=opp, target=target, at=now, justification=justification
    )
    transition = stage_change(
        opportunity=opp, target=target, at=now, moved_by=user, source=source, note=note
    )
    transition.criteria_result = criteria_result
    transition.save()
    if target.kind == StageKind.LOST and lost_reason:
        opp.lost_reason = lost_reason[:200]
    opp.updated_at = now
    opp.version += 1
    opp.save()
    return MoveResult(opportunity=opp, transition=transition)
