"""Words the engine shares with the Django apps (which mirror them as TextChoices).

A test asserts the Django choices and these tuples stay identical.
"""

from __future__ import annotations

from typing import Literal

StageKindName = Literal["open", "won", "lost"]
STAGE_KINDS: tuple[str, ...] = ("open", "won", "lost")

BuyerPhase = Literal[
    "aware", "explore", "evaluate", "decide", "purchase", "onboard", "adopt", "expand", "closed"
]
BUYER_PHASES: tuple[str, ...] = (
    "aware",
    "explore",
    "evaluate",
    "decide",
    "purchase",
    "onboard",
    "adopt",
    "expand",
    "closed",
)

ForecastCategoryName = Literal["pipeline", "best_case", "commit", "closed", "omitted"]
FORECAST_CATEGORIES: tuple[str, ...] = ("pipeline", "best_case", "commit", "closed", "omitted")

VerifierName = Literal["rep", "manager", "buyer"]
VERIFIERS: tuple[str, ...] = ("rep", "manager", "buyer")

BuyingRoleName = Literal[
    "economic_buyer", "champion", "technical_buyer", "user_buyer", "coach", "influencer", "blocker"
]
BUYING_ROLES: tuple[str, ...] = (
    "economic_buyer",
    "champion",
    "technical_buyer",
    "user_buyer",
    "coach",
    "influencer",
    "blocker",
)

ActivityTypeName = Literal[
    "call", "meeting", "email", "demo", "workshop", "proposal_sent", "negotiation", "note"
]
ACTIVITY_TYPES: tuple[str, ...] = (
    "call",
    "meeting",
    "email",
    "demo",
    "workshop",
    "proposal_sent",
    "negotiation",
    "note",
)

# Opportunity fields a rule may look at. Kept explicit so a process file cannot reach into
# arbitrary columns (or relations) of the database.
OpportunityFieldName = Literal[
    "amount",
    "close_date",
    "next_step",
    "next_step_date",
    "source",
    "probability",
    "forecast_category",
    "account",
    "product",
    "lost_reason",
]
OPPORTUNITY_FIELDS: tuple[str, ...] = (
    "amount",
    "close_date",
    "next_step",
    "next_step_date",
    "source",
    "probability",
    "forecast_category",
    "account",
    "product",
    "lost_reason",
)

GatePolicyName = Literal["block", "warn", "open"]

EvidenceNeed = Literal["required", "optional"]

# The core selling skills every methodology relies on (coaching rates reps on these; packs may
# add their own).
CoreSkillName = Literal[
    "active_listening",
    "disarming",
    "objection_handling",
    "probing_questions",
    "business_acumen",
    "call_planning",
]
CORE_SKILLS: tuple[str, ...] = (
    "active_listening",
    "disarming",
    "objection_handling",
    "probing_questions",
    "business_acumen",
    "call_planning",
)
