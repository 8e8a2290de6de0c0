"""Pipeline write services: transitions, optimistic locking, probability override, permissions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.core.models import AppendOnlyError
from milepost.inspection.moves import opportunity_move_stage
from milepost.pipeline.models import Opportunity, StageTransition
from milepost.pipeline.services import opportunity_update
from milepost.testing.factories import make_opportunity
from milepost.testing.moves import move_as_read

pytestmark = pytest.mark.django_db

# Forward moves past unmet exit criteria need a reason under the default "warn" gate.
JUST = "Buyer confirmed it on the call"


def test_create_starts_in_first_open_stage_and_records_transition(org, processes):
    opp = make_opportunity(org.rep_a1, amount="1200.50")
    assert opp.stage.key == "engage"
    assert opp.probability == opp.stage.default_probability
    (first,) = opp.transitions.all()
    assert first.from_stage is None
    assert first.to_stage == opp.stage
    assert first.amount == Decimal("1200.50")


def test_move_appends_transition_with_values_at_that_moment(org, processes):
    opp = make_opportunity(org.rep_a1)
    result = opportunity_move_stage(
        justification=JUST,
        user=org.rep_a1,
        opportunity_id=opp.pk,
        to_stage_key="discover",
        expected_version=1,
    )
    assert result.opportunity.stage.key == "discover"
    assert result.opportunity.version == 2
    assert result.transition.from_stage.key == "engage"
    assert result.transition.seconds_in_from_stage >= 10 * 86400 - 5
    assert opp.transitions.count() == 2


def test_stale_version_conflicts_and_changes_nothing(org, processes):
    opp = make_opportunity(org.rep_a1, amount="500")
    opportunity_update(
        user=org.rep_a1, opportunity_id=opp.pk, expected_version=1, changes={"amount": "700"}
    )
    with pytest.raises(VersionConflict):
        opportunity_update(
            user=org.rep_a1, opportunity_id=opp.pk, expected_version=1, changes={"amount": "900"}
        )
    opp.refresh_from_db()
    assert opp.amount == Decimal("700")
    assert opp.version == 2


def test_probability_override_is_kept_with_who_and_reset_to_default(org, processes):
    opp = make_opportunity(org.rep_a1)
    opp = opportunity_update(
        user=org.manager_a, opportunity_id=opp.pk, expected_version=1, changes={"probability": 42}
    )
    assert (opp.probability, opp.probability_overridden, opp.probability_set_by) == (
        42,
        True,
        org.manager_a,
    )
    opp = move_as_read(
        justification=JUST, user=org.rep_a1, opportunity_id=opp.pk, to_stage_key="discover"
    ).opportunity
    assert opp.probability == 42  # a person's override survives a move between open stages
    opp = opportunity_update(
        user=org.rep_a1,
        opportunity_id=opp.pk,
        expected_version=opp.version,
        changes={"probability": None},
    )
    assert opp.probability == opp.stage.default_probability
    assert not opp.probability_overridden


@pytest.mark.parametrize("intruder", ["rep_a2", "rep_b1", "manager_b", "rep_solo"])
def test_users_outside_the_line_cannot_move_or_edit(org, processes, intruder):
    opp = make_opportunity(org.rep_a1)
    user = getattr(org, intruder)
    with pytest.raises(NotFound):
        move_as_read(justification=JUST, user=user, opportunity_id=opp.pk, to_stage_key="discover")
    with pytest.raises(NotFound):
        opportunity_update(
            user=user, opportunity_id=opp.pk, expected_version=1, changes={"amount": 1}
        )
    assert StageTransition.objects.filter(opportunity=opp).count() == 1
    assert Opportunity.objects.get(pk=opp.pk).version == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": "-5"}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"currency": "dollars"}, "currency"),
        ({"close_date": "31/12/2026"}, "close_date"),
        ({"probability": 140}, "probability"),
        ({"stage_id": 3}, "stage_id"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(org, processes, changes, field):
    opp = make_opportunity(org.rep_a1, amount="500")
    with pytest.raises(InvalidChange) as info:
        opportunity_update(
            user=org.rep_a1, opportunity_id=opp.pk, expected_version=1, changes=changes
        )
    assert info.value.field == field
    opp.refresh_from_db()
    assert opp.version == 1
    assert opp.amount == Decimal("500")


def test_transitions_are_append_only(org, processes):
    opp = make_opportunity(org.rep_a1)
    row = opp.transitions.get()
    row.note = "rewrite history"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()


def test_move_to_stage_of_other_process_is_refused(org, processes):
    opp = make_opportunity(org.rep_a1)
    with pytest.raises(InvalidChange):
        move_as_read(
            justification=JUST, user=org.rep_a1, opportunity_id=opp.pk, to_stage_key="no_such_stage"
        )


def test_closing_ends_an_override_so_a_reopened_deal_follows_the_stage_again(org, processes):
    opp = make_opportunity(org.rep_a1)
    opp = opportunity_update(
        user=org.manager_a, opportunity_id=opp.pk, expected_version=1, changes={"probability": 42}
    )
    won = move_as_read(
        justification=JUST, user=org.rep_a1, opportunity_id=opp.pk, to_stage_key="won"
    )
    assert won.opportunity.probability == 100
    assert not won.opportunity.probability_overridden
    assert won.opportunity.probability_set_by is None
    reopened = move_as_read(
        justification=JUST, user=org.rep_a1, opportunity_id=opp.pk, to_stage_key="negotiate"
    ).opportunity
    reopened.refresh_from_db()
    assert reopened.probability == reopened.stage.default_probability
    assert reopened.closed_at is None
