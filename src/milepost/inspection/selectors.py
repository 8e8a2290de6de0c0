"""Reads that feed the explained inspection: one deal as an engine snapshot.

Scoped by :func:`milepost.pipeline.selectors.opportunity_get` (the one row-level rule). The
set-based inspection reads the pipeline as aggregates instead (see docs/inspection.md).

Conversions to the engine's types happen here, once: datetimes arrive aware and are kept in
UTC; amounts are ``Decimal`` at the column's own scale; ``account`` and ``product`` are ids.
This module does not evaluate anything and writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from milepost.engine.criteria import ActivityFact, OpportunitySnapshot
from milepost.engine.vocabulary import OPPORTUNITY_FIELDS
from milepost.methodology.models import ElementAssessment
from milepost.pipeline.models import Activity, OpportunityContact
from milepost.pipeline.selectors import opportunity_get
from milepost.team.models import User

# Model attribute for each engine field: foreign keys are read as their ids.
_COLUMNS = {f: f"{f}_id" if f in ("account", "product") else f for f in OPPORTUNITY_FIELDS}


def _as_utc(moment: datetime) -> datetime:
    # USE_TZ gives aware datetimes on both backends; refuse naive ones rather than guess.
    if moment.tzinfo is None:
        raise ValueError("the database returned a naive datetime; USE_TZ must be on")
    return moment.astimezone(UTC)


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
