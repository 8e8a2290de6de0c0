"""Evidence combined with rules: the table of cases, and both forms agreeing on every input."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from milepost.engine.criteria import MET, UNKNOWN, UNMET, OpportunitySnapshot, RuleResult
from milepost.engine.evidence import (
    CriterionMeta,
    EvidenceFact,
    Provenance,
    combine,
    criterion_meta,
    provenance,
)
from milepost.engine.process_schema import ExitCriterionDef
from milepost.engine.tests.control_harness import STAGE, control

AS_OF = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)

EVIDENCE_ONLY_BUYER = CriterionMeta("c", "buyer", needs_evidence=True, has_rule=False)
EVIDENCE_ONLY_REP = CriterionMeta("c", "rep", needs_evidence=True, has_rule=False)
RULE_ONLY = CriterionMeta("c", "manager", needs_evidence=False, has_rule=True)
RULE_AND_EVIDENCE = CriterionMeta("c", "manager", needs_evidence=True, has_rule=True)


@pytest.mark.parametrize(
    ("meta", "rule", "evidence", "status", "reason"),
    [
        (EVIDENCE_ONLY_BUYER, None, None, UNMET, "no evidence recorded (needs the buyer's"),
        (EVIDENCE_ONLY_BUYER, None, EvidenceFact("active", "rep"), UNKNOWN, "rep-asserted only"),
        (EVIDENCE_ONLY_BUYER, None, EvidenceFact("active", "manager"), UNKNOWN, "manager-verif"),
        (EVIDENCE_ONLY_BUYER, None, EvidenceFact("active", "buyer"), MET, "buyer-confirmed"),
        (EVIDENCE_ONLY_REP, None, EvidenceFact("active", "rep"), MET, "rep-asserted evidence"),
        (EVIDENCE_ONLY_REP, None, EvidenceFact("active", "buyer"), MET, "buyer-confirmed"),
        (
            EVIDENCE_ONLY_REP,
            None,
            EvidenceFact("rejected", "buyer", "the CFO never said that"),
            UNMET,
            "evidence rejected: the CFO never said that",
        ),
        (RULE_ONLY, RuleResult(MET, "1 champion attached"), None, MET, "1 champion attached"),
        (RULE_ONLY, RuleResult(UNMET, "no champion"), EvidenceFact("active", "buyer"), UNMET, "no"),
        (
            RULE_ONLY,
            RuleResult(MET, "1 champion attached"),
            EvidenceFact("rejected", "rep", "he left the company"),
            UNMET,
            "evidence rejected: he left the company",
        ),
        (
            RULE_AND_EVIDENCE,
            RuleResult(MET, "1 champion attached"),
            EvidenceFact("active", "manager"),
            MET,
            "1 champion attached; manager-verified evidence",
        ),
        (
            RULE_AND_EVIDENCE,
            RuleResult(UNMET, "no champion attached"),
            EvidenceFact("active", "rep"),
            UNMET,
            "no champion attached; rep-asserted only",
        ),
        (
            RULE_AND_EVIDENCE,
            RuleResult(MET, "1 champion attached"),
            EvidenceFact("active", "rep"),
            UNKNOWN,
            "rep-asserted only (needs a manager's verification)",
        ),
    ],
)
def test_combination_table(
    meta: CriterionMeta,
    rule: RuleResult | None,
    evidence: EvidenceFact | None,
    status: str,
    reason: str,
) -> None:
    result = combine(meta, rule, evidence)
    assert result.status == status
    assert reason in result.reason


def test_needs_evidence_defaults_follow_the_rule() -> None:
    base = {"id": "x", "statement": "The buyer said so", "verifier": "buyer"}
    assert criterion_meta(ExitCriterionDef(**base)).needs_evidence
    with_rule = ExitCriterionDef(**base, rule={"field_set": "next_step"})
    assert not criterion_meta(with_rule).needs_evidence
    required = ExitCriterionDef(**base, rule={"field_set": "next_step"}, evidence="required")
    assert criterion_meta(required).needs_evidence
    optional = ExitCriterionDef(**base, evidence="optional")
    assert not optional.needs_evidence
    # the mapping form (as stored in the database) gives the same answers
    assert criterion_meta(required.model_dump(exclude_none=True)) == criterion_meta(required)
    assert criterion_meta(base) == criterion_meta(ExitCriterionDef(**base))


metas = st.builds(
    CriterionMeta,
    criterion_id=st.just("c"),
    verifier=st.sampled_from(["rep", "manager", "buyer"]),
    needs_evidence=st.booleans(),
    has_rule=st.booleans(),
).filter(lambda m: m.needs_evidence or m.has_rule)
# Every state evidence can be in: (level that counts, buyer claim, source, accepting rule).
EVIDENCE_STATES = [
    ("rep", "", "rep_claim", ""),
    ("manager", "", "manager", ""),
    ("manager", "", "rep_claim", ""),
    ("rep", "pending", "artefact", ""),
    ("rep", "pending", "rep_claim", ""),  # migrated self-certification
    ("manager", "pending", "manager", ""),
    ("rep", "rejected", "artefact", ""),
    ("manager", "rejected", "manager", ""),
    ("buyer", "accepted", "artefact", ""),
    ("buyer", "accepted", "artefact", "email_from_account_domain"),
    ("buyer", "accepted", "buyer_action", ""),
]
facts = st.none() | st.builds(
    lambda state, e: EvidenceFact(
        state, e[0], "no", source=e[2], buyer_claim=e[1], accepted_by_rule=e[3]
    ),
    st.sampled_from(["active", "rejected"]),
    st.sampled_from(EVIDENCE_STATES),
)


BUYER = CriterionMeta("c", "buyer", needs_evidence=True, has_rule=False)


@pytest.mark.parametrize(
    ("fact", "status", "reason", "by"),
    [
        (
            EvidenceFact("active", "rep", source="artefact", buyer_claim="pending"),
            UNKNOWN,
            "buyer confirmation claimed, awaiting verification",
            "rep_pending",
        ),
        (
            EvidenceFact("active", "manager", source="manager", buyer_claim="pending"),
            UNKNOWN,
            "buyer confirmation claimed, awaiting verification",
            "manager",
        ),
        (
            EvidenceFact(
                "active", "rep", "not the buyer", source="artefact", buyer_claim="rejected"
            ),
            UNKNOWN,
            "buyer confirmation rejected: not the buyer",
            "rep",
        ),
        (
            EvidenceFact("active", "buyer", source="artefact", buyer_claim="accepted"),
            MET,
            "buyer-confirmed evidence",
            "artefact_manager",
        ),
        (
            EvidenceFact(
                "active",
                "buyer",
                source="artefact",
                buyer_claim="accepted",
                accepted_by_rule="email_from_account_domain",
            ),
            MET,
            "buyer-confirmed evidence",
            "artefact_rule",
        ),
        (
            EvidenceFact("active", "buyer", source="buyer_action", buyer_claim="accepted"),
            MET,
            "buyer-confirmed evidence",
            "buyer_action",
        ),
        (None, UNMET, "no evidence recorded (needs the buyer's confirmation)", "none"),
    ],
)
def test_claims_count_at_the_level_below_until_accepted(
    fact: EvidenceFact | None, status: str, reason: str, by: str
) -> None:
    result = combine(BUYER, None, fact)
    assert (result.status, result.reason) == (status, reason)
    how = provenance(BUYER, None, fact)
    assert (how.how, how.by) == (("evidence",), by)
    assert how.self_assessed == (by in ("rep", "rep_pending"))


def test_provenance_of_rules_and_scores() -> None:
    rule = CriterionMeta("c", "buyer", needs_evidence=False, has_rule=True)
    assert provenance(rule, RuleResult(MET, "x"), None) == Provenance(("rule",), "data")
    assert provenance(rule, RuleResult(MET, "x"), None, score_by="rep").by == "rep"
    assert provenance(rule, RuleResult(MET, "x"), None, score_by="rep").how == ("score",)
    both = CriterionMeta("c", "buyer", needs_evidence=True, has_rule=True)
    fact = EvidenceFact("active", "buyer", source="artefact", buyer_claim="accepted")
    assert provenance(both, RuleResult(MET, "x"), fact) == Provenance(
        ("rule", "evidence"), "artefact_manager"
    )


# Rules with a known status on a deal with an amount, no next step and no probability.
RULE_WITH_STATUS = {
    MET: {"field_set": "amount"},
    UNMET: {"field_set": "next_step"},
    UNKNOWN: {"field_compare": {"field": "probability", "op": "gt", "value": 5}},
}


@given(cases=st.lists(st.tuples(metas, st.sampled_from([MET, UNMET, UNKNOWN]), facts), max_size=12))
def test_both_forms_agree(cases: list[tuple[CriterionMeta, str, EvidenceFact | None]]) -> None:
    """The combination as inspection runs it (columns, :func:`control_frame`) and as the deal
    page explains it (:func:`combine`), criterion by criterion."""
    renamed = [
        (CriterionMeta(f"c{i}", m.verifier, m.needs_evidence, m.has_rule), s, e)
        for i, (m, s, e) in enumerate(cases)
    ]
    deal = OpportunitySnapshot(id=1, amount=Decimal("1"))
    criteria = [(m, RULE_WITH_STATUS[s] if m.has_rule else None) for m, s, _ in renamed]
    evidence = [(1, m.criterion_id, e.state, e.level) for m, _, e in renamed if e is not None]
    _, statuses = control([deal], [(STAGE, criteria)], AS_OF, evidence=evidence)
    explained = [
        combine(m, RuleResult(s, "r") if m.has_rule else None, e).status for m, s, e in renamed
    ]
    assert [statuses[(1, m.criterion_id)] for m, _, _ in renamed] == explained
