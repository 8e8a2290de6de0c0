"""What to tell someone whose edit lost the optimistic-locking race.

"Someone changed this deal" makes the user reload and hunt for the difference; naming who
changed what, and when, lets them judge whether to redo their edit. Amount and close-date
changes are recorded (:class:`~milepost.pipeline.models.OpportunityChange`) and stage moves
too (transitions); for any other write the deal keeps who made it (``updated_by``) and when.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext

from milepost.pipeline.models import Opportunity
from milepost.pipeline.selectors import opportunity_last_change, opportunity_transitions


def _money(value: Decimal) -> str:
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


def _day(value: date) -> str:
    return f"{value:%b} {value.day}, {value.year}"


def _person(user: object | None) -> str:
    return str(user) if user is not None else "Someone"


def conflict_message(opp: Opportunity) -> str:
    """One sentence saying who last changed ``opp`` (as it is now), what and when."""
    at = timezone.localtime(opp.updated_at).strftime("%H:%M")
    change = opportunity_last_change(opportunity=opp)
    if change is not None and change.changed_at == opp.updated_at:  # the last write
        parts = []
        if change.amount_to is not None and change.amount_from is not None:
            parts.append(f"amount from {_money(change.amount_from)} to {_money(change.amount_to)}")
        if change.close_date_to is not None and change.close_date_from is not None:
            parts.append(
                f"close date from {_day(change.close_date_from)} to {_day(change.close_date_to)}"
            )
        who, what = _person(change.changed_by), " and ".join(parts)
        return f"{who} changed {what} at {at}; reload to see it."
    last_move = opportunity_transitions(opportunity=opp).last()
    if last_move is not None and last_move.moved_at == opp.updated_at:
        return (
            f"{_person(last_move.moved_by)} moved the deal to {last_move.to_stage.label} at {at}; "
            "reload to see it."
        )
    if opp.updated_by_id is not None:
        return gettext("%(who)s changed this deal at %(at)s; reload to see it.") % {
            "who": _person(opp.updated_by),
            "at": at,
        }
    return gettext(
        "Someone changed this deal at %(at)s (it is now version %(version)s); reload to see it."
    ) % {"at": at, "version": opp.version}
