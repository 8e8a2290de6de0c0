"""Combine what people recorded (evidence) with what the data says (rules) into one status.

An exit criterion is a buyer outcome. Some outcomes show in the deal's data (a rule: "an
economic buyer is attached"); others only a person can vouch for ("the buyer confirmed the cost
of the problem"). Evidence carries a **level**, ordered by how much it can be trusted:
rep-asserted < manager-verified < buyer-confirmed. A criterion's ``verifier`` is the level its
evidence must reach.

The combination, shared by both forms (explained here, set-based as columns in
:func:`milepost.engine.control_frames.control_frame`):

* **Rejected** evidence makes the criterion *unmet*, whatever the rule says: a manager who
  rejected "economic buyer engaged" knows something the contact list does not.
* When the criterion **needs evidence** (no rule, or ``evidence: required``), the evidence part
  is *met* at or above the verifier's level, *unknown* below it (claimed, not yet verified) and
  *unmet* without evidence. With a rule as well, both must hold (Kleene ``and``).
* Otherwise the rule decides; evidence, when present, is shown but changes nothing.

Withdrawn evidence is passed as no evidence at all.

**Claims.** Nobody certifies buyer confirmation on their own word: evidence reaches ``buyer``
only through an artefact a manager or an admin's rule accepted, or a buyer's own action. Until
then a claim counts at the level below (``level`` is always the level that counts, so the
set-based form needs nothing but it); the explained form says "buyer confirmation claimed,
awaiting verification" (or why the claim was rejected), and :func:`provenance` says how a
criterion was met and by whom, so a manager sees which greens are self-assessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from milepost.engine.criteria import MET, UNKNOWN, UNMET, RuleResult, Status

EvidenceState = Literal["active", "rejected"]
LEVEL_RANK: dict[str, int] = {"rep": 1, "manager": 2, "buyer": 3}
LEVEL_LABELS: dict[str, str] = {
    "rep": "rep-asserted",
    "manager": "manager-verified",
    "buyer": "buyer-confirmed",
}
NEEDS_LABELS: dict[str, str] = {
    "rep": "the rep's evidence",
    "manager": "a manager's verification",
    "buyer": "the buyer's confirmation",
}
EVIDENCE_SCHEMA: dict[str, Any] = {
    "opportunity_id": pl.Int64,
    "criterion_id": pl.String,
    "state": pl.String,
    "level": pl.String,
}


SOURCES: tuple[str, ...] = ("rep_claim", "manager", "artefact", "buyer_action")
BUYER_CLAIMS: tuple[str, ...] = ("", "pending", "accepted", "rejected")


@dataclass(frozen=True)
class EvidenceFact:
    """The current evidence for one criterion of one deal (never withdrawn evidence).

    ``level`` is the level that counts. ``source`` is where it comes from (see
    :data:`SOURCES`); ``buyer_claim`` whether buyer confirmation is claimed and how the claim
    was reviewed; ``accepted_by_rule`` names the admin's rule that accepted an artefact (empty:
    a manager did). ``rejection_reason`` explains a rejected evidence or a rejected claim.
    """

    state: EvidenceState
    level: str
    rejection_reason: str = ""
    source: str = "rep_claim"
    buyer_claim: str = ""
    accepted_by_rule: str = ""


@dataclass(frozen=True)
class CriterionMeta:
    """What the combination needs to know about a criterion (from the process definition)."""

    criterion_id: str
    verifier: str
    needs_evidence: bool
    has_rule: bool


def criterion_meta(criterion_def: Any) -> CriterionMeta:
    """From an ``ExitCriterionDef`` or its JSON mapping."""
    if isinstance(criterion_def, Mapping):
        rule = criterion_def.get("rule")
        need = criterion_def.get("evidence")
        return CriterionMeta(
            criterion_def["id"],
            criterion_def.get("verifier", "rep"),
            need == "required" or (need is None and rule is None),
            rule is not None,
        )
    return CriterionMeta(
        criterion_def.id,
        criterion_def.verifier,
        criterion_def.needs_evidence,
        criterion_def.rule is not None,
    )


def _and(a: Status, b: Status) -> Status:
    if UNMET in (a, b):
        return UNMET
    if UNKNOWN in (a, b):
        return UNKNOWN
    return MET


def combine(
    meta: CriterionMeta, rule_result: RuleResult | None, evidence: EvidenceFact | None
) -> RuleResult:
    """The criterion's status and reason, from its rule result (None: no rule) and evidence."""
    if evidence is not None and evidence.state == "rejected":
        why = evidence.rejection_reason.strip() or "no reason given"
        return RuleResult(UNMET, f"evidence rejected: {why}")
    if not meta.needs_evidence:
        if rule_result is None:  # pragma: no cover - a criterion without rule needs evidence
            raise ValueError(f"criterion {meta.criterion_id!r} has neither rule nor evidence")
        return rule_result
    needed = NEEDS_LABELS[meta.verifier]
    if evidence is None:
        part = RuleResult(UNMET, f"no evidence recorded (needs {needed})")
    elif LEVEL_RANK[evidence.level] >= LEVEL_RANK[meta.verifier]:
        part = RuleResult(MET, f"{LEVEL_LABELS[evidence.level]} evidence")
    elif meta.verifier == "buyer" and evidence.buyer_claim == "pending":
        part = RuleResult(UNKNOWN, "buyer confirmation claimed, awaiting verification")
    elif meta.verifier == "buyer" and evidence.buyer_claim == "rejected":
        why = evidence.rejection_reason.strip() or "no reason given"
        part = RuleResult(UNKNOWN, f"buyer confirmation rejected: {why}")
    else:
        part = RuleResult(UNKNOWN, f"{LEVEL_LABELS[evidence.level]} only (needs {needed})")
    if rule_result is None:
        return part
    status = _and(rule_result.status, part.status)
    if status == MET:
        return RuleResult(MET, f"{rule_result.reason}; {part.reason}")
    reasons = [r.reason for r in (rule_result, part) if r.status != MET]
    return RuleResult(status, "; ".join(reasons))


