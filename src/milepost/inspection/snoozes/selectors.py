"""Reads of snoozes, scoped to the asker through the deals they may see (a snooze of a deal
you may not see does not exist for you). Active means "applies at ``as_of``"; nothing expires a
snooze, every read compares with its own moment. Writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
from django.db.models import Q, QuerySet

from milepost.core.errors import NotFound
from milepost.inspection.models import Snooze, SnoozeEvent
from milepost.pipeline.selectors import opportunity_scope
from milepost.team.models import User

SNOOZES_SCHEMA: dict[str, Any] = {
    "opportunity_id": pl.Int64,
    "snooze_id": pl.Int64,
    "signal": pl.String,  # "" snoozes the whole deal
}


def active_q(as_of: datetime) -> Q:
    """Snoozes that apply at ``as_of``: made by then, its UTC day not past ``until``, and not
    ended by then."""
    return Q(created_at__lte=as_of, until__gte=as_of.astimezone(UTC).date()) & (
        Q(ended_at__isnull=True) | Q(ended_at__gt=as_of)
    )


def snooze_scope(*, user: User) -> QuerySet[Snooze]:
    """Every snooze of a deal ``user`` may see."""
    return Snooze.objects.filter(opportunity__in=opportunity_scope(user=user).values("id"))


def snooze_get(*, user: User, snooze_id: int) -> Snooze:
    """One visible snooze or :class:`NotFound` (also when it exists but its deal is hidden)."""
    try:
        return snooze_scope(user=user).select_related("created_by", "ended_by").get(pk=snooze_id)
    except (Snooze.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"snooze {snooze_id} not found") from None


def snooze_list(
    *,
    user: User,
    as_of: datetime,
    opportunity_ids: list[int] | None = None,
    active: bool | None = True,
) -> QuerySet[Snooze]:
    """Snoozes of the visible deals (``opportunity_ids`` narrows), soonest to end first.
    ``active``: True those applying at ``as_of``, False the others, None all."""
    qs = snooze_scope(user=user).select_related("created_by", "ended_by", "opportunity")
    if opportunity_ids is not None:
        qs = qs.filter(opportunity_id__in=opportunity_ids)
    if active is True:
        qs = qs.filter(active_q(as_of))
    elif active is False:
        qs = qs.exclude(active_q(as_of))
    return qs.order_by("until", "id")


def snooze_history(*, user: User, snooze_id: int) -> QuerySet[SnoozeEvent]:
    """The audit of one visible snooze: created and (maybe) ended, by whom, when."""
    snooze = snooze_get(user=user, snooze_id=snooze_id)
    return snooze.events.select_related("actor").order_by("at", "id")


def active_snooze_frame(scope: QuerySet[Any], as_of: datetime) -> pl.DataFrame:
    """:data:`SNOOZES_SCHEMA` rows of the snoozes applying at ``as_of`` to the deals of
    ``scope`` (a queryset of deals, already scoped to the asker). One small query."""
    rows = list(
        Snooze.objects.filter(active_q(as_of), opportunity_id__in=scope.values("id"))
        .order_by("opportunity_id", "id")
        .values_list("opportunity_id", "id", "signal")
    )
    return pl.DataFrame(rows, schema=SNOOZES_SCHEMA, orient="row")
