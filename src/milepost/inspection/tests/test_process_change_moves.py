"""Deals moved by publishing a new process version are not flagged as skipping stages or going
backwards: the designer reorders stages, and positions across versions do not line up."""

from __future__ import annotations

import pytest
from django.utils import timezone

from milepost.designer.publish import draft_publish
from milepost.designer.services import draft_stage_move, draft_start
from milepost.inspection.pipeline import inspect_pipeline
from milepost.pipeline.choices import TransitionSource
from milepost.pipeline.models import StageTransition
from milepost.testing.factories import make_opportunity

pytestmark = pytest.mark.django_db


def _signals(user, deal_id: int) -> set[str]:
    result = inspect_pipeline(user=user, as_of=timezone.now(), opportunity_ids=[deal_id])
    return set(result.signals["signal"].to_list())


def test_reordering_stages_on_publish_is_not_a_step_back_or_a_skip(org, processes) -> None:
    deal = make_opportunity(org.rep_a1, stage_key="commit")
    assert not {"went_backwards", "stage_skipped"} & _signals(org.rep_a1, deal.pk)
    draft = draft_start(user=org.admin, process_key="new_business")
    keys = [s["key"] for s in draft.document["stages"]]
    # Move "commit" up twice: it now comes before "engage"'s successor, far from where it was.
    for _ in range(2):
        draft = draft_stage_move(
            user=org.admin,
            draft_id=draft.pk,
            expected_version=draft.version,
            stage=keys.index("commit"),
            direction="up",
        )
        keys = [s["key"] for s in draft.document["stages"]]
    draft_publish(user=org.admin, draft_id=draft.pk, expected_version=draft.version)
    moved = StageTransition.objects.filter(
        opportunity=deal, source=TransitionSource.PROCESS_CHANGE
    ).get()
    assert moved.to_stage.position < moved.from_stage.position  # a "backwards" position move
    assert not {"went_backwards", "stage_skipped"} & _signals(org.rep_a1, deal.pk)
