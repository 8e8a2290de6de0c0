"""The agenda drafted from real inspection data: deals ranked by amount x risk x closeness with
their unmet criteria and signals, questions from the methodology mapped to the deal's stage,
skill gaps against the team, carry-over of open items (overdue flagged), and the draft frozen
into a session."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from milepost.coaching.agenda.services import agenda_draft, quarter_end, session_create_from_draft
from milepost.coaching.models import ActionItem, ItemKind
from milepost.coaching.sessions import services as svc
from milepost.core.errors import NotFound
from milepost.engine.agenda import closeness
from milepost.inspection.pipeline import inspect_pipeline
from milepost.methodology.models import ElementAssessment
from milepost.pipeline.models import Opportunity
from milepost.process.selectors import pack_definitions, process_definition
from milepost.testing.factories import make_opportunity

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("day", "end"),
    [
        (date(2030, 1, 1), date(2030, 3, 31)),
        (date(2030, 3, 31), date(2030, 3, 31)),
        (date(2030, 4, 1), date(2030, 6, 30)),
        (date(2030, 8, 15), date(2030, 9, 30)),
        (date(2030, 12, 31), date(2030, 12, 31)),
    ],
)
def test_quarter_end(day, end):
    assert quarter_end(day) == end


def element_questions(stage, packs) -> dict[tuple[str, str], list[str]]:
    out = {}
    for pack_key, mapping in stage.methodology.items():
        elements = {e.key: e for e in packs[pack_key].elements}
        for key in mapping.required + mapping.recommended:
            e = elements[key]
            out[(pack_key, key)] = list(e.coaching_questions or e.questions)
    return out


@pytest.fixture
def deals(org, processes):
    big = make_opportunity(org.rep_a1, stage_key="commit", amount="100000", close_in_days=10)
    late = make_opportunity(org.rep_a1, stage_key="commit", amount="100000", close_in_days=400)
    small = make_opportunity(org.rep_a1, stage_key="commit", amount="2000", close_in_days=10)
    peer = make_opportunity(org.rep_a2, stage_key="commit", amount="900000", close_in_days=10)
    return {"big": big, "late": late, "small": small, "peer": peer}


def test_deals_rank_by_amount_risk_and_closeness_with_real_reasons(org, deals):
    draft, ctx = agenda_draft(manager=org.manager_a, rep_id=org.rep_a1.id)
    ids = [d.opportunity_id for d in draft.deal_items]
    assert deals["peer"].id not in ids  # only the rep's deals
    assert ids[0] == deals["big"].id
    assert set(ids) == {deals["big"].id, deals["late"].id, deals["small"].id}
    priorities = [d.priority for d in draft.deal_items]
    assert priorities == sorted(priorities, reverse=True)

    # The numbers are the inspection's, not made up.
    result = inspect_pipeline(user=org.manager_a, with_statuses=True)
    risk = dict(result.deals.select("opportunity_id", "risk").iter_rows())
    period_end = ctx["period_end"]
    for item in draft.deal_items:
        opp = Opportunity.objects.get(pk=item.opportunity_id)
        expected = float(opp.amount) * risk[opp.id] / 100 * closeness(opp.close_date, period_end)
        assert item.priority == pytest.approx(expected)

    # Reasons: the statements of unmet criteria up to the claimed stage, then signal reasons.
    big = draft.deal_items[0]
    process = process_definition(deals["big"].stage.version_id)
    statuses = {c: s for o, c, s in result.statuses.iter_rows() if o == deals["big"].id}
    upto = []
    for stage in process.open_stages:
        upto += [c for c in stage.exit_criteria]
        if stage.key == "commit":
            break
    unmet = [c.statement for c in upto if statuses[c.id] != "met"]
    assert unmet
    assert list(big.unverified) == unmet
    rows = result.signals.select("opportunity_id", "reason").iter_rows()
    signal_reasons = [r for o, r in rows if o == deals["big"].id]
    assert signal_reasons
    assert list(big.signals) == signal_reasons
    assert big.reasons == big.unverified + big.signals


def test_questions_come_from_the_methodology_mapped_to_the_stage(org, deals):
    packs = pack_definitions()
    process = process_definition(deals["big"].stage.version_id)
    stage = next(s for s in process.stages if s.key == "commit")
    by_element = element_questions(stage, packs)
    allowed = {q for qs in by_element.values() for q in qs}

    draft, _ = agenda_draft(manager=org.manager_a, rep_id=org.rep_a1.id)
    big = next(d for d in draft.deal_items if d.opportunity_id == deals["big"].id)
    assert big.questions
    assert set(big.questions) <= allowed
    # Required elements first; the first required element's first coaching question leads.
    pack_key, mapping = next((k, m) for k, m in stage.methodology.items() if m.required)
    first = (pack_key, mapping.required[0])
    assert big.questions[0] == by_element[first][0]

    # Once that element is confirmed on the deal, the next unsettled element leads instead.
    element = next(e for e in packs[pack_key].elements if e.key == first[1])
    top = (element.scale or packs[pack_key].scale).levels[-1].key
    ElementAssessment.objects.create(
        opportunity=deals["big"],
        pack=pack_key,
        element=first[1],
        level=top,
        updated_at=timezone.now(),
    )
    draft, _ = agenda_draft(manager=org.manager_a, rep_id=org.rep_a1.id)
    big = next(d for d in draft.deal_items if d.opportunity_id == deals["big"].id)
    second = (pack_key, mapping.required[1])
    assert big.questions[0] == by_element[second][0]


def test_skill_gap_against_the_team(org, processes):
    """rep_a1 records no next step on any deal; the rest of the team always does."""
    for _ in range(4):
        make_opportunity(org.rep_a1, stage_key="discover", amount="10000")
    peers = [make_opportunity(org.rep_a2, stage_key="discover", amount="10000") for _ in range(6)]
    Opportunity.objects.filter(pk__in=[p.pk for p in peers]).update(
        next_step="Demo with the team", next_step_date=date.today() + timedelta(days=7)
    )
    draft, ctx = agenda_draft(manager=org.manager_a, rep_id=org.rep_a1.id)
    assert "no_next_step" in [g.indicator for g in ctx["gaps"]]
    assert "no_next_step" in [s.indicator for s in draft.skill_items]
    gap = next(g for g in ctx["gaps"] if g.indicator == "no_next_step")
    assert (gap.rep_hits, gap.rep_deals) == (4, 4)
    # And not the other way round: rep_a2 has no such gap.
    _, ctx2 = agenda_draft(manager=org.manager_a, rep_id=org.rep_a2.id)
    assert "no_next_step" not in [g.indicator for g in ctx2["gaps"]]


def test_carry_over_lists_open_items_overdue_first(org, deals):
    today = timezone.localdate()
    earlier = svc.session_create(
        user=org.manager_a, rep_id=org.rep_a1.id, scheduled_for=timezone.now() - timedelta(days=14)
    )
    other = svc.session_create(
        user=org.manager_a, rep_id=org.rep_a2.id, scheduled_for=timezone.now() - timedelta(days=14)
    )

    def add(session, title, due, owner):
        return svc.action_item_add(
            user=org.manager_a,
            session_id=session.id,
            title=title,
            due_date=due,
            owner_id=owner.id,
        )

    later = add(earlier, "Send the recap", today + timedelta(days=3), org.rep_a1)
    overdue = add(earlier, "Call the CFO", today - timedelta(days=4), org.rep_a1)
    mine = add(earlier, "Join the next call", today + timedelta(days=1), org.manager_a)
    done = add(earlier, "Already done", today - timedelta(days=9), org.rep_a1)
    svc.action_item_set_status(
        user=org.rep_a1, action_id=done.id, status="done", expected_version=1
    )
    add(other, "Peer's item", today - timedelta(days=2), org.rep_a2)

    draft, _ = agenda_draft(manager=org.manager_a, rep_id=org.rep_a1.id)
    assert [c.action_id for c in draft.carry_over] == [overdue.id, mine.id, later.id]
    first = draft.carry_over[0]
    assert (first.overdue, first.days_overdue) == (True, 4)
    assert not any(c.overdue for c in draft.carry_over[1:])


def test_session_created_from_the_draft_freezes_the_detail(org, deals):
    when = timezone.now() + timedelta(days=3)
    draft, _ = agenda_draft(manager=org.manager_a, rep_id=org.rep_a1.id)
    session = session_create_from_draft(org.manager_a, org.rep_a1.id, when)
    items = list(session.items.order_by("position"))
    deal_items = [i for i in items if i.kind == ItemKind.DEAL]
    assert [i.opportunity_id for i in deal_items] == [d.opportunity_id for d in draft.deal_items]
    assert [i.position for i in items] == list(range(1, len(items) + 1))
    first = deal_items[0]
    assert first.detail["reasons"] == list(draft.deal_items[0].reasons)
    assert first.detail["questions"] == list(draft.deal_items[0].questions)
    assert first.detail["amount"] == str(draft.deal_items[0].amount)
    # Frozen: closing the gap later does not rewrite what the manager was shown.
    Opportunity.objects.filter(pk=first.opportunity_id).update(name="Renamed")
    first.refresh_from_db()
    assert first.detail["reasons"] == list(draft.deal_items[0].reasons)
    assert session.generated_at is not None


@pytest.mark.parametrize("who", ["rep_a1", "rep_a2", "manager_b", "admin"])
def test_only_managers_above_the_rep_draft(org, deals, who):
    with pytest.raises(NotFound):
        agenda_draft(manager=getattr(org, who), rep_id=org.rep_a1.id)
    assert ActionItem.objects.count() == 0


def test_the_leader_drafts_against_the_whole_team_below(org, deals):
    draft, ctx = agenda_draft(manager=org.leader, rep_id=org.rep_a1.id)
    assert draft.deal_items[0].opportunity_id == deals["big"].id
    assert ctx["team_size"] == 5  # two managers and three reps
