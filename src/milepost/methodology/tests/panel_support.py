"""A small pack pair and a process mapping them, so the panel, view and API tests do not depend on
the shipped packs' content (which their authors may change).

``qual`` is MEDDPICC-like (elements with question banks, typed fields and contact roles);
``sheet`` is Strategic-Selling-like (buying influences and Blue Sheet elements). The process
``method_test`` maps them: ``first`` requires ``qual.pain`` and recommends ``qual.champion``;
``second`` requires ``qual.economic_buyer`` and ``sheet.objective`` and recommends
``qual.decision``; ``third`` only recommends ``qual.economic_buyer`` and ``qual.decision``.
"""

from __future__ import annotations

from dataclasses import dataclass

from milepost.accounts.models import Contact
from milepost.engine.methodology_schema import parse_methodology
from milepost.methodology.services import assessment_record, influence_save
from milepost.pipeline.models import Opportunity, OpportunityContact
from milepost.process.services import pack_store, process_load
from milepost.team.models import User
from milepost.testing.factories import Org, make_account, make_contact, make_opportunity, make_org

QUAL = """
key: qual
name: Qualify
summary: A small qualification pack used by the tests.
scale:
  levels:
    - {key: none, label: Not started, points: 0, rubric: Nothing known yet.}
    - {key: partial, label: Partial, points: 1, rubric: Heard second-hand.}
    - {key: confirmed, label: Confirmed, points: 2, rubric: The buyer said it in writing.}
elements:
  - key: pain
    label: Implicated pain
    summary: The problem the buyer feels, and what it costs them.
    questions:
      - What happens if you do nothing this year?
      - Who else feels this problem?
      - How do you measure it today?
    fields:
      - {key: cost, label: Yearly cost, type: number}
      - {key: since, label: Since when, type: date}
  - key: champion
    label: Champion
    summary: An insider with influence who sells for us when we are not there.
    questions:
      - What do you personally gain if this project succeeds?
    contact_roles: [champion, coach]
  - key: economic_buyer
    label: Economic buyer
    summary: The person who can spend the money without asking anyone.
    questions:
      - Who signs off a purchase of this size?
      - When did you last buy something like this, and who approved it?
    fields:
      - {key: who, label: Economic buyer, type: contact}
    contact_roles: [economic_buyer]
  - key: decision
    label: Decision criteria
    summary: What the buyer will judge the options on.
    questions:
      - Which three things matter most in your choice?
    fields:
      - {key: style, label: Buying style, type: choice, choices: [formal, informal]}
"""

SHEET = """
key: sheet
name: Sheet selling
summary: A small Strategic-Selling-like pack used by the tests.
scale:
  levels:
    - {key: none, label: Not started, points: 0}
    - {key: drafted, label: Drafted, points: 1}
    - {key: agreed, label: Agreed, points: 2}
elements:
  - key: objective
    label: Single sales objective
    summary: What we will sell, to whom, how much, by when.
    questions: ["What exactly will be bought, and when?"]
    red_flags: [Nobody at the buyer has confirmed the objective.]
  - key: best_action
    label: Best action
    summary: The one action that most improves our position now.
buying_influences:
  roles:
    - {key: economic, label: Economic buyer}
    - {key: user, label: User buyer}
    - {key: coach, label: Coach}
  degrees:
    - {key: low, label: Low}
    - {key: high, label: High}
  response_modes:
    - {key: growth, label: Growth}
    - {key: trouble, label: Trouble}
    - {key: even_keel, label: Even keel}
  rating_min: -5
  rating_max: 5
"""

PROCESS = """
key: method_test
name: Method test
methodologies:
  - {pack: qual, purpose: Qualify the deal}
  - {pack: sheet, purpose: Account strategy}
stages:
  - key: first
    label: First
    kind: open
    buyer_phase: aware
    probability: 10
    forecast_category: pipeline
    methodology:
      qual: {required: [pain], recommended: [champion]}
  - key: second
    label: Second
    kind: open
    buyer_phase: explore
    probability: 40
    forecast_category: pipeline
    methodology:
      qual: {required: [economic_buyer], recommended: [decision]}
      sheet: {required: [objective]}
  - key: third
    label: Third
    kind: open
    buyer_phase: decide
    probability: 70
    forecast_category: best_case
    methodology:
      qual: {recommended: [economic_buyer, decision]}
  - key: won
    label: Won
    kind: won
    buyer_phase: adopt
    probability: 100
    forecast_category: closed
  - key: lost
    label: Lost
    kind: lost
    buyer_phase: closed
    probability: 0
    forecast_category: omitted
"""

# The same process without the Strategic-Selling-like pack (no Blue Sheet).
PLAIN_PROCESS = """
key: plain_test
name: Plain test
methodologies:
  - {pack: qual, purpose: Qualify}
stages:
  - key: first
    label: First
    kind: open
    buyer_phase: aware
    probability: 10
    forecast_category: pipeline
    methodology:
      qual: {required: [pain]}
  - key: won
    label: Won
    kind: won
    buyer_phase: adopt
    probability: 100
    forecast_category: closed
  - key: lost
    label: Lost
    kind: lost
    buyer_phase: closed
    probability: 0
    forecast_category: omitted
"""


def load_test_methodology() -> None:
    """Store both packs and both processes (idempotent)."""
    pack_store(definition=parse_methodology(QUAL))
    pack_store(definition=parse_methodology(SHEET))
    process_load(text=PROCESS)
    process_load(text=PLAIN_PROCESS)


def make_deal(
    owner: User, *, stage_key: str = "second", process_key: str = "method_test", **extra
) -> Opportunity:
    """A deal of ``owner`` on the test process with two contacts on its account."""
    account = make_account(owner=owner)
    make_contact(account, first="Eve", last="Economic")
    make_contact(account, first="Carl", last="Champion")
    return make_opportunity(
        owner, account=account, stage_key=stage_key, process_key=process_key, **extra
    )


def contact(deal: Opportunity, last: str) -> Contact:
    return Contact.objects.get(account_id=deal.account_id, last_name=last)


def give_role(deal: Opportunity, last: str, role: str) -> Contact:
    person = contact(deal, last)
    OpportunityContact.objects.create(opportunity=deal, contact=person, buying_role=role)
    return person


@dataclass(frozen=True)
class ProbeWorld:
    """What the methodology permission probes try other users' ids against."""

    org: Org
    deal: Opportunity  # rep_a1's, in stage "second" of the test process
    influence_id: int  # the one influence the owner recorded


def build_probe_world(*, name: str | None = None, score_pain: bool = False) -> ProbeWorld:
    """rep_a1's deal with one buying influence (and, if asked, pain scored "partial")."""
    load_test_methodology()
    org = make_org()
    deal = make_deal(org.rep_a1, stage_key="second", name=name)
    if score_pain:
        assessment_record(
            user=org.rep_a1, opportunity_id=deal.pk, pack="qual", element="pain", level="partial"
        )
    influence = influence_save(
        user=org.rep_a1,
        opportunity_id=deal.pk,
        pack="sheet",
        contact_id=contact(deal, "Economic").pk,
        role="economic",
        degree="high",
        response_mode="growth",
    )
    return ProbeWorld(org=org, deal=deal, influence_id=influence.pk)
