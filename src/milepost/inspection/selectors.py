"""Reads that feed the inspection engine: the pipeline as Polars frames, one deal as a snapshot.

Both forms come from the same rows, scoped by :func:`milepost.pipeline.selectors.opportunity_scope`
(the one row-level rule), so a user's frames hold only the deals, roles, activities and activity
contacts they may see. :func:`pipeline_frames` costs a fixed number of queries (one per frame,
plus what the scope itself needs) however large the pipeline; nothing here loops per deal.

Conversions to the engine's types happen here, once: datetimes arrive aware and are stored as
``Datetime("us", "UTC")``; amounts are ``Decimal`` at the column's own scale; ``account`` and
``product`` are ids. This module does not evaluate anything and writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
from django.db.models import QuerySet, Subquery

from milepost.engine.criteria import ActivityFact, OpportunitySnapshot
from milepost.engine.criteria_frames import (
    ACTIVITIES_SCHEMA,
    ACTIVITY_CONTACTS_SCHEMA,
    CONTACT_ROLES_SCHEMA,
    ELEMENT_LEVELS_SCHEMA,
    opportunity_schema,
)
from milepost.engine.vocabulary import OPPORTUNITY_FIELDS
from milepost.methodology.models import ElementAssessment
from milepost.pipeline.models import Activity, Opportunity, OpportunityContact
from milepost.pipeline.selectors import opportunity_get, opportunity_scope
from milepost.process.models import ExitCriterion, Stage, StageKind
from milepost.team.models import User

CHUNK_SIZE = 2000
AMOUNT_SCALE = Opportunity._meta.get_field("amount").decimal_places
# Model attribute for each engine field: foreign keys are read as their ids.
_COLUMNS = {f: f"{f}_id" if f in ("account", "product") else f for f in OPPORTUNITY_FIELDS}
# Extra opportunity columns (ignored by evaluate_criteria_frame) for the verified stage.
CLAIM_SCHEMA: dict[str, Any] = {
    "opportunity_id": pl.Int64,
    "claimed_stage_key": pl.String,
    "claimed_kind": pl.String,
    "process_version_id": pl.Int64,
}
_CLAIM_COLUMNS = ("stage__key", "stage__kind", "stage__version_id")


@dataclass(frozen=True)
class PipelineFrames:
    """The four inputs of :func:`milepost.engine.criteria_frames.evaluate_criteria_frame`.

    ``opportunities`` also carries ``claimed_stage_key``, ``claimed_kind`` and
    ``process_version_id`` (the engine ignores extra columns); :attr:`claims` selects them in
    the shape :func:`~milepost.engine.criteria_frames.verified_stage_frame` expects.
    """

    opportunities: pl.DataFrame
    contact_roles: pl.DataFrame
    activities: pl.DataFrame
    activity_contacts: pl.DataFrame
    element_levels: pl.DataFrame

    @property
    def inputs(self) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        return self.opportunities, self.contact_roles, self.activities, self.activity_contacts

    @property
    def claims(self) -> pl.DataFrame:
        return self.opportunities.select("opportunity_id", "claimed_stage_key", "claimed_kind")


def _as_utc(moment: datetime) -> datetime:
    # USE_TZ gives aware datetimes on both backends; refuse naive ones rather than guess.
    if moment.tzinfo is None:
        raise ValueError("the database returned a naive datetime; USE_TZ must be on")
    return moment.astimezone(UTC)


def _scope(
    *, user: User, opportunity_ids: list[int] | None, process_version_id: int | None
) -> QuerySet[Opportunity]:
    scope = opportunity_scope(user=user)
    if opportunity_ids is not None:
        scope = scope.filter(pk__in=list(opportunity_ids))
    if process_version_id is not None:
        scope = scope.filter(stage__version_id=process_version_id)
    return scope.order_by()


def pipeline_frames(
    *,
    user: User,
    opportunity_ids: list[int] | None = None,
    process_version_id: int | None = None,
) -> PipelineFrames:
    """Every opportunity ``user`` may see (narrowed by ids / process version) as engine frames.

    Five queries (one per frame) plus the scope's own look-up of visible users, whatever the
    pipeline's size. Ids the user may not see are silently absent, never an error.
    """
    scope = _scope(
        user=user, opportunity_ids=opportunity_ids, process_version_id=process_version_id
    )
    visible = Subquery(scope.values("id"))
    fields = [_COLUMNS[f] for f in OPPORTUNITY_FIELDS]
    opportunity_rows = scope.order_by("id").values_list("id", *fields, *_CLAIM_COLUMNS)
    opportunities = pl.DataFrame(
        list(opportunity_rows.iterator(chunk_size=CHUNK_SIZE)),
        schema={**opportunity_schema(AMOUNT_SCALE), **CLAIM_SCHEMA},
        orient="row",
    )
    roles = pl.DataFrame(
        list(
            OpportunityContact.objects.filter(opportunity_id__in=visible)
            .order_by("opportunity_id", "contact_id", "buying_role")
            .values_list("opportunity_id", "contact_id", "buying_role")
            .iterator(chunk_size=CHUNK_SIZE)
        ),
        schema=CONTACT_ROLES_SCHEMA,
        orient="row",
    )
    activities = pl.DataFrame(
        [
            (opportunity_id, activity_id, kind, _as_utc(at))
            for opportunity_id, activity_id, kind, at in Activity.objects.filter(
                opportunity_id__in=visible
            )
            .order_by("opportunity_id", "id")
            .values_list("opportunity_id", "id", "type", "occurred_at")
            .iterator(chunk_size=CHUNK_SIZE)
        ],
        schema=ACTIVITIES_SCHEMA,
        orient="row",
    )
    activity_contacts = pl.DataFrame(
        list(
            Activity.contacts.through.objects.filter(activity__opportunity_id__in=visible)
            .order_by("activity_id", "contact_id")
            .values_list("activity_id", "contact_id")
            .iterator(chunk_size=CHUNK_SIZE)
        ),
        schema=ACTIVITY_CONTACTS_SCHEMA,
        orient="row",
    )
    element_levels = pl.DataFrame(
        list(
            ElementAssessment.objects.filter(opportunity_id__in=visible)
            .order_by("opportunity_id", "pack", "element")
            .values_list("opportunity_id", "pack", "element", "level")
            .iterator(chunk_size=CHUNK_SIZE)
        ),
        schema=ELEMENT_LEVELS_SCHEMA,
        orient="row",
    )
    return PipelineFrames(opportunities, roles, activities, activity_contacts, element_levels)


def opportunity_snapshot(*, user: User, opportunity_id: int) -> OpportunitySnapshot:
    """One deal as the explained form sees it; :class:`NotFound` when ``user`` may not see it.

    Five queries: the deal (through the row-level rule), its roles, its activities, the
    activities' contacts and its methodology element scores.
    """
    opportunity = opportunity_get(user=user, opportunity_id=opportunity_id)
    roles = tuple(
        OpportunityContact.objects.filter(opportunity_id=opportunity.pk)
        .order_by("contact_id", "buying_role")
        .values_list("contact_id", "buying_role")
    )
    contacts: dict[int, list[int]] = defaultdict(list)
    for activity_id, contact_id in (
        Activity.contacts.through.objects.filter(activity__opportunity_id=opportunity.pk)
        .order_by("activity_id", "contact_id")
        .values_list("activity_id", "contact_id")
    ):
        contacts[activity_id].append(contact_id)
    activities = tuple(
        ActivityFact(type=kind, occurred_at=_as_utc(at), contact_ids=tuple(contacts[pk]))
        for pk, kind, at in Activity.objects.filter(opportunity_id=opportunity.pk)
        .order_by("id")
        .values_list("id", "type", "occurred_at")
    )
    elements = tuple(
        ElementAssessment.objects.filter(opportunity_id=opportunity.pk)
        .order_by("pack", "element")
        .values_list("pack", "element", "level")
    )
    return OpportunitySnapshot(
        id=opportunity.pk,
        **{f: getattr(opportunity, _COLUMNS[f]) for f in OPPORTUNITY_FIELDS},
        contact_roles=roles,
        activities=activities,
        elements=elements,
    )


def stage_criteria(*, version_id: int) -> list[tuple[str, Any]]:
    """``(criterion key, rule JSON or None)`` for every exit criterion of a process version.

    In stage order, then criterion order. Keys identify criteria across the whole version (the
    process schema keeps them unique), which is what the set-based evaluation needs.
    """
    rows = list(
        ExitCriterion.objects.filter(stage__version_id=version_id)
        .order_by("stage__position", "position")
        .values_list("key", "rule")
    )
    keys = [key for key, _ in rows]
    if len(set(keys)) != len(keys):
        raise ValueError(f"exit criterion keys repeat within process version {version_id}")
    return rows


def criterion_stages(*, version_id: int) -> dict[str, str]:
    """Criterion key → key of the stage it is an exit criterion of."""
    return dict(
        ExitCriterion.objects.filter(stage__version_id=version_id).values_list("key", "stage__key")
    )


def open_stage_keys(*, version_id: int) -> list[str]:
    """The version's open stages, in order (what the verified stage is measured against)."""
    return list(
        Stage.objects.filter(version_id=version_id, kind=StageKind.OPEN)
        .order_by("position")
        .values_list("key", flat=True)
    )
