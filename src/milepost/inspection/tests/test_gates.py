"""Stage gates on moves: block, warn (with a justification) and open, recorded on the transition."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from milepost.core.models import AppendOnlyError
from milepost.evidence.services import evidence_accept, evidence_record
from milepost.inspection.gates import GateBlocked
from milepost.pipeline.models import (
    Opportunity,
    OpportunityContact,
    StageTransition,
)
from milepost.pipeline.services import opportunity_update
from milepost.process.services import process_load
from milepost.testing.factories import Org, make_contact, make_opportunity
from milepost.testing.moves import move_as_read

pytestmark = pytest.mark.django_db
DEFAULT = Path(__file__).resolve().parents[2] / "process" / "defaults" / "new_business.yaml"


def with_policy(policy: str) -> None:
    """Make the default process's current version use ``policy``."""
    text = DEFAULT.read_text().replace("gate_policy: warn", f"gate_policy: {policy}")
    assert f"gate_policy: {policy}" in text
    process_load(text=text, source_name=f"new_business ({policy})")


def last_transition(deal: Opportunity) -> StageTransition:
    return StageTransition.objects.filter(opportunity=deal).latest("moved_at", "id")


def test_warn_needs_a_justification_and_records_it(org: Org, processes: None) -> None:
    deal = make_opportunity(owner=org.rep_a1)  # in engage, nothing evidenced
    with pytest.raises(GateBlocked) as excinfo:
        move_as_read(user=org.rep_a1, opportunity_id=deal.pk, to_stage_key="commit")
    assert excinfo.value.field == "justification"
    unmet = {u["criterion"] for u in excinfo.value.unmet}
    assert {"buyer_agreed_to_explore", "problem_and_cost_confirmed"} <= unmet
    assert StageTransition.objects.filter(opportunity=deal).count() == 1  # only the creation
    deal.refresh_from_db()
    assert deal.stage.key == "engage"

    result = move_as_read(
        user=org.rep_a1,
        opportunity_id=deal.pk,
        to_stage_key="commit",
        justification="Buyer asked to skip ahead: board decision next week",
    )
    recorded = result.transition.criteria_result
    assert recorded["policy"] == "warn"
    assert recorded["forward"] is True
    assert recorded["justification"] == "Buyer asked to skip ahead: board decision next week"
    assert {u["criterion"] for u in recorded["unmet"]} == unmet
    assert {u["stage"] for u in recorded["unmet"]} == {"engage", "discover"}
    assert last_transition(deal).criteria_result == recorded


def test_block_refuses_until_the_criteria_are_met(org: Org, processes: None) -> None:
    with_policy("block")
    deal = make_opportunity(owner=org.rep_a1)
    with pytest.raises(GateBlocked, match="needs every earlier exit criterion met") as excinfo:
        move_as_read(
            user=org.rep_a1,
            opportunity_id=deal.pk,
            to_stage_key="discover",
            justification="a justification does not open a blocking gate",
        )
    assert excinfo.value.field == "stage"
    assert {u["criterion"] for u in excinfo.value.unmet} == {"buyer_agreed_to_explore"}
    # Meet engage's exit criteria: a meeting in the last 30 days (the account is set).
    deal.activities.create(
        type="meeting", occurred_at=timezone.now(), owner=org.rep_a1, subject="Discovery agreed"
    )
    result = move_as_read(user=org.rep_a1, opportunity_id=deal.pk, to_stage_key="discover")
    assert result.transition.criteria_result["unmet"] == []
    assert result.transition.criteria_result["met"] == 2