# Who stands behind a criterion's evidence, from the least to the most trustworthy.
BY_REP = "rep"  # the rep's own word
BY_REP_PENDING = "rep_pending"  # the rep's word, buyer confirmation claimed, awaiting review
BY_MANAGER = "manager"  # a manager verified (or recorded) it
BY_ARTEFACT_MANAGER = "artefact_manager"  # the buyer's artefact, accepted by a manager
BY_ARTEFACT_RULE = "artefact_rule"  # the buyer's artefact, accepted by an admin's rule
BY_BUYER_ACTION = "buyer_action"  # the buyer did it themselves
BY_DATA = "data"  # the deal's data (a rule)
BY_NONE = "none"  # no evidence yet
SELF_ASSESSED = frozenset({BY_REP, BY_REP_PENDING})


# From the least to the most trustworthy, to take the weakest of several.
TRUST_ORDER = (
    BY_NONE,
    BY_REP,
    BY_REP_PENDING,
    BY_MANAGER,
    BY_ARTEFACT_MANAGER,
    BY_ARTEFACT_RULE,
    BY_BUYER_ACTION,
)


def score_by(*, counts_as_scored: bool, vouched: bool, artefact: bool, by_rule: bool) -> str:
    """Who stands behind a methodology score: the buyer's artefact accepted by an admin's rule
    (``by_rule``) or by the manager who verified it, a manager who verified or set it
    (``vouched``), or the rep (their claim awaiting review when an artefact backs a score that
    does not count as scored yet)."""
    if counts_as_scored and by_rule:
        return BY_ARTEFACT_RULE
    if counts_as_scored and vouched:
        return BY_ARTEFACT_MANAGER if artefact else BY_MANAGER
    if artefact and not counts_as_scored:
        return BY_REP_PENDING
    return BY_REP


def weakest(codes: Iterable[str]) -> str:
    """The least trustworthy of several ``BY_*`` codes (a rule reading several scores is only
    as good as the weakest)."""
    return min(codes, key=TRUST_ORDER.index, default=BY_NONE)


@dataclass(frozen=True)
class Provenance:
    """How a criterion was met (``rule``, ``evidence``, ``score``: a rule on a methodology
    score; in that order) and by whom (one of the ``BY_*`` codes, the evidence's when the
    criterion counts evidence, else the rule's)."""

    how: tuple[str, ...]
    by: str

    @property
    def self_assessed(self) -> bool:
        return self.by in SELF_ASSESSED


def evidence_by(evidence: EvidenceFact) -> str:
    """Who stands behind active evidence (one of the ``BY_*`` codes)."""
    if evidence.source == "buyer_action":
        return BY_BUYER_ACTION
    if evidence.level == "buyer":
        return BY_ARTEFACT_RULE if evidence.accepted_by_rule else BY_ARTEFACT_MANAGER
    if evidence.level == "manager":
        return BY_MANAGER
    return BY_REP_PENDING if evidence.buyer_claim == "pending" else BY_REP


def provenance(
    meta: CriterionMeta,
    rule_result: RuleResult | None,
    evidence: EvidenceFact | None,
    *,
    score_by: str | None = None,
) -> Provenance:
    """How and by whom the criterion is (or would be) met. ``score_by``: the rule reads a
    methodology score, set by this ``BY_*`` (``rep`` or ``manager``)."""
    how: list[str] = []
    if rule_result is not None:
        how.append("score" if score_by is not None else "rule")
    counted = evidence if evidence is not None and evidence.state == "active" else None
    if meta.needs_evidence:
        how.append("evidence")
        by = evidence_by(counted) if counted is not None else BY_NONE
    else:
        by = score_by if score_by is not None else BY_DATA
    return Provenance(tuple(how), by)
