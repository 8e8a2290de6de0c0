"""Reads that feed the explained inspection: one deal as an engine snapshot; and the risk
models as the admin page shows them.

Scoped by :func:`milepost.pipeline.selectors.opportunity_get` (the one row-level rule). The
set-based inspection reads the pipeline as aggregates instead (see docs/inspection.md).

Conversions to the engine's types happen here, once: datetimes arrive aware and are kept in
UTC; amounts are ``Decimal`` at the column's own scale; ``account`` and ``product`` are ids.
This module does not evaluate anything and writes nothing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from milepost.engine.criteria import ActivityFact, OpportunitySnapshot
from milepost.engine.process_schema import SIGNALS
from milepost.engine.risk_history import RECONSTRUCTED
from milepost.engine.risk_model import RiskModel
from milepost.engine.signals import SIGNAL_LABELS
from milepost.engine.vocabulary import OPPORTUNITY_FIELDS
from milepost.inspection.models import RiskModelFit
from milepost.methodology.models import ElementAssessment
from milepost.pipeline.models import Activity, Opportunity, OpportunityContact
from milepost.pipeline.selectors import opportunity_get
from milepost.process.models import ProcessVersion
from milepost.process.selectors import process_definitions
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
        # The level that counts: a rep's claim above what they may set is not counted yet.
        ElementAssessment.objects.filter(opportunity_id=opportunity.pk)
        .order_by("pack", "element")
        .values_list("pack", "element", "verified_level")
    )
    return OpportunitySnapshot(
        id=opportunity.pk,
        **{f: getattr(opportunity, _COLUMNS[f]) for f in OPPORTUNITY_FIELDS},
        contact_roles=roles,
        activities=activities,
        elements=elements,
    )


@dataclass(frozen=True)
class RiskModelView:
    """One process version's risk model as the admin page shows it."""

    version: ProcessVersion
    fit: RiskModelFit | None  # None: never fitted, the process weights are used
    model: RiskModel
    signals: list[dict[str, Any]]  # label, coefficient, odds, alone (chance), fired, learnt

    @property
    def base_chance(self) -> float:
        return self.model.probability([])


def risk_model_overview(*, user: User) -> list[RiskModelView]:
    """The risk model of every process version that holds deals or has a fit (admins only):
    the stored fit, or the fallback the inspection uses without one. Read-only."""
    if not user.is_admin:
        raise PermissionDenied("only sales-ops admins see the risk model")
    fits = {f.version_id: f for f in RiskModelFit.objects.all()}
    in_use = set(Opportunity.objects.order_by().values_list("stage__version_id", flat=True))
    versions = (
        ProcessVersion.objects.filter(Q(pk__in=in_use) | Q(pk__in=list(fits)))
        .select_related("process")
        .order_by("process__name", "-number")
    )
    definitions = process_definitions([v.pk for v in versions])
    out = []
    for version in versions:
        fit = fits.get(version.pk)
        weights = definitions[version.pk].thresholds
        model = (
            fit.as_engine()
            if fit is not None
            else RiskModel.fallback({s: weights.weight(s) for s in SIGNALS})
        )
        fired = (fit.quality.get("fired") or {}) if fit is not None else {}
        signals = [
            {
                "signal": s,
                "label": label,
                "coefficient": model.coefficient(s),
                "odds": math.exp(model.coefficient(s)),
                "alone": model.probability([s]),
                "fired": fired.get(s),
                "learnt": model.source == "fallback" or s in RECONSTRUCTED,
            }
            for s, label in SIGNAL_LABELS.items()
        ]
        signals.sort(key=lambda row: -row["coefficient"])
        out.append(RiskModelView(version, fit, model, signals))
    return out
