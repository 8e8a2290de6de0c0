"""Derived per-deal facts that inspection reads instead of aggregating raw history.

Two kinds, both exact copies of what the raw rows say, kept in the same transaction as the
write that changes them:

* :func:`stage_steps` — stored on each :class:`~milepost.pipeline.models.StageTransition` when
  it is written: how many stage positions the move went forward or back. Process versions are
  immutable, so the value never goes stale.
* :class:`~milepost.pipeline.models.ActivitySummary` and
  :class:`~milepost.pipeline.models.ContactEngagement` — recomputed for a set of deals by
  :func:`activity_facts_refresh`, one ``INSERT … SELECT … GROUP BY`` per table (set-based, the
  same SQL for one deal after a logged call and for a million after a bulk load).

Who calls the refresh: the ORM paths (``Activity.save``/``delete``, changes to an activity's
contacts: admin, shell, services) through the receivers in :mod:`milepost.pipeline.signals`;
the bulk paths (the importer's history, the benchmark loader), which bypass signals, call it
themselves for the deals they wrote. :func:`activity_facts_mismatches` compares the stored
facts with a fresh aggregate: the tests run it after every write path, and
``milepost pipeline_facts --check`` runs it on a live database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Q, QuerySet

from milepost.pipeline.choices import ActivityType, BuyingRole, TransitionSource
from milepost.pipeline.models import (
    Activity,
    ActivitySummary,
    BuyingRoleSummary,
    ContactEngagement,
    Opportunity,
    OpportunityContact,
)
from milepost.process.models import StageKind

# The refresh statements carry the deal ids as parameters; SQLite allows 32,766 per statement.
_ID_BATCH = 20_000


def stage_steps(
    from_kind: str | None,
    from_position: int | None,
    to_kind: str,
    to_position: int,
    source: str,
) -> int | None:
    """Stage positions a move went forward (+) or back (-).

    Only for a move a person (or an import of their history) made from an open stage to an
    open or won one; ``None`` for a deal's first stage, a move to lost, a reopening and a
    process change (which maps deals between versions whose positions need not line up).
    """
    if from_kind != StageKind.OPEN or from_position is None:
        return None
    if source == TransitionSource.PROCESS_CHANGE or to_kind == StageKind.LOST:
        return None
    return to_position - from_position


def _summary_aggregates() -> dict[str, Any]:
    aggs: dict[str, Any] = {
        "activities": Count("id"),
        "last_activity_at": Max("occurred_at"),
    }
    for kind in ActivityType.values:
        aggs[f"{kind}_count"] = Count("id", filter=Q(type=kind))
        aggs[f"{kind}_last_at"] = Max("occurred_at", filter=Q(type=kind))
    return aggs


def _summary_source(ids: Sequence[int] | None) -> QuerySet[Any]:
    rows = (
        Activity.objects.all() if ids is None else Activity.objects.filter(opportunity_id__in=ids)
    )
    aggs = _summary_aggregates()
    return (
        rows.order_by()
        .values("opportunity_id")
        .annotate(**aggs)
        .values_list("opportunity_id", *aggs)
    )


def _engagement_source(ids: Sequence[int] | None) -> QuerySet[Any]:
    through = Activity.contacts.through
    rows = (
        through.objects.all()
        if ids is None
        else through.objects.filter(activity__opportunity_id__in=ids)
    )
    return (
        rows.order_by()
        .values("activity__opportunity_id", "contact_id")
        .annotate(last=Max("activity__occurred_at"), n=Count("id"))
        .values_list("activity__opportunity_id", "contact_id", "last", "n")
    )


def _insert_select(model: Any, columns: Sequence[str], source: QuerySet[Any]) -> None:
    """``INSERT INTO model (columns) <the queryset's SELECT>``: set-based, no row in Python.

    Table and column names come from model metadata; values stay parameters of the
    queryset's own SQL.
    """
    meta = model._meta
    qn = connection.ops.quote_name
    target = ", ".join(qn(meta.get_field(c).column) for c in columns)
    sql, params = source.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {qn(meta.db_table)} ({target}) {sql}", params)


def _lock(ids: Sequence[int]) -> None:
    """Two transactions refreshing one deal at once would each delete, then both insert (a
    duplicate key) or one would miss the other's row. Locking the deals first serialises
    them; NO KEY UPDATE does not wait on the key-share locks that inserting a child row takes
    on its deal, so it cannot deadlock against those."""
    list(
        Opportunity.objects.select_for_update(no_key=True)
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _refresh(ids: Sequence[int] | None) -> None:
    summary = ActivitySummary.objects.all()
    engagement = ContactEngagement.objects.all()
    if ids is not None:
        _lock(ids)
        summary = summary.filter(opportunity_id__in=ids)
        engagement = engagement.filter(opportunity_id__in=ids)
    summary._raw_delete(summary.db)  # derived rows: nothing cascades from them
    engagement._raw_delete(engagement.db)
    _insert_select(ActivitySummary, ["opportunity", *_summary_aggregates()], _summary_source(ids))
    _insert_select(
        ContactEngagement,
        ["opportunity", "contact", "last_engaged_at", "activities"],
        _engagement_source(ids),
    )


def activity_facts_refresh(opportunity_ids: Iterable[int] | None) -> None:
    """Recompute the activity summary and contact engagement of these deals (``None``: all).

    Call inside the transaction that wrote the activities, so readers never see one without
    the other.
    """
    with transaction.atomic():  # the deletes and inserts land together, or not at all
        if opportunity_ids is None:
            _refresh(None)
            return
        ids = sorted(set(opportunity_ids))
        for start in range(0, len(ids), _ID_BATCH):
            _refresh(ids[start : start + _ID_BATCH])


def _role_source(ids: Sequence[int] | None) -> QuerySet[Any]:
    rows = (
        OpportunityContact.objects.all()
        if ids is None
        else OpportunityContact.objects.filter(opportunity_id__in=ids)
    )
    # (deal, contact, role) is unique: counting rows counts distinct contacts.
    aggs = {role: Count("id", filter=Q(buying_role=role)) for role in BuyingRole.values}
    return (
        rows.order_by()
        .values("opportunity_id")
        .annotate(**aggs)
        .values_list("opportunity_id", *aggs)
    )


def role_facts_refresh(opportunity_ids: Iterable[int] | None) -> None:
    """Recompute the buying-role counts of these deals (``None``: all), like
    :func:`activity_facts_refresh`."""
    with transaction.atomic():
        if opportunity_ids is None:
            batches: list[list[int] | None] = [None]
        else:
            ids = sorted(set(opportunity_ids))
            batches = [ids[i : i + _ID_BATCH] for i in range(0, len(ids), _ID_BATCH)]
        for batch in batches:
            stored = BuyingRoleSummary.objects.all()
            if batch is not None:
                _lock(batch)
                stored = stored.filter(opportunity_id__in=batch)
            stored._raw_delete(stored.db)
            _insert_select(
                BuyingRoleSummary, ["opportunity", *BuyingRole.values], _role_source(batch)
            )


def deal_facts_refresh(opportunity_ids: Iterable[int] | None) -> None:
    """Every derived fact of these deals: for bulk writers, after their raw inserts."""
    ids = None if opportunity_ids is None else sorted(set(opportunity_ids))
    activity_facts_refresh(ids)
    role_facts_refresh(ids)


def role_facts_mismatches(opportunity_ids: Iterable[int] | None = None) -> list[str]:
    """Deals whose stored buying-role counts differ from their contact roles (empty: none)."""
    ids = None if opportunity_ids is None else sorted(set(opportunity_ids))
    stored = BuyingRoleSummary.objects.all()
    if ids is not None:
        stored = stored.filter(opportunity_id__in=ids)
    want = {row[0]: row for row in _role_source(ids)}
    have = {row[0]: row for row in stored.values_list("opportunity", *BuyingRole.values)}
    return [
        f"buying roles of deal {deal}: stored {have.get(deal)}, contact roles say {want.get(deal)}"
        for deal in sorted(set(want) | set(have))
        if want.get(deal) != have.get(deal)
    ]


def activity_facts_mismatches(opportunity_ids: Iterable[int] | None = None) -> list[str]:
    """Where the stored facts differ from a fresh aggregate of the activities (empty: none).

    One line per difference, naming the deal (and contact), for tests and the ``--check``
    command. Compares whole sets in Python: meant for tests and occasional checks.
    """
    ids = None if opportunity_ids is None else sorted(set(opportunity_ids))
    names = ["opportunity", *_summary_aggregates()]
    stored_summary = ActivitySummary.objects.all()
    stored_engagement = ContactEngagement.objects.all()
    if ids is not None:
        stored_summary = stored_summary.filter(opportunity_id__in=ids)
        stored_engagement = stored_engagement.filter(opportunity_id__in=ids)
    want = {row[0]: row for row in _summary_source(ids)}
    have = {row[0]: row for row in stored_summary.values_list(*names)}
    problems = []
    for deal in sorted(set(want) | set(have)):
        if want.get(deal) != have.get(deal):
            problems.append(
                f"activity summary of deal {deal}: stored {have.get(deal)}, "
                f"activities say {want.get(deal)}"
            )
    want_e = {(r[0], r[1]): r[2:] for r in _engagement_source(ids)}
    have_e = {
        (r[0], r[1]): r[2:]
        for r in stored_engagement.values_list(
            "opportunity_id", "contact_id", "last_engaged_at", "activities"
        )
    }
    for key in sorted(set(want_e) | set(have_e)):
        if want_e.get(key) != have_e.get(key):
            problems.append(
                f"engagement of contact {key[1]} on deal {key[0]}: stored {have_e.get(key)}, "
                f"activities say {want_e.get(key)}"
            )
    return problems


def transition_steps_mismatches(opportunity_ids: Iterable[int] | None = None) -> list[str]:
    """Transitions whose stored ``stage_steps`` differs from their stages (empty: none)."""
    from milepost.pipeline.models import StageTransition

    rows = StageTransition.objects.all()
    if opportunity_ids is not None:
        rows = rows.filter(opportunity_id__in=list(opportunity_ids))
    problems = []
    for tid, opp, fk, fp, tk, tp, source, stored in rows.values_list(
        "id",
        "opportunity_id",
        "from_stage__kind",
        "from_stage__position",
        "to_stage__kind",
        "to_stage__position",
        "source",
        "stage_steps",
    ).iterator(chunk_size=10_000):
        want = stage_steps(fk, fp, tk, tp, source)
        if want != stored:
            problems.append(f"transition {tid} of deal {opp}: stage_steps {stored}, want {want}")
    return problems


__all__ = [
    "activity_facts_mismatches",
    "activity_facts_refresh",
    "deal_facts_refresh",
    "role_facts_mismatches",
    "role_facts_refresh",
    "stage_steps",
    "transition_steps_mismatches",
]
