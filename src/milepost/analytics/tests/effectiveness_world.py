"""A small hand-built world for process effectiveness (new_business, gate policy warn).

Five deals created in *engage* at T0 (100 days ago); days are after T0. ``G`` marks a gated
forward move (a ``criteria_result``), ``-`` an ungated one (imported history).

* A (rep_a1, 1000): engage → G discover @10 (unmet fit_with_ideal_customer, justified)
  → G won @20 (unmet stakeholders_identified, justified; skips commit..negotiate).
  Evidence: problem_and_cost_confirmed buyer @5; discovery_recap_accepted buyer @15.
* B (rep_a2, 2000): engage → - discover @5 → lost @60 ("price").
  Evidence: problem_and_cost_confirmed rep @2 (below the buyer verifier).
* C (rep_b1, 3000): engage → G discover @40 (nothing unmet, no justification)
  → G commit @50 (unmet discovery_recap_accepted and stakeholders_identified, justified)
  → lost @70 (no reason). Evidence: discovery_recap_accepted buyer @55 (met late).
* D (rep_solo, 4000): engage → - discover @3 → engage @6 (back) → - discover @8 (open).
  Evidence: problem_and_cost_confirmed buyer @1, rejected @4.
* E (manager_a, 5000): engage → G discover @4 (nothing unmet) → - commit @30 → - won @45.
  Evidence: problem_and_cost_confirmed manager @10, updated to buyer @20.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from milepost.evidence.models import Evidence, EvidenceEvent
from milepost.pipeline.models import Opportunity, StageTransition
from milepost.process.models import Stage
from milepost.process.selectors import current_version
from milepost.testing.factories import Org, ensure_default_processes, make_opportunity, make_org

JUSTIFIED = "Buyer is travelling; confirmed by phone"


@dataclass(frozen=True)
class EffWorld:
    org: Org
    t0: datetime
    ids: dict[str, int]

    def at(self, days: float) -> datetime:
        return self.t0 + timedelta(days=days)


def _gate(unmet: list[tuple[str, str]], justification: str) -> dict[str, Any]:
    return {
        "policy": "warn",
        "forward": True,
        "evaluated_at": "2026-01-01T00:00:00+00:00",
        "met": 0,
        "unmet": [
            {"stage": s, "stage_label": s, "criterion": c, "statement": c, "status": "unmet"}
            for s, c in unmet
        ],
        "justification": justification,
    }


def build() -> EffWorld:
    ensure_default_processes()
    org = make_org()
    t0 = (timezone.now() - timedelta(days=100)).replace(microsecond=0)
    stages = {
        s.key: s for s in Stage.objects.filter(version=current_version(process_key="new_business"))
    }

    def at(days: float) -> datetime:
        return t0 + timedelta(days=days)

    def deal(name: str, owner: Any, amount: str) -> Opportunity:
        return make_opportunity(owner, name=f"Eff {name}", amount=amount, at=t0)

    def move(opp: Opportunity, frm: str, to: str, days: float, gate: Any = None) -> None:
        StageTransition.objects.create(
            opportunity=opp,
            from_stage=stages[frm],
            to_stage=stages[to],
            moved_at=at(days),
            amount=opp.amount,
            currency="USD",
            close_date=opp.close_date,
            source="user" if gate else "import",
            criteria_result=gate,
        )
        Opportunity.objects.filter(pk=opp.pk).update(stage=stages[to], stage_entered_at=at(days))

    def evidence(opp: Opportunity, key: str, *events: tuple[float, str, str]) -> None:
        ev = Evidence.objects.create(
            opportunity=opp,
            criterion_key=key,
            state=events[-1][1],
            level=events[-1][2],
            note="hand-built",
            recorded_by=org.admin,
            recorded_at=at(events[0][0]),
            updated_at=at(events[-1][0]),
        )
        for days, state, level in events:
            EvidenceEvent.objects.create(
                evidence=ev,
                opportunity=opp,
                criterion_key=key,
                action="recorded" if state == "active" else "rejected",
                actor=org.admin,
                at=at(days),
                state=state,
                level=level,
            )

    a = deal("A", org.rep_a1, "1000")
    move(a, "engage", "discover", 10, _gate([("engage", "fit_with_ideal_customer")], JUSTIFIED))
    move(a, "discover", "won", 20, _gate([("discover", "stakeholders_identified")], JUSTIFIED))
    evidence(a, "problem_and_cost_confirmed", (5, "active", "buyer"))
    evidence(a, "discovery_recap_accepted", (15, "active", "buyer"))

    b = deal("B", org.rep_a2, "2000")
    move(b, "engage", "discover", 5)
    move(b, "discover", "lost", 60)
    Opportunity.objects.filter(pk=b.pk).update(lost_reason="price")
    evidence(b, "problem_and_cost_confirmed", (2, "active", "rep"))

    c = deal("C", org.rep_b1, "3000")
    move(c, "engage", "discover", 40, _gate([], ""))
    move(
        c,
        "discover",
        "commit",
        50,
        _gate(
            [("discover", "stakeholders_identified"), ("discover", "discovery_recap_accepted")],
            JUSTIFIED,
        ),
    )
    move(c, "commit", "lost", 70)
    evidence(c, "discovery_recap_accepted", (55, "active", "buyer"))

    d = deal("D", org.rep_solo, "4000")
    move(d, "engage", "discover", 3)
    move(d, "discover", "engage", 6)
    move(d, "engage", "discover", 8)
    evidence(d, "problem_and_cost_confirmed", (1, "active", "buyer"), (4, "rejected", "buyer"))

    e = deal("E", org.manager_a, "5000")
    move(e, "engage", "discover", 4, _gate([], ""))
    move(e, "discover", "commit", 30)
    move(e, "commit", "won", 45)
    evidence(e, "problem_and_cost_confirmed", (10, "active", "manager"), (20, "active", "buyer"))
    return EffWorld(org, t0, {"A": a.pk, "B": b.pk, "C": c.pk, "D": d.pk, "E": e.pk})
