"""Reads for the pipeline, always scoped to the user who asks.

The row rule: a user sees opportunities owned by anyone in
:func:`milepost.team.selectors.visible_user_ids` (self for a rep, the whole team below for a
manager or leader, everyone for an admin). Accounts and contacts are visible when the user may
see an opportunity on them, or when someone visible owns the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber

from milepost.core.errors import NotFound
from milepost.pipeline.models import (
    Activity,
    Opportunity,
    OpportunityChange,
    OpportunityContact,
    StageTransition,
)
from milepost.team.models import User
from milepost.team.selectors import team_members, visible_user_ids


def opportunity_scope(*, user: User) -> QuerySet[Opportunity]:
    """Every opportunity ``user`` may see; all other opportunity reads start here.

    Archived deals are left out: they are kept for their history, not worked.
    """
    ids = visible_user_ids(user)
    qs = Opportunity.objects.filter(archived_at__isnull=True)
    return qs if ids is None else qs.filter(owner_id__in=ids)


def archived_opportunity_list(*, user: User) -> QuerySet[Opportunity]:
    """Archived deals, for admins only (everyone else gets none), newest archive first."""
    if not (user.is_authenticated and user.is_active and user.is_admin):
        return Opportunity.objects.none()
    return (
        Opportunity.objects.filter(archived_at__isnull=False)
        .select_related("account", "owner", "archived_by", "stage")
        .order_by("-archived_at", "-id")
    )


@dataclass(frozen=True)
class OpportunityFilters:
    """What a list may be narrowed by. ``status`` is open / won / lost / all."""

    owner_id: int | None = None
    team_of: int | None = None
    process_key: str | None = None
    stage_key: str | None = None
    status: str = "open"
    forecast_category: str | None = None
    close_from: date | None = None
    close_to: date | None = None
    search: str | None = None
    account_id: int | None = None


def opportunity_list(
    *, user: User, filters: OpportunityFilters | None = None
) -> QuerySet[Opportunity]:
    """Opportunities visible to ``user``, narrowed by ``filters``, with what lists display."""
    f = filters or OpportunityFilters()
    qs = opportunity_scope(user=user).select_related(
        "account", "owner", "stage", "stage__version__process", "product"
    )
    if f.team_of is not None:
        members = team_members(user=user, manager_id=f.team_of)
        qs = qs.filter(owner_id__in=members or [])
    if f.owner_id is not None:
        qs = qs.filter(owner_id=f.owner_id)
    if f.process_key:
        qs = qs.filter(stage__version__process__key=f.process_key)
    if f.stage_key:
        qs = qs.filter(stage__key=f.stage_key)
    if f.status in ("open", "won", "lost"):
        qs = qs.filter(stage__kind=f.status)
    if f.forecast_category:
        qs = qs.filter(forecast_category=f.forecast_category)
    if f.close_from:
        qs = qs.filter(close_date__gte=f.close_from)
    if f.close_to:
        qs = qs.filter(close_date__lte=f.close_to)
    if f.account_id is not None:
        qs = qs.filter(account_id=f.account_id)
    if f.search:
        qs = qs.filter(
            Q(name__icontains=f.search)
            | Q(account__name__icontains=f.search)
            | Q(external_id__iexact=f.search)
        )
    return qs


def opportunity_get(*, user: User, opportunity_id: int) -> Opportunity:
    """One visible opportunity or :class:`NotFound` (also when it exists but is not visible)."""
    try:
        return opportunity_list(user=user, filters=OpportunityFilters(status="all")).get(
            pk=opportunity_id
        )
    except (Opportunity.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"opportunity {opportunity_id} not found") from None


def opportunity_transitions(*, opportunity: Opportunity) -> QuerySet[StageTransition]:
    return opportunity.transitions.select_related("from_stage", "to_stage", "moved_by").order_by(
        "moved_at", "id"
    )


def opportunity_activities(*, opportunity: Opportunity) -> QuerySet[Activity]:
    return opportunity.activities.select_related("owner").prefetch_related("contacts")


def opportunity_contacts(*, opportunity: Opportunity) -> QuerySet[OpportunityContact]:
    return opportunity.contact_roles.select_related("contact")


# What a board card shows; everything else on the deal row stays in the database.
BOARD_CARD_FIELDS = (
    "id",
    "name",
    "version",
    "amount",
    "currency",
    "close_date",
    "account__name",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "stage__key",
    "stage__kind",
)
BOARD_ORDER = ("close_date", "id")


def _board_rows(
    *, user: User, filters: OpportunityFilters | None, stage_keys: list[str]
) -> QuerySet[Opportunity]:
    """The board's deals, filtered and scoped, for the aggregate and the card rows."""
    return opportunity_list(user=user, filters=filters).filter(stage__key__in=stage_keys)


