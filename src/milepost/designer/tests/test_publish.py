"""Publishing a draft moves open deals onto the new version: mapped, recorded, all or nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.db.models import Sum
from django.db.models.query import QuerySet
from django.utils import timezone

from milepost.core.errors import InvalidChange, VersionConflict
from milepost.designer.publish import MappingRequired, draft_publish
from milepost.designer.services import (
    draft_stage_delete,
    draft_stage_update,
    draft_start,
)
from milepost.inspection.moves import opportunity_move_stage
from milepost.pipeline.choices import TransitionSource
from milepost.pipeline.models import Opportunity, StageTransition
from milepost.pipeline.services import opportunity_update
from milepost.process.models import ProcessDraft, ProcessVersion
from milepost.testing.factories import make_opportunity

pytestmark = pytest.mark.django_db


def _index(draft: ProcessDraft, key: str) -> int:
    return next(i for i, s in enumerate(draft.document["stages"]) if s["key"] == key)


@pytest.fixture
def deals(org, processes):
    """Open deals on engage (2), discover (2) and negotiate (1); one won, one lost."""
    made = {
        "engage_1": make_opportunity(org.rep_a1, stage_key="engage", amount="1000"),
        "engage_2": make_opportunity(org.rep_a2, stage_key="engage", amount="2000.50"),
        "discover_1": make_opportunity(org.rep_a1, stage_key="discover", amount="3000"),
        "discover_2": make_opportunity(org.rep_b1, stage_key="discover", amount="4000"),
        "negotiate": make_opportunity(org.rep_solo, stage_key="negotiate", amount="5000"),
        "won": make_opportunity(org.rep_a1, stage_key="won", amount="6000"),
        "lost": make_opportunity(org.rep_a1, stage_key="lost", amount="7000"),
    }
    return made


def _without_discover(org) -> ProcessDraft:
    draft = draft_start(user=org.admin, process_key="new_business")
    return draft_stage_delete(
        user=org.admin,
        draft_id=draft.pk,
        expected_version=draft.version,
        stage=_index(draft, "discover"),
    )


def _snapshot():
    return {
        o.pk: (o.stage_id, o.version, o.amount, o.close_date)
        for o in Opportunity.objects.order_by("pk")
    }


def test_removing_a_stage_with_open_deals_needs_a_mapping_naming_stages_and_counts(org, deals):
    draft = _without_discover(org)
    before, versions, moves = (
        _snapshot(),
        ProcessVersion.objects.count(),
        StageTransition.objects.count(),
    )

    with pytest.raises(MappingRequired) as refused:
        draft_publish(user=org.admin, draft_id=draft.pk, expected_version=draft.version)

    assert [(s.key, s.label, s.open_deals) for s in refused.value.stages] == [
        ("discover", "Discover", 2)
    ]
    assert "Discover (discover): 2 open deals" in str(refused.value)
    assert _snapshot() == before
    assert ProcessVersion.objects.count() == versions
    assert StageTransition.objects.count() == moves
    draft.refresh_from_db()
    assert draft.published_as is None


def test_mapping_must_name_an_open_stage_of_the_new_version(org, deals):
    draft = _without_discover(org)
    for target in ("won", "discover", "nope"):
        with pytest.raises(InvalidChange, match="not an open stage"):
            draft_publish(
                user=org.admin,
                draft_id=draft.pk,
                expected_version=draft.version,
                mapping={"discover": target},
            )
    assert ProcessVersion.objects.filter(process__key="new_business").count() == 1


def test_publish_moves_every_open_deal_with_a_process_change_transition(org, deals):
    draft = _without_discover(org)
    count = Opportunity.objects.count()
    total = Opportunity.objects.aggregate(t=Sum("amount"))["t"]
    before = {o.pk: o for o in Opportunity.objects.select_related("stage")}
    at = timezone.now()

    result = draft_publish(
        user=org.admin,
        draft_id=draft.pk,
        expected_version=draft.version,
        mapping={"discover": "engage"},
        at=at,
    )

    new = result.version
    assert (result.previous.number, new.number, new.is_current) == (1, 2, True)
    assert result.moved == 5
    assert result.moves == {
        ("engage", "engage"): 2,
        ("discover", "engage"): 2,
        ("negotiate", "negotiate"): 1,
    }
    # Nothing lost: the same deals with the same amounts and close dates.
    assert Opportunity.objects.count() == count
    assert Opportunity.objects.aggregate(t=Sum("amount"))["t"] == total
    after = {o.pk: o for o in Opportunity.objects.select_related("stage", "stage__version")}
    for name in ("engage_1", "engage_2", "discover_1", "discover_2", "negotiate"):
        old, opp = before[deals[name].pk], after[deals[name].pk]
        assert opp.stage.version_id == new.pk
        assert opp.stage.key == ("engage" if name.startswith("discover") else old.stage.key)
        assert (opp.amount, opp.close_date) == (old.amount, old.close_date)
        assert opp.version == old.version + 1
        (transition,) = StageTransition.objects.filter(
            opportunity=opp, source=TransitionSource.PROCESS_CHANGE
        )
        assert transition.from_stage_id == old.stage_id
        assert transition.to_stage_id == opp.stage_id
        assert transition.note == "process change v1 -> v2"
        assert transition.stage_steps is None  # never a skip or a step back
        assert transition.moved_by == org.admin
        assert (transition.amount, transition.close_date) == (old.amount, old.close_date)
        if name.startswith("discover"):  # a different stage: time in stage starts again
            assert opp.stage_entered_at == at
            assert transition.seconds_in_from_stage == int(
                (at - old.stage_entered_at).total_seconds()
            )
        else:  # the same stage carries on
            assert opp.stage_entered_at == old.stage_entered_at
            assert transition.seconds_in_from_stage is None
    # Closed deals stay where they closed.
    for name in ("won", "lost"):
        assert after[deals[name].pk].stage_id == before[deals[name].pk].stage_id
        assert not StageTransition.objects.filter(
            opportunity_id=deals[name].pk, source=TransitionSource.PROCESS_CHANGE
        ).exists()
    draft.refresh_from_db()
    assert draft.published_as == new
    assert Decimal(str(after[deals["engage_2"].pk].amount)) == Decimal("2000.50")


def test_a_changed_key_needs_a_mapping_and_a_person_s_forecast_category_is_kept(org, deals):
    opportunity_update(
        user=org.admin,
        opportunity_id=deals["engage_1"].pk,
        expected_version=deals["engage_1"].version,
        changes={"forecast_category": "best_case"},
    )
    draft = draft_start(user=org.admin, process_key="new_business")
    draft = draft_stage_update(
        user=org.admin,
        draft_id=draft.pk,
        expected_version=draft.version,
        stage=_index(draft, "negotiate"),
        key="negotiation",
        label="Negotiation",
    )
    with pytest.raises(MappingRequired) as refused:
        draft_publish(
            user=org.admin,
            draft_id=draft.pk,
            expected_version=draft.version,
            mapping={"discover": "discover"},
        )
    assert [(s.key, s.open_deals) for s in refused.value.stages] == [("negotiate", 1)]

    draft_publish(
        user=org.admin,
        draft_id=draft.pk,
        expected_version=draft.version,
        mapping={"negotiate": "negotiation"},
    )
    moved = Opportunity.objects.select_related("stage").get(pk=deals["negotiate"].pk)
    assert (moved.stage.key, moved.stage.label) == ("negotiation", "Negotiation")
    kept = Opportunity.objects.get(pk=deals["engage_1"].pk)
    assert kept.forecast_category == "best_case"
    default = Opportunity.objects.get(pk=deals["engage_2"].pk)
    assert default.forecast_category == "pipeline"


def test_deals_on_an_older_version_move_too(org, deals):
    first = _without_discover(org)
    draft_publish(
        user=org.admin,
        draft_id=first.pk,
        expected_version=first.version,
        mapping={"discover": "engage"},
    )
    # A deal still on v1 (e.g. created before, never moved): put one back there directly.
    v1_stage = ProcessVersion.objects.get(process__key="new_business", number=1).stages.get(
        key="commit"
    )
    straggler = make_opportunity(org.rep_a1, stage_key="commit")
    Opportunity.objects.filter(pk=straggler.pk).update(stage=v1_stage)

    second = draft_start(user=org.admin, process_key="new_business")
    second = draft_stage_update(
        user=org.admin,
        draft_id=second.pk,
        expected_version=second.version,
        stage=0,
        label="Engage the buyer",
    )
    result = draft_publish(user=org.admin, draft_id=second.pk, expected_version=second.version)

    straggler.refresh_from_db()
    assert straggler.stage.version_id == result.version.pk
    assert straggler.stage.key == "commit"
    notes = set(
        StageTransition.objects.filter(source=TransitionSource.PROCESS_CHANGE).values_list(
            "note", flat=True
        )
    )
    assert notes == {
        "process change v1 -> v2",
        "process change v1 -> v3",
        "process change v2 -> v3",
    }


def test_a_failure_mid_way_writes_nothing(org, deals, monkeypatch):
    draft = _without_discover(org)
    before = _snapshot()
    versions, moves = ProcessVersion.objects.count(), StageTransition.objects.count()
    real = QuerySet.bulk_create

    def failing(self, objs, *args, **kwargs):
        if self.model is StageTransition:
            raise DatabaseError("disk full")
        return real(self, objs, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "bulk_create", failing)
    with pytest.raises(DatabaseError):
        draft_publish(
            user=org.admin,
            draft_id=draft.pk,
            expected_version=draft.version,
            mapping={"discover": "engage"},
        )

    assert _snapshot() == before
    assert ProcessVersion.objects.count() == versions
    assert ProcessVersion.objects.get(process__key="new_business", is_current=True).number == 1
    assert StageTransition.objects.count() == moves
    draft.refresh_from_db()
    assert draft.published_as is None


def test_a_stale_draft_version_is_a_conflict_and_writes_nothing(org, deals):
    draft = draft_start(user=org.admin, process_key="new_business")
    draft_stage_update(
        user=org.admin, draft_id=draft.pk, expected_version=draft.version, stage=0, label="A"
    )
    with pytest.raises(VersionConflict) as conflict:
        draft_stage_update(
            user=org.admin, draft_id=draft.pk, expected_version=draft.version, stage=0, label="B"
        )
    assert conflict.value.current_version == draft.version + 1
    with pytest.raises(VersionConflict):
        draft_publish(user=org.admin, draft_id=draft.pk, expected_version=draft.version)
    draft.refresh_from_db()
    assert draft.document["stages"][0]["label"] == "A"
    assert ProcessVersion.objects.filter(process__key="new_business").count() == 1


def test_after_publishing_deals_keep_moving_within_the_new_version(org, deals):
    draft = _without_discover(org)
    result = draft_publish(
        user=org.admin,
        draft_id=draft.pk,
        expected_version=draft.version,
        mapping={"discover": "engage"},
        at=timezone.now() - timedelta(minutes=1),
    )
    opp = Opportunity.objects.get(pk=deals["engage_1"].pk)
    moved = opportunity_move_stage(
        user=org.admin,
        opportunity_id=opp.pk,
        to_stage_key="commit",
        expected_version=opp.version,
        justification="testing a move after the process change",
    )
    assert moved.opportunity.stage.version_id == result.version.pk


@pytest.mark.parametrize("role", ["rep_a1", "manager_a", "leader"])
def test_only_admins_publish(org, deals, role):
    draft = _without_discover(org)
    with pytest.raises(PermissionDenied):
        draft_publish(
            user=getattr(org, role),
            draft_id=draft.pk,
            expected_version=draft.version,
            mapping={"discover": "engage"},
        )
    assert ProcessVersion.objects.filter(process__key="new_business").count() == 1
