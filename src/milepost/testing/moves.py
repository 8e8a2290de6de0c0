"""Stage moves in tests that are not about optimistic locking.

A move must name the version the caller read (issue 14); tests that only care about what a
move does read it just before, as a page or a client would.
"""

from __future__ import annotations

from typing import Any

from milepost.inspection.moves import MoveResult, opportunity_move_stage
from milepost.pipeline.models import Opportunity


def move_as_read(**kwargs: Any) -> MoveResult:
    """``opportunity_move_stage`` with the deal's current version as the expected one."""
    version = Opportunity.objects.only("version").get(pk=kwargs["opportunity_id"]).version
    return opportunity_move_stage(expected_version=version, **kwargs)