@dataclass(frozen=True)
class BoardColumnData:
    """One board column's numbers and its first ``per_column`` deals (by close date), as plain
    rows of :data:`BOARD_CARD_FIELDS`: a board is hundreds of cards, and model instances with
    their related rows cost more than the query."""

    stage_key: str
    count: int
    totals: dict[str, Decimal]  # currency -> sum of amounts
    rows: list[dict[str, Any]]


def board_numbers(
    *, user: User, filters: OpportunityFilters | None, stage_keys: list[str]
) -> dict[str, tuple[int, dict[str, Decimal]]]:
    """Count and per-currency total of every matching deal per stage: one ``GROUP BY``."""
    numbers: dict[str, tuple[int, dict[str, Decimal]]] = {k: (0, {}) for k in stage_keys}
    rows = (
        _board_rows(user=user, filters=filters, stage_keys=stage_keys)
        .order_by()
        .values("stage__key", "currency")
        .annotate(n=Count("id"), total=Sum("amount"))
    )
    for row in rows:
        count, totals = numbers[row["stage__key"]]
        totals[row["currency"]] = row["total"] or Decimal("0")
        numbers[row["stage__key"]] = (count + row["n"], totals)
    return numbers


def opportunity_board(
    *,
    user: User,
    filters: OpportunityFilters | None = None,
    stage_keys: list[str],
    per_column: int = 20,
) -> dict[str, BoardColumnData]:
    """The deals of a pipeline board, grouped by stage key, in two queries whatever the size.

    Counts and totals cover every matching deal; the card rows stop at ``per_column`` (a
    window function ranks deals per stage by close date, portable to SQLite and PostgreSQL).
    """
    numbers = board_numbers(user=user, filters=filters, stage_keys=stage_keys)
    ranked = (
        _board_rows(user=user, filters=filters, stage_keys=stage_keys)
        .annotate(
            board_rank=Window(
                RowNumber(),
                partition_by=[F("stage__key")],
                order_by=[F("close_date").asc(), F("id").asc()],
            )
        )
        .filter(board_rank__lte=per_column)
        .order_by(*BOARD_ORDER)
        .values(*BOARD_CARD_FIELDS)
    )
    cards: dict[str, list[dict[str, Any]]] = {k: [] for k in stage_keys}
    for row in ranked:
        cards[row["stage__key"]].append(row)
    return {
        key: BoardColumnData(
            stage_key=key, count=numbers[key][0], totals=numbers[key][1], rows=cards[key]
        )
        for key in stage_keys
    }


def opportunity_last_change(*, opportunity: Opportunity) -> OpportunityChange | None:
    """The deal's latest amount / close-date change, if it is its latest write (so a conflict
    message can say who changed what); None when the latest write was something else."""
    change = (
        OpportunityChange.objects.filter(opportunity=opportunity)
        .select_related("changed_by")
        .order_by("-changed_at", "-id")
        .first()
    )
    if change is None or change.changed_at != opportunity.updated_at:
        return None
    return change


# --- activities by id and by account (the deal and account pages) ---------------------------


def activity_get(*, user: User, opportunity_id: int, activity_id: int) -> Activity:
    """One activity of a deal ``user`` may see, or :class:`NotFound`."""
    opp = opportunity_get(user=user, opportunity_id=opportunity_id)
    try:
        return opportunity_activities(opportunity=opp).get(pk=activity_id)
    except (Activity.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"activity {activity_id} not found on this opportunity") from None


def account_activities(*, user: User, account_id: int, limit: int = 20) -> list[Activity]:
    """The latest activities on the deals of one account that ``user`` may see."""
    deals = opportunity_scope(user=user).filter(account_id=account_id).values("id")
    return list(
        Activity.objects.filter(opportunity_id__in=deals)
        .select_related("owner", "opportunity")
        .prefetch_related("contacts")
        .order_by("-occurred_at", "-id")[:limit]
    )


def opportunity_board_page(
    *,
    user: User,
    filters: OpportunityFilters | None,
    stage_key: str,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], bool]:
    """One more page of a board column (same order as :func:`opportunity_board`) and whether
    deals remain after it; one query (``limit + 1`` rows tell whether there are more)."""
    rows = list(
        _board_rows(user=user, filters=filters, stage_keys=[stage_key])
        .order_by(*BOARD_ORDER)
        .values(*BOARD_CARD_FIELDS)[offset : offset + limit + 1]
    )
    return rows[:limit], len(rows) > limit


def opportunity_board_card(*, user: User, opportunity_id: int) -> dict[str, Any]:
    """One deal as a board card row (after a move re-renders its card); NotFound if hidden."""
    row = (
        opportunity_list(user=user, filters=OpportunityFilters(status="all"))
        .filter(pk=opportunity_id)
        .values(*BOARD_CARD_FIELDS)
        .first()
    )
    if row is None:
        raise NotFound(f"opportunity {opportunity_id} not found")
    return row
