"""The pipeline board as the deals pages show it: the pipeline's columns and cards, plus each
visible card's control dot from inspection.

Control needs the criteria evaluated, which is inspection's job (a layer above the pipeline),
so it is joined here, set-based and for the cards on screen only: the board asks for the dots
of its visible cards in one request after the cards are shown (one inspection run per board or
"Show more", never one per card); a moved card gets its own dot with the re-rendered card.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from milepost.inspection.pipeline import Control, control_by_deal
from milepost.pipeline.presentation import BoardCard
from milepost.team.models import User


@dataclass(frozen=True)
class ControlDot:
    opportunity_id: int
    under_control: bool
    label: str


def _label(control: Control) -> str:
    if control.under_control:
        return "Under control"
    return f"Not under control: gap at {control.first_gap_label or control.verified_label}"


def control_dots(*, user: User, opportunity_ids: Sequence[int]) -> list[ControlDot]:
    """The control dot of each listed deal ``user`` may see (others are left out)."""
    controls = control_by_deal(user=user, opportunity_ids=list(dict.fromkeys(opportunity_ids)))
    return [
        ControlDot(pk, c.under_control, _label(c))
        for pk in dict.fromkeys(opportunity_ids)
        if (c := controls.get(pk)) is not None
    ]


def attach_control(*, user: User, cards: Iterable[BoardCard]) -> None:
    """Fill in ``under_control`` and its label on the given cards (one set-based run)."""
    cards = list(cards)
    controls = control_by_deal(user=user, opportunity_ids=[c.pk for c in cards])
    for card in cards:
        control = controls.get(card.pk)
        if control is None:
            continue
        card.under_control = control.under_control
        card.control_label = _label(control)
