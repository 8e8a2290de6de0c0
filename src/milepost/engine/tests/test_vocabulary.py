"""The engine's vocabulary and the Django choices must never drift apart."""

from __future__ import annotations

import pytest

from milepost.engine import vocabulary as v
from milepost.pipeline.choices import ActivityType, BuyingRole
from milepost.process.models import ForecastCategory, StageKind, Verifier


@pytest.mark.parametrize(
    ("engine_values", "choices"),
    [
        (v.STAGE_KINDS, StageKind),
        (v.FORECAST_CATEGORIES, ForecastCategory),
        (v.VERIFIERS, Verifier),
        (v.BUYING_ROLES, BuyingRole),
        (v.ACTIVITY_TYPES, ActivityType),
    ],
)
def test_engine_vocabulary_matches_django_choices(engine_values, choices):
    assert tuple(engine_values) == tuple(choices.values)
