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
"""

from __future__ import annotations

from collections.abc import Mapping
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


@dataclass(frozen=True)
class EvidenceFact:
    """The current evidence for one criterion of one deal (never withdrawn evidence)."""

    state: EvidenceState
    level: str
    rejection_reason: str = ""


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
    else:
        part = RuleResult(UNKNOWN, f"{LEVEL_LABELS[evidence.level]} only (needs {needed})")
    if rule_result is None:
        return part
    status = _and(rule_result.status, part.status)
    if status == MET:
        return RuleResult(MET, f"{rule_result.reason}; {part.reason}")
    reasons = [r.reason for r in (rule_result, part) if r.status != MET]
    return RuleResult(status, "; ".join(reasons))
