"""Evaluate exit-criterion rules for one opportunity, with a reason a sales manager can read.

This is the *explained* form: one opportunity in, one status and one English reason out. The
set-based form over a whole pipeline lives in :mod:`milepost.engine.criteria_frames`; both must
give identical statuses (a property test holds them together), so every semantic decision below
is shared by the two forms and written down once, here.

Statuses are three-valued: ``met``, ``unmet``, ``unknown``.

* ``field_set`` is met when the field has a value. Text that is only whitespace counts as
  empty. Never unknown: "empty" is a known fact about the record.
* ``field_compare`` is **unknown when the field is empty** (or when the rule's value cannot be
  compared with the field, e.g. amount vs. "abc" — a broken rule). An empty amount is not
  evidence that the amount is too small: the rep has not recorded it. Calling it *unmet* would
  also make ``not {amount gt 100000}`` *met* for a deal with no amount, claiming a fact nobody
  recorded. Unknown propagates honestly through all / any / not.
* ``contact_role``: the number of distinct contacts attached with that buying role is at least
  ``min``. Never unknown (the contact list is the record).
* ``contacts_engaged``: distinct contacts who took part in activities that happened in the
  window. Never unknown.
* ``activity``: the number of activities of the given type(s) that happened (in the window, if
  ``within_days``) is at least ``min``. Never unknown: no logged activity is a gap.
* Windows are **calendar days in UTC**: an activity is within ``within_days`` when it happened
  at or before ``as_of`` and its UTC date is at most ``within_days`` days before ``as_of``'s UTC
  date (so "41 days ago" in a reason is the same day count the check uses, and an activity
  exactly ``within_days`` days ago counts). Activities dated after ``as_of`` (planned meetings)
  have not happened and never count.
* ``methodology``: the deal's score on a methodology element (MEDDPICC economic buyer ...) is at
  least ``at_least`` on the element's scale (the top level when unset). Not assessed is unmet;
  a rule naming an element or level the pack does not have is unknown (a broken rule).
  Scales come from the packs (``scales``: (pack, element) -> level keys, lowest first).
* ``all`` / ``any`` / ``not`` use Kleene logic: ``all`` is unmet if any child is unmet, else
  unknown if any child is unknown, else met; ``any`` is the dual; ``not`` swaps met and unmet and
  keeps unknown.

A criterion without a rule is an *evidence* criterion (the buyer, rep or manager confirms it);
:func:`evaluate_criterion` reports it as unknown until evidence is looked at elsewhere.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel

from milepost.engine.rule_text import (
    ACTIVITY_LABELS,
    FIELD_LABELS,
    ROLE_LABELS,
    methodology_label,
)

Status = Literal["met", "unmet", "unknown"]
MET: Status = "met"
UNMET: Status = "unmet"
UNKNOWN: Status = "unknown"

NUMBER_FIELDS = ("amount", "probability")
DATE_FIELDS = ("close_date", "next_step_date")
TEXT_FIELDS = ("next_step", "source", "forecast_category", "lost_reason")
REFERENCE_FIELDS = ("account", "product")
# Whitespace that makes a text field empty. Spelled out (rather than str.strip()) so the
# set-based form strips exactly the same characters.
BLANK = " \t\n\r\f\v"

OP_SYMBOLS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
OP_NEEDS: dict[str, str] = {
    "eq": "needs",
    "ne": "needs anything but",
    "gt": "needs more than",
    "gte": "needs at least",
    "lt": "needs less than",
    "lte": "needs at most",
}


@dataclass(frozen=True)
class ActivityFact:
    """One logged activity: its type, when it happened (aware, UTC) and who took part."""

    type: str
    occurred_at: datetime
    contact_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class OpportunitySnapshot:
    """What rule evaluation may look at for one opportunity; plain data, no database.

    Text fields use ``""`` (or ``None``) for empty; ``account`` and ``product`` are ids.
    ``contact_roles`` holds ``(contact_id, buying_role)`` pairs.
    """

    id: int
    amount: Decimal | None = None
    close_date: date | None = None
    next_step: str | None = ""
    next_step_date: date | None = None
    source: str | None = ""
    probability: int | None = None
    forecast_category: str | None = ""
    account: int | None = None
    product: int | None = None
    lost_reason: str | None = ""
    contact_roles: tuple[tuple[int, str], ...] = ()
    activities: tuple[ActivityFact, ...] = ()
    # (pack, element, level key) for every methodology element assessed on the deal.
    elements: tuple[tuple[str, str, str], ...] = ()

    def value(self, field: str) -> Any:
        if field not in FIELD_LABELS:
            raise ValueError(f"not an opportunity field a rule may use: {field}")
        return getattr(self, field)


@dataclass(frozen=True)
class RuleResult:
    status: Status
    reason: str


# ---------------------------------------------------------------------------------------------
# Shared with the set-based form: rule normalisation and comparison operands.


def plain_rule(rule: Any) -> Mapping[str, Any]:
    """A rule as a mapping with one key (accepts validated models or the stored JSON form)."""
    plain: Mapping[str, Any]
    if isinstance(rule, BaseModel):
        plain = rule.model_dump(by_alias=True, exclude_none=True)
    elif isinstance(rule, Mapping):
        plain = rule
    else:
        raise TypeError(f"not a rule: {rule!r}")
    if len(plain) != 1:
        raise ValueError(f"a rule has exactly one kind, got: {', '.join(plain) or 'none'}")
    return plain


def rule_leaves(rule: Any) -> list[tuple[str, Any]]:
    """Every leaf ``(kind, spec)`` of a rule (through ``all``, ``any`` and ``not``)."""
    ((kind, spec),) = plain_rule(rule).items()
    if kind in ("all", "any"):
        return [leaf for child in spec for leaf in rule_leaves(child)]
    if kind == "not":
        return rule_leaves(spec)
    return [(kind, spec)]


def activity_types(spec: Mapping[str, Any]) -> tuple[str, ...]:
    types = spec["type"]
    return tuple(sorted(set(types))) if isinstance(types, list | tuple) else (types,)


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip(BLANK))


def compare_operand(field: str, value: Any) -> Any:
    """The rule's value in the field's own type, or ``None`` when it cannot be compared.

    Stored rules may carry numbers and dates as strings (JSON); those are parsed. A value of
    the wrong kind (text for the amount, a number for the close date) makes the leaf unknown.
    """
    if isinstance(value, bool):
        return None
    if field in NUMBER_FIELDS:
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, str):
            try:
                value = Decimal(value.strip())
            except InvalidOperation:
                return None
        if isinstance(value, Decimal):
            return value if value.is_finite() else None
        return None
    if field in DATE_FIELDS:
        if isinstance(value, datetime):
            return None
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                return None
        return None
    if field in TEXT_FIELDS:
        if isinstance(value, str):
            return value
        return str(value) if isinstance(value, int) else None
    if field in REFERENCE_FIELDS:
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        return None
    raise ValueError(f"not an opportunity field a rule may use: {field}")


def window_start(as_of: datetime, within_days: int) -> date:
    """The first UTC calendar day inside a ``within_days`` window ending at ``as_of``."""
    return as_of.astimezone(UTC).date() - timedelta(days=within_days)


def utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC)")
    return moment.astimezone(UTC)


# ---------------------------------------------------------------------------------------------
# Reasons.


def _plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {words or word + 's'}"


def _field_label(field: str) -> str:
    return "the " + FIELD_LABELS.get(field, field.replace("_", " "))


def _show(field: str, value: Any) -> str:
    if field in TEXT_FIELDS:
        return f"“{value}”"
    if field in REFERENCE_FIELDS:
        return f"#{value}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _ago(days: int) -> str:
    if days == 0:
        return "today"
    return "1 day ago" if days == 1 else f"{days} days ago"


def _in_last(days: int) -> str:
    return "in the last day" if days == 1 else f"in the last {days} days"


def _or_words(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


# ---------------------------------------------------------------------------------------------
# Evaluation.


Scales = Mapping[tuple[str, str], Sequence[str]]


def evaluate_rule(
    rule: Any, snapshot: OpportunitySnapshot, as_of: datetime, scales: Scales | None = None
) -> RuleResult:
    """Evaluate ``rule`` for one opportunity at ``as_of`` (aware); status plus a reason."""
    return _evaluate(plain_rule(rule), snapshot, utc(as_of, "as_of"), scales or {})


def _evaluate(
    plain: Mapping[str, Any], snap: OpportunitySnapshot, as_of: datetime, scales: Scales
) -> RuleResult:
    ((kind, spec),) = plain.items()
    if kind == "field_set":
        label = _field_label(spec)
        if is_empty(snap.value(spec)):
            return RuleResult(UNMET, f"{label} is empty")
        return RuleResult(MET, f"{label} is filled in")
    if kind == "field_compare":
        return _field_compare(spec, snap)
    if kind == "contact_role":
        return _contact_role(spec, snap)
    if kind == "contacts_engaged":
        return _contacts_engaged(spec, snap, as_of)
    if kind == "activity":
        return _activity(spec, snap, as_of)
    if kind == "methodology":
        return _methodology(spec, snap, scales)
    if kind in ("all", "any"):
        results = [_evaluate(plain_rule(child), snap, as_of, scales) for child in spec]
        decisive = UNMET if kind == "all" else MET
        for status in (decisive, UNKNOWN):
            hits = [r.reason for r in results if r.status == status]
            if hits:
                return RuleResult(status, "; ".join(hits))
        return RuleResult(MET if kind == "all" else UNMET, "; ".join(r.reason for r in results))
    if kind == "not":
        inner = _evaluate(plain_rule(spec), snap, as_of, scales)
        flipped = {MET: UNMET, UNMET: MET, UNKNOWN: UNKNOWN}[inner.status]
        # The inner reason states the fact that decides the negation, so it reads as-is.
        return RuleResult(flipped, inner.reason)
    raise ValueError(f"unknown rule kind: {kind}")


def _field_compare(spec: Mapping[str, Any], snap: OpportunitySnapshot) -> RuleResult:
    field, op, raw = spec["field"], spec["op"], spec["value"]
    label = _field_label(field)
    operand = compare_operand(field, raw)
    if operand is None:
        return RuleResult(
            UNKNOWN,
            f"the rule compares {label} with {raw!r}, which cannot be compared; fix the rule",
        )
    needs = f"{OP_NEEDS[op]} {_show(field, operand)}"
    value = snap.value(field)
    if is_empty(value):
        return RuleResult(UNKNOWN, f"{label} is empty, so it cannot be checked ({needs})")
    status = MET if OP_SYMBOLS[op](value, operand) else UNMET
    return RuleResult(status, f"{label} is {_show(field, value)} ({needs})")


def _contact_role(spec: Mapping[str, Any], snap: OpportunitySnapshot) -> RuleResult:
    role, need = spec["role"], int(spec.get("min", 1))
    label = ROLE_LABELS.get(role, role)
    count = len({contact for contact, r in snap.contact_roles if r == role})
    status = MET if count >= need else UNMET
    if count == 0:
        return RuleResult(status, f"no contact with buying role {label} attached")
    text = f"{_plural(count, 'contact')} with buying role {label} attached"
    return RuleResult(status, text + (f" (needs {need})" if need > 1 else ""))


def _happened(snap: OpportunitySnapshot, as_of: datetime) -> list[tuple[ActivityFact, datetime]]:
    moments = [(a, utc(a.occurred_at, "occurred_at")) for a in snap.activities]
    return [(a, at) for a, at in moments if at <= as_of]


def _contacts_engaged(
    spec: Mapping[str, Any], snap: OpportunitySnapshot, as_of: datetime
) -> RuleResult:
    need, days = int(spec["min"]), int(spec["within_days"])
    start = window_start(as_of, days)
    contacts = {
        contact
        for activity, at in _happened(snap, as_of)
        if at.date() >= start
        for contact in activity.contact_ids
    }
    count = len(contacts)
    status = MET if count >= need else UNMET
    who = "no contacts" if count == 0 else _plural(count, "contact")
    return RuleResult(status, f"{who} engaged {_in_last(days)} (needs {need})")


def _activity(spec: Mapping[str, Any], snap: OpportunitySnapshot, as_of: datetime) -> RuleResult:
    types = activity_types(spec)
    days = spec.get("within_days")
    need = int(spec.get("min", 1))
    what = _or_words([ACTIVITY_LABELS.get(t, t) for t in types])
    today = as_of.date()
    matching = [at for a, at in _happened(snap, as_of) if a.type in types]
    start = window_start(as_of, days) if days else None
    counted = [at for at in matching if start is None or at.date() >= start]
    status = MET if len(counted) >= need else UNMET
    if need == 1:
        if not matching:
            return RuleResult(status, f"no {what} logged yet")
        last = (today - max(matching).date()).days
        rest = f" (needs one within {days})" if days else ""
        return RuleResult(status, f"last {what} {_ago(last)}{rest}")
    when = f" {_in_last(days)}" if days else ""
    return RuleResult(
        status, f"{_plural(len(counted), what, what + ' activities')} logged{when} (needs {need})"
    )


def methodology_threshold(spec: Mapping[str, Any], scales: Scales) -> tuple[Sequence[str], int]:
    """The element's level keys and the rank the rule needs; ``((), -1)`` for a broken rule.

    Shared with the set-based form so both call the same rules broken.
    """
    levels = scales.get((spec["pack"], spec["element"]))
    if not levels:
        return (), -1
    wanted = spec.get("at_least") or levels[-1]
    if wanted not in levels:
        return (), -1
    return levels, list(levels).index(wanted)


def _words(key: str) -> str:
    return key.replace("_", " ")


def _methodology(spec: Mapping[str, Any], snap: OpportunitySnapshot, scales: Scales) -> RuleResult:
    pack, element = spec["pack"], spec["element"]
    what = f"{methodology_label(pack)} {_words(element)}"
    levels, need = methodology_threshold(spec, scales)
    if need < 0:
        wanted = spec.get("at_least") or "the top level"
        return RuleResult(
            UNKNOWN, f"the rule checks {what} at {wanted!r}, which the pack does not have; fix it"
        )
    needs = f"needs {_words(levels[need])}"
    level = next((lv for p, e, lv in snap.elements if (p, e) == (pack, element)), None)
    if level is None:
        return RuleResult(UNMET, f"{what} not assessed yet ({needs})")
    rank = list(levels).index(level) if level in levels else -1
    status = MET if rank >= need else UNMET
    return RuleResult(
        status, f"{what} is {_words(level)}" + ("" if status == MET else f" ({needs})")
    )


def evaluate_criterion(
    criterion_def: Any,
    snapshot: OpportunitySnapshot,
    as_of: datetime,
    scales: Scales | None = None,
) -> RuleResult:
    """Evaluate an exit criterion (``ExitCriterionDef`` or its mapping form).

    Without a rule it is an evidence criterion: unknown until the verifier's evidence is
    looked at (that happens elsewhere, not in this module).
    """
    if isinstance(criterion_def, Mapping):
        rule, verifier = criterion_def.get("rule"), criterion_def.get("verifier", "rep")
    else:
        rule, verifier = criterion_def.rule, criterion_def.verifier
    if rule is None:
        return RuleResult(UNKNOWN, f"needs evidence from the {verifier}")
    return evaluate_rule(rule, snapshot, as_of, scales)


# ---------------------------------------------------------------------------------------------
# Verified stage.


class VerifiedStage(NamedTuple):
    verified_stage: str
    under_control: bool
    first_gap: str | None


def claimed_position(
    open_stage_keys: Sequence[str], claimed_stage_key: str, claimed_kind: str
) -> int:
    """Where the claimed stage sits among the open stages (shared with the set-based form).

    A won deal claims to have passed *every* open stage, so its position is one beyond the
    last (only a deal with no gap at all reaches it). A lost deal claims no progress at all
    (position -1), so it is never reported as ahead of its evidence.
    """
    if claimed_kind == "won":
        return len(open_stage_keys)
    if claimed_kind == "lost":
        return -1
    if claimed_stage_key not in open_stage_keys:
        raise ValueError(f"claimed stage {claimed_stage_key!r} is not an open stage")
    return list(open_stage_keys).index(claimed_stage_key)


def verified_stage(
    open_stage_keys_in_order: Sequence[str],
    claimed_stage_key: str,
    statuses_by_stage: Mapping[str, Sequence[str]],
    *,
    claimed_kind: str = "open",
) -> VerifiedStage:
    """The furthest open stage whose every earlier stage has all exit criteria met.

    ``first_gap`` is the first stage with a criterion not met (unknown counts as not met: a
    stage is verified by evidence, not by the absence of contrary evidence); the verified stage
    is that stage, or the last open stage when there is no gap. ``under_control`` means the
    verified stage is at or beyond the claimed one (a deal with no gap has passed every open
    stage). Closed deals (``claimed_kind`` "won" or "lost") are verified over all open stages;
    won is under control only with no gap, lost always is (see :func:`claimed_position`).
    """
    keys = list(open_stage_keys_in_order)
    if not keys:
        raise ValueError("a process has at least one open stage")
    claimed = claimed_position(keys, claimed_stage_key, claimed_kind)
    gap = next(
        (i for i, k in enumerate(keys) if any(s != MET for s in statuses_by_stage.get(k, ()))),
        None,
    )
    reached = len(keys) if gap is None else gap  # len(keys): passed every open stage
    verified = min(reached, len(keys) - 1)
    return VerifiedStage(keys[verified], reached >= claimed, None if gap is None else keys[gap])
