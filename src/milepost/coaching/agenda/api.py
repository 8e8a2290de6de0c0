"""The agenda draft preview of the REST API: what the next 1:1's agenda would be, written
nowhere. Only someone above the rep may ask (else 404, as for a rep they cannot see).

The operation id is pinned to the one the endpoint had before the coaching app was split into
sub-packages (ninja derives it from the module), so generated clients keep working.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router

from milepost.coaching.agenda import schemas as s
from milepost.coaching.agenda.services import agenda_draft
from milepost.core.schemas import ERRORS

router = Router(tags=["coaching"])


@router.get(
    "/coaching/reps/{rep_id}/agenda-draft",
    response={200: s.AgendaDraftOut, **ERRORS},
    operation_id="milepost_coaching_api_preview_agenda",
)
def preview_agenda(request: HttpRequest, rep_id: int, as_of: datetime | None = None) -> Any:
    """What the next 1:1's agenda would be, generated now; nothing is written."""
    draft, context = agenda_draft(manager=request.auth, rep_id=rep_id, as_of=as_of)
    return {
        "rep_id": rep_id,
        "as_of": context["as_of"],
        "period_end": context["period_end"],
        "deal_items": [dict(asdict(d), amount=str(d.amount)) for d in draft.deal_items],
        "skill_items": [asdict(i) for i in draft.skill_items],
        "carry_over": [asdict(c) for c in draft.carry_over],
    }
