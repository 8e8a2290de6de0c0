"""Evidence writes: who may do what, history, optimistic locking, and nothing half-written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.evidence.models import Evidence, EvidenceEvent
from milepost.evidence.services import (
    evidence_accept,
    evidence_record,
    evidence_reject,
    evidence_verify,
    evidence_withdraw,
)
from milepost.inspection.deal import explain_criteria
from milepost.methodology.services import assessment_record, assessment_verify
from milepost.pipeline.models import Opportunity
from milepost.testing.factories import Org, make_account, make_contact, make_opportunity

pytestmark = pytest.mark.django_db

# Evidence-only criteria of the default process (no rule): a rep-level and a buyer-level one.
REP_LEVEL = "competition_known"  # evaluate, verifier rep
BUYER_LEVEL = "problem_and_cost_confirmed"  # discover, verifier buyer


@pytest.fixture
def deal(org: Org, processes: None) -> Opportunity:
    return make_opportunity(owner=org.rep_a1, stage_key="negotiate")


def status_of(user, deal: Opportunity, key: str) -> tuple[str, str]:
    explanation = explain_criteria(user=user, opportunity_id=deal.pk)
    view = next(c for s in explanation.stages for c in s.criteria if c.criterion.id == key)
    return view.status, view.reason


def test_rep_records_evidence_and_the_criterion_is_met(org: Org, deal: Opportunity) -> None:
    assert status_of(org.rep_a1, deal, REP_LEVEL)[0] == "unmet"
    evidence = evidence_record(
        user=org.rep_a1,
        opportunity_id=deal.pk,
        criterion_key=REP_LEVEL,
        note="Champion named two alternatives and 'do nothing'",
        link="https://crm.example/notes/12",
    )
    assert (evidence.level, evidence.state, evidence.version) == ("rep", "active", 1)
    assert status_of(org.rep_a1, deal, REP_LEVEL) == ("met", "rep-asserted evidence")
    (event,) = EvidenceEvent.objects.filter(evidence=evidence)
    assert (event.action, event.actor, event.note) == ("recorded", org.rep_a1, evidence.note)


def test_buyer_level_needs_the_buyer_and_a_manager_cannot_stand_in(
    org: Org, deal: Opportunity
) -> None:
    evidence = evidence_record(
        user=org.rep_a1, opportunity_id=deal.pk, criterion_key=BUYER_LEVEL, note="They said so"
    )
    assert status_of(org.rep_a1, deal, BUYER_LEVEL)[0] == "unknown"
    evidence = evidence_verify(
        user=org.manager_a,
        opportunity_id=deal.pk,
        criterion_key=BUYER_LEVEL,
        expected_version=evidence.version,
    )
    assert evidence.level == "manager"
    status, reason = status_of(org.manager_a, deal, BUYER_LEVEL)
    assert status == "unknown"
    assert "needs the buyer's confirmation" in reason
    contact = make_contact(deal.account)
    # The rep's claim of buyer confirmation, with meeting notes naming the CFO: pending
    evidence = evidence_record(
        user=org.rep_a1,
        opportunity_id=deal.pk,
        criterion_key=BUYER_LEVEL,
        note="CFO replied to the recap: 1.2M a year",
        buyer_confirmed=True,
        confirmed_by_id=contact.pk,
        evidence_date=timezone.localdate(),
        artefact_kind="meeting_notes",
        artefact_text="Call with the CFO: confirmed the 1.2M yearly cost of manual rework.",
        expected_version=evidence.version,
    )
    assert (evidence.level, evidence.buyer_claim, evidence.source) == ("rep", "pending", "artefact")
    assert (evidence.verified_by, evidence.confirmed_by) == (None, contact)
    assert evidence.artefact.attendee == contact
    assert status_of(org.rep_a1, deal, BUYER_LEVEL) == (
        "unknown",
        "buyer confirmation claimed, awaiting verification",
    )
    evidence = evidence_accept(
        user=org.manager_a,
        opportunity_id=deal.pk,
        criterion_key=BUYER_LEVEL,
        expected_version=evidence.version,
    )
    assert (evidence.level, evidence.buyer_claim, evidence.verified_by) == (
        "buyer",
        "accepted",
        org.manager_a,
    )
    assert status_of(org.rep_a1, deal, BUYER_LEVEL)[0] == "met"
    actions = list(EvidenceEvent.objects.filter(evidence=evidence).values_list("action", flat=True))
    assert actions == ["recorded", "verified", "updated", "accepted"]


def test_nobody_verifies_or_rejects_their_own_deal(org: Org, deal: Opportunity) -> None:
    evidence = evidence_record(
        user=org.rep_a1, opportunity_id=deal.pk, criterion_key=REP_LEVEL, note="Known"
    )
    for action in (evidence_verify, evidence_reject):
        extra = {"reason": "looks wrong"} if action is evidence_reject else {}
        with pytest.raises(InvalidChange, match="your own deal"):
            action(
                user=org.rep_a1,
                opportunity_id=deal.pk,
                criterion_key=REP_LEVEL,
                expected_version=evidence.version,
                **extra,
            )
    evidence.refresh_from_db()
    assert (evidence.version, evidence.level, evidence.state) == (1, "rep", "active")


def test_rejection_overrides_a_met_rule_and_needs_a_reason(org: Org, deal: Opportunity) -> None:
    key = "decision_process_shared"  # rule: MEDDPICC decision process confirmed
    assessment_record(
        user=org.rep_a1,
        opportunity_id=deal.pk,
        pack="meddpicc",
        element="decision_process",
        level="confirmed",
    )
    # the rep's "confirmed" is a claim until their manager verifies it
    assert status_of(org.rep_a1, deal, key)[0] == "unmet"
    assessment_verify(
        user=org.manager_a,
        opportunity_id=deal.pk,
        pack="meddpicc",
        element="decision_process",
        expected_version=1,
    )
    assert status_of(org.rep_a1, deal, key)[0] == "met"
    evidence = evidence_record(
        user=org.rep_a1, opportunity_id=deal.pk, criterion_key=key, note="Buyer told me"
    )
    with pytest.raises(InvalidChange, match="say why") as excinfo:
        evidence_reject(
            user=org.manager_a,
            opportunity_id=deal.pk,
            criterion_key=key,
            reason=" ",
            expected_version=evidence.version,
        )
    assert excinfo.value.field == "reason"
    evidence_reject(
        user=org.manager_a,
        opportunity_id=deal.pk,
        criterion_key=key,
        reason="The steps are ours, not the buyer's decision process",
        expected_version=evidence.version,
    )
    status, reason = status_of(org.rep_a1, deal, key)
    assert status == "unmet"
    assert reason == "evidence rejected: The steps are ours, not the buyer's decision process"


def test_withdrawn_evidence_counts_as_none(org: Org, deal: Opportunity) -> None:
    evidence = evidence_record(
        user=org.rep_a1, opportunity_id=deal.pk, criterion_key=REP_LEVEL, note="Known"
    )
    evidence_withdraw(
        user=org.rep_a1,
        opportunity_id=deal.pk,
        criterion_key=REP_LEVEL,
        expected_version=evidence.version,
    )
    assert status_of(org.rep_a1, deal, REP_LEVEL)[0] == "unmet"


def test_stale_version_changes_nothing(org: Org, deal: Opportunity) -> None:
    evidence = evidence_record(
        user=org.rep_a1, opportunity_id=deal.pk, criterion_key=REP_LEVEL, note="First"
    )
    evidence_record(
        user=org.rep_a1,
        opportunity_id=deal.pk,
        criterion_key=REP_LEVEL,
        note="Second",
        expected_version=1,
    )
    with pytest.raises(VersionConflict):
        evidence_record(
            user=org.rep_a1,
            opportunity_id=deal.pk,
            criterion_key=REP_LEVEL,
            note="Third, from a stale form",
            expected_version=1,
        )
    with pytest.raises(VersionConflict):
        evidence_verify(
            user=org.manager_a, opportunity_id=deal.pk, criterion_key=REP_LEVEL, expected_version=1
        )
    evidence.refresh_from_db()
    assert (evidence.note, evidence.version) == ("Second", 2)
    assert EvidenceEvent.objects.filter(evidence=evidence).count() == 2


def test_other_teams_and_reps_cannot_see_or_touch_evidence(org: Org, deal: Opportunity) -> None:
    evidence_record(user=org.rep_a1, opportunity_id=deal.pk, criterion_key=REP_LEVEL, note="Okay")
    for outsider in (org.rep_a2, org.rep_b1, org.manager_b, org.rep_solo):
        with pytest.raises(NotFound):
            evidence_record(
                user=outsider, opportunity_id=deal.pk, criterion_key=BUYER_LEVEL, note="Hijack"
            )
        with pytest.raises(NotFound):
            evidence_verify(
                user=outsider, opportunity_id=deal.pk, criterion_key=REP_LEVEL, expected_version=1
            )
        with pytest.raises(NotFound):
            evidence_reject(
                user=outsider,
                opportunity_id=deal.pk,
                criterion_key=REP_LEVEL,
                reason="not mine to judge",
                expected_version=1,
            )
        with pytest.raises(NotFound):
            evidence_withdraw(
                user=outsider, opportunity_id=deal.pk, criterion_key=REP_LEVEL, expected_version=1
            )
    assert Evidence.objects.get(criterion_key=REP_LEVEL).version == 1
    assert not Evidence.objects.filter(criterion_key=BUYER_LEVEL).exists()
    # the leader above manager_a and the admin may verify
    evidence_verify(
        user=org.leader, opportunity_id=deal.pk, criterion_key=REP_LEVEL, expected_version=1
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"note": "  "}, "note"),
        ({"link": "javascript:alert(1)"}, "link"),
        ({"link": "not a url"}, "link"),
        ({"evidence_date": "tomorrow"}, "evidence_date"),
        ({"buyer_confirmed": True}, "confirmed_by"),
        ({"buyer_confirmed": True, "confirmed_by_id": "own"}, "artefact_kind"),
        (
            {
                "buyer_confirmed": True,
                "confirmed_by_id": "own",
                "artefact_kind": "meeting_notes",
                "artefact_text": "Long enough notes of the meeting with the buyer.",
            },
            "evidence_date",
        ),
        ({"artefact_kind": "email", "artefact_text": "no headers at all"}, "artefact_text"),
        ({"artefact_kind": "meeting_notes", "artefact_text": "short"}, "artefact_text"),
        ({"artefact_kind": "document"}, "artefact_file"),
        ({"artefact_text": "text without a kind"}, "artefact_kind"),
        ({"confirmed_by_id": "other_account"}, "confirmed_by"),
        ({"criterion_key": "no_such_criterion"}, "criterion"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    org: Org, deal: Opportunity, changes: dict, field: str
) -> None:
    own = make_contact(deal.account)
    other = make_contact(make_account(owner=org.rep_a1))
    values = {
        "user": org.rep_a1,
        "opportunity_id": deal.pk,
        "criterion_key": REP_LEVEL,
        "note": "Fine note",
    }
    values.update(changes)
    if values.get("evidence_date") == "tomorrow":
        values["evidence_date"] = timezone.localdate() + timedelta(days=1)
    if values.get("confirmed_by_id") == "own":
        values["confirmed_by_id"] = own.pk
    if values.get("confirmed_by_id") == "other_account":
        values["confirmed_by_id"] = other.pk
    with pytest.raises(InvalidChange) as excinfo:
        evidence_record(**values)
    assert excinfo.value.field == field
    assert not Evidence.objects.exists()
    assert not EvidenceEvent.objects.exists()


def test_history_is_append_only(org: Org, deal: Opportunity) -> None:
    evidence = evidence_record(
        user=org.rep_a1, opportunity_id=deal.pk, criterion_key=REP_LEVEL, note="Known"
    )
    event = EvidenceEvent.objects.get(evidence=evidence)
    event.note = "rewritten"
    with pytest.raises(RuntimeError, match="append-only"):
        event.save()
    with pytest.raises(RuntimeError, match="append-only"):
        event.delete()


def test_only_a_manager_clears_a_rejection(org: Org, deal: Opportunity) -> None:
    evidence = evidence_record(
        user=org.rep_a1, opportunity_id=deal.pk, criterion_key=REP_LEVEL, note="Known"
    )
    evidence = evidence_reject(
        user=org.manager_a,
        opportunity_id=deal.pk,
        criterion_key=REP_LEVEL,
        reason="Not in the buyer's words",
        expected_version=evidence.version,
    )
    with pytest.raises(InvalidChange, match="only be cleared by a manager"):
        evidence_withdraw(
            user=org.rep_a1,
            opportunity_id=deal.pk,
            criterion_key=REP_LEVEL,
            expected_version=evidence.version,
        )
    assert status_of(org.rep_a1, deal, REP_LEVEL)[1].startswith("evidence rejected")
    evidence_withdraw(
        user=org.manager_a,
        opportunity_id=deal.pk,
        criterion_key=REP_LEVEL,
        expected_version=evidence.version,
    )
    assert status_of(org.rep_a1, deal, REP_LEVEL)[0] == "unmet"
