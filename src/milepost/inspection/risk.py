"""Fit, store and load the risk model of each process version.

The training frame is the closed history of the version's process (deals in any of its
versions, signals by this version's thresholds), reconstructed as of past snapshot dates by
:mod:`milepost.engine.risk_history` (which signals are reconstructed, and how, is written
there). Inspection loads the stored models with :func:`risk_models` (one query), so the
set-based list and the explained per-deal form score with the same model.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, F, FloatField, Value, When
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from milepost.engine import risk_model
from milepost.engine.risk_history import (
    ACTIVITIES_SCHEMA,
    CHANGES_SCHEMA,
    DEALS_SCHEMA,
    MOVES_SCHEMA,
    DealHistory,
    training_frame,
)
from milepost.engine.risk_model import RiskModel
from milepost.engine.signals import SignalSettings
from milepost.inspection.models import RiskModelFit, RiskModelSource
from milepost.inspection.sql_frames import read_frame
from milepost.pipeline.models import Activity, Opportunity, OpportunityChange, StageTransition
from milepost.process.models import ProcessVersion, StageKind
from milepost.process.selectors import process_definition
from milepost.team.models import User


def risk_models(version_ids: Sequence[int]) -> dict[int, RiskModel]:
    """The stored model of each listed version that has one (one query)."""
    rows = RiskModelFit.objects.filter(version_id__in=list(version_ids))
    return {row.version_id: row.as_engine() for row in rows}


def deal_history(version_id: int) -> DealHistory:
    """Every deal of the version's process (in any of its versions) with its dated moves,
    activities and changes.

    Every version, not only this one: publishing a version moves the open deals and leaves
    the closed ones where they were, so a new version's own closed history starts empty.
    The version's thresholds decide the signals (:func:`version_training_frame`).
    """
    process_id = ProcessVersion.objects.values_list("process_id", flat=True).get(pk=version_id)
    deals = Opportunity.objects.filter(stage__version__process_id=process_id).order_by()
    within = {"opportunity__stage__version__process_id": process_id}
    outcome = Case(
        When(stage__kind=StageKind.WON, then=Value("won")),
        When(stage__kind=StageKind.LOST, then=Value("lost")),
        default=Value("open"),
    )
    closed = Case(
        When(stage__kind=StageKind.OPEN, then=Value(None)),
        default=Coalesce(F("closed_at"), F("stage_entered_at")),
    )
    return DealHistory(
        deals=read_frame(
            deals.annotate(
                _outcome=outcome, _closed=closed, _amount=Cast("amount", FloatField())
            ).values_list("id", "created_at", "_closed", "_outcome", "close_date", "_amount"),
            DEALS_SCHEMA,
        ),
        moves=read_frame(
            StageTransition.objects.filter(**within)
            .order_by()
            .values_list("opportunity_id", "moved_at", "to_stage__key", "stage_steps"),
            MOVES_SCHEMA,
        ),
        activities=read_frame(
            Activity.objects.filter(**within)
            .order_by()
            .values_list("opportunity_id", "occurred_at"),
            ACTIVITIES_SCHEMA,
        ),
        changes=read_frame(
            OpportunityChange.objects.filter(**within)
            .order_by()
            .annotate(_amount_from=Cast("amount_from", FloatField()))
            .values_list(
                "opportunity_id",
                "changed_at",
                "close_date_from",
                "close_date_shift_days",
                "_amount_from",
            ),
            CHANGES_SCHEMA,
        ),
    )


def version_training_frame(version_id: int, as_of: datetime) -> pl.DataFrame:
    """The labelled snapshots of the process's deals closed by ``as_of``, with the signals
    as this version's thresholds define them."""
    settings = SignalSettings.of(process_definition(version_id))
    return training_frame(deal_history(version_id), settings, as_of)


def risk_model_fit(
    *,
    user: User | None,
    version_id: int,
    as_of: datetime | None = None,
    min_deals: int = risk_model.MIN_DEALS,
    min_positives: int = risk_model.MIN_POSITIVES,
) -> RiskModelFit:
    """Fit the risk model of one process version on its closed history and store it,
    replacing the previous fit. Admins only (``user`` None: the system, e.g. a command).

    With too little history (``min_deals`` closed deals, ``min_positives`` of them lost or
    slipped) the stored model is the fallback (process weights), with the counts that say why.
    """
    if user is not None and not user.is_admin:
        raise PermissionDenied("only sales-ops admins fit the risk model")
    as_of = as_of or timezone.now()
    settings = SignalSettings.of(process_definition(version_id))
    frame = version_training_frame(version_id, as_of)
    model = risk_model.fit(
        frame,
        settings.weights,
        min_deals=min_deals,
        min_positives=min_positives,
        seed=version_id,
    )
    quality: dict[str, Any] = dict(model.quality)
    with transaction.atomic():
        ProcessVersion.objects.select_for_update().get(pk=version_id)
        fit, _ = RiskModelFit.objects.update_or_create(
            version_id=version_id,
            defaults={
                "source": RiskModelSource(model.source),
                "fitted_at": timezone.now(),
                "history_until": as_of,
                "intercept": model.intercept,
                "coefficients": dict(model.coefficients),
                "deals": int(quality.get("deals", 0)),
                "snapshots": int(quality.get("snapshots", 0)),
                "positives": int(quality.get("positives", 0)),
                "auc": quality.get("auc"),
                "quality": quality,
            },
        )
    return fit


def fit_all(*, user: User | None, as_of: datetime | None = None) -> list[RiskModelFit]:
    """Fit every version that has deals (current or not: old versions still hold deals)."""
    versions = Opportunity.objects.order_by().values_list("stage__version_id", flat=True).distinct()
    return [risk_model_fit(user=user, version_id=vid, as_of=as_of) for vid in sorted(set(versions))]
