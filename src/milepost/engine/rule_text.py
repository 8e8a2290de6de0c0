"""Plain-English rendering of exit-criterion rules, for people reading a process map.

``rule_text({"contact_role": {"role": "economic_buyer"}})`` returns
"a contact with buying role Economic buyer is attached". Callers add the framing
("Automatic check: ..."). This module only describes a rule; it does not evaluate one (that is
the inspection engine's job) and it does not validate one (see :mod:`process_schema`).
Accepts the stored JSON form (a dict) or a validated rule model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

# Labels kept in step with the Django choices (pipeline.choices), repeated here because the
# engine does not import Django.
FIELD_LABELS: dict[str, str] = {
    "amount": "amount",
    "close_date": "close date",
    "next_step": "next step",
    "next_step_date": "next-step date",
    "source": "source",
    "probability": "probability",
    "forecast_category": "forecast category",
    "account": "account",
    "product": "product",
    "lost_reason": "lost reason",
}
ROLE_LABELS: dict[str, str] = {
    "economic_buyer": "Economic buyer",
    "champion": "Champion",
    "technical_buyer": "Technical buyer",
    "user_buyer": "User buyer",
    "coach": "Coach",
    "influencer": "Influencer",
    "blocker": "Blocker",
}
ACTIVITY_LABELS: dict[str, str] = {
    "call": "call",
    "meeting": "meeting",
    "email": "email",
    "demo": "demo",
    "workshop": "discovery workshop",
    "proposal_sent": "“proposal sent”",
    "negotiation": "negotiation",
    "note": "note",
}
OP_WORDS: dict[str, str] = {
    "eq": "is",
    "ne": "is not",
    "gt": "is greater than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
}
COMPOSITES = ("all", "any", "not")


def _plain(rule: Any) -> Mapping[str, Any]:
    if isinstance(rule, BaseModel):
        return rule.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(rule, Mapping):
        return rule
    raise TypeError(f"not a rule: {rule!r}")


def _or_list(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def _days(within: Any) -> str:
    if not within:
        return ""
    return " in the last day" if within == 1 else f" in the last {within} days"


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value if _looks_like_date(value) else f"“{value}”"
    return str(value)


def _looks_like_date(text: str) -> bool:
    return len(text) == 10 and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit()


def _field(name: str) -> str:
    return "the " + FIELD_LABELS.get(name, name.replace("_", " "))


def _activity(spec: Mapping[str, Any], *, negated: bool = False) -> str:
    types = spec.get("type")
    names = [
        ACTIVITY_LABELS.get(str(t), str(t)) for t in (types if isinstance(types, list) else [types])
    ]
    what = _or_list(names)
    count = int(spec.get("min", 1) or 1)
    when = _days(spec.get("within_days"))
    if negated:
        return f"no {what} activity was logged{when}"
    if count > 1:
        return f"at least {count} {what} activities were logged{when}"
    article = "an" if what[:1] in "aeiou" else "a"
    return f"{article} {what} activity was logged{when}"


def _contact_role(spec: Mapping[str, Any], *, negated: bool = False) -> str:
    role = ROLE_LABELS.get(spec["role"], spec["role"])
    count = int(spec.get("min", 1) or 1)
    if negated:
        return f"no contact with buying role {role} is attached"
    if count > 1:
        return f"at least {count} contacts with buying role {role} are attached"
    return f"a contact with buying role {role} is attached"


def methodology_label(pack: str) -> str:
    """A pack key as people write it: short keys are acronyms (MEDDPICC, SPIN, BANT)."""
    return pack.upper() if len(pack) <= 9 and "_" not in pack else pack.replace("_", " ").title()


def rule_text(rule: Any) -> str:
    """Describe ``rule`` as one English clause (lower-case start, no final full stop)."""
    plain = _plain(rule)
    if len(plain) != 1:
        raise ValueError(f"a rule has exactly one kind, got: {', '.join(plain) or 'none'}")
    ((kind, spec),) = plain.items()
    if kind == "field_set":
        return f"{_field(spec)} is filled in"
    if kind == "field_compare":
        op = OP_WORDS.get(spec["op"], spec["op"])
        return f"{_field(spec['field'])} {op} {_value(spec['value'])}"
    if kind == "contact_role":
        return _contact_role(spec)
    if kind == "contacts_engaged":
        return (
            f"at least {spec['min']} different contacts took part in activities"
            f"{_days(spec['within_days'])}"
        )
    if kind == "activity":
        return _activity(spec)
    if kind == "methodology":
        level = spec.get("at_least")
        at = f"at least {level.replace('_', ' ')}" if level else "fully established"
        return f"{methodology_label(spec['pack'])} {spec['element'].replace('_', ' ')} is {at}"
    if kind in ("all", "any"):
        parts = [_nested(child) for child in spec]
        if len(parts) == 1:
            return parts[0]
        joiner = " and " if kind == "all" else " or "
        if len(parts) == 2:
            return joiner.join(parts)
        lead = "all of" if kind == "all" else "at least one of"
        return f"{lead}: " + "; ".join(parts)
    if kind == "not":
        return _negated(_plain(spec))
    raise ValueError(f"unknown rule kind: {kind}")


def _nested(child: Any) -> str:
    text = rule_text(child)
    return f"({text})" if next(iter(_plain(child))) in ("all", "any") else text


def _negated(inner: Mapping[str, Any]) -> str:
    ((kind, spec),) = inner.items()
    if kind == "field_set":
        return f"{_field(spec)} is empty"
    if kind == "contact_role" and int(spec.get("min", 1) or 1) == 1:
        return _contact_role(spec, negated=True)
    if kind == "activity" and int(spec.get("min", 1) or 1) == 1:
        return _activity(spec, negated=True)
    return f"it is not the case that {_nested(inner)}"


def rule_sentence(rule: Any) -> str:
    """``rule_text`` framed for a process map: "Automatic check: ..."."""
    return f"Automatic check: {rule_text(rule)}"