def test_open_moves_freely_and_still_records(org: Org, processes: None) -> None:
    with_policy("open")
    deal = make_opportunity(owner=org.rep_a1)
    result = move_as_read(user=org.rep_a1, opportunity_id=deal.pk, to_stage_key="won")
    deal.refresh_from_db()
    assert deal.updated_by == org.rep_a1  # named if a stale writer conflicts with the move
    recorded = result.transition.criteria_result
    assert (recorded["policy"], recorded["forward"]) == ("open", True)
    # won claims every open stage: all six stages' criteria were checked
    assert {u["stage"] for u in recorded["unmet"]} == {
        "engage",
        "discover",
        "commit",
        "evaluate",
        "justify",
        "negotiate",
    }


def test_moving_back_or_to_lost_is_never_gated(org: Org, processes: None) -> None:
    with_policy("block")
    deal = make_opportunity(owner=org.rep_a1, stage_key="evaluate")
    back = move_as_read(user=org.rep_a1, opportunity_id=deal.pk, to_stage_key="discover")
    assert back.transition.criteria_result["forward"] is False
    assert back.transition.criteria_result["unmet"]  # engage's gap is still on record
    lost = move_as_read(
        user=org.rep_a1, opportunity_id=deal.pk, to_stage_key="lost", lost_reason="No budget"
    )
    assert lost.transition.criteria_result["forward"] is False
    assert lost.transition.criteria_result["unmet"] == []


def test_evidence_opens_the_gate(org: Org, processes: None) -> None:
    with_policy("block")
    deal = make_opportunity(owner=org.rep_a1, stage_key="discover")
    contact = make_contact(deal.account)
    deal.activities.create(
        type="meeting", occurred_at=timezone.now(), owner=org.rep_a1, subject="Kick-off"
    )
    with pytest.raises(GateBlocked):
        move_as_read(user=org.rep_a1, opportunity_id=deal.pk, to_stage_key="commit")
    second = make_contact(deal.account)
    meeting = deal.activities.create(
        type="meeting", occurred_at=timezone.now(), owner=org.rep_a1, subject="Stakeholders"
    )
    meeting.contacts.set([contact, second])
    for key in ("problem_and_cost_confirmed", "discovery_recap_accepted"):
        evidence = evidence_record(
            user=org.rep_a1,
            opportunity_id=deal.pk,
            criterion_key=key,
            note="Buyer replied to the recap by email",
            buyer_confirmed=True,
            confirmed_by_id=contact.pk,
            evidence_date=timezone.localdate(),
            artefact_kind="meeting_notes",
            artefact_text="The buyer went through the recap with us and agreed to it.",
        )
        # the rep's claim alone does not open the gate: a manager accepts the artefact
        evidence_accept(
            user=org.manager_a,
            opportunity_id=deal.pk,
            criterion_key=key,
            expected_version=evidence.version,
        )
    OpportunityContact.objects.create(opportunity=deal, contact=contact, buying_role="champion")
    result = move_as_read(user=org.rep_a1, opportunity_id=deal.pk, to_stage_key="commit")
    assert result.opportunity.stage.key == "commit"
    assert result.transition.criteria_result["unmet"] == []


def test_close_date_and_amount_changes_are_kept(org: Org, processes: None) -> None:
    deal = make_opportunity(owner=org.rep_a1, amount="10000")
    old_close = deal.close_date
    opportunity_update(
        user=org.rep_a1,
        opportunity_id=deal.pk,
        expected_version=deal.version,
        changes={"close_date": (old_close + timedelta(days=14)).isoformat(), "amount": "8000"},
    )
    opportunity_update(
        user=org.rep_a1,
        opportunity_id=deal.pk,
        expected_version=deal.version + 1,
        changes={"name": "Renamed"},
    )
    (change,) = deal.changes.all()
    assert (change.close_date_from, change.close_date_shift_days) == (old_close, 14)
    assert (str(change.amount_from), str(change.amount_to)) == ("10000.00", "8000.00")
    assert change.changed_by == org.rep_a1
    change.amount_to = change.amount_from
    with pytest.raises(AppendOnlyError, match="opportunity changes are append-only"):
        change.save()
    with pytest.raises(AppendOnlyError, match="opportunity changes are append-only"):
        change.delete()
