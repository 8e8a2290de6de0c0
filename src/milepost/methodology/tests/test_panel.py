"""What the methodology panel shows at each stage: the elements that matter now (required before
recommended), questions only for elements not yet at their top level, gaps carried from
earlier stages, and the deal's contacts suggested by buying role. Built from real rows through
the real services, on the small packs of :mod:`panel_support`."""

from __future__ import annotations

import pytest

from milepost.core.errors import NotFound
from milepost.methodology.panel import (
    CARRIED,
    RECOMMENDED,
    REQUIRED,
    blue_sheet,
    build_panel,
    element_history,
    methodology_panel,
)
from milepost.methodology.services import assessment_record
from milepost.methodology.tests.panel_support import (
    contact,
    give_role,
    load_test_methodology,
    make_deal,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def method(org) -> None:
    load_test_methodology()


def score(user, deal, element, level, pack="qual", **extra):
    current = methodology_panel(user=user, opportunity_id=deal.pk).row(pack, element)
    return assessment_record(
        user=user,
        opportunity_id=deal.pk,
        pack=pack,
        element=element,
        level=level,
        expected_version=current.version if current and current.assessment else None,
        **extra,
    )


def shown(panel) -> list[tuple[str, str, str]]:
    return [(r.pack.key, r.key, r.requirement) for s in panel.sections for r in s.elements]


def test_first_stage_shows_its_elements_required_first(org, method):
    deal = make_deal(org.rep_a1, stage_key="first")
    panel = methodology_panel(user=org.rep_a1, opportunity_id=deal.pk)
    assert panel.stage.key == "first"
    assert shown(panel) == [("qual", "pain", REQUIRED), ("qual", "champion", RECOMMENDED)]
    assert [s.purpose for s in panel.sections] == ["Qualify the deal"]
    assert panel.sections[0].carried_gaps == []  # nothing before the first stage
    pain = panel.row("qual", "pain")
    assert (pain.level_label, pain.assessment, pain.at_top) == ("Not started", None, False)


def test_second_stage_combines_two_packs_with_their_purposes(org, method):
    deal = make_deal(org.rep_a1, stage_key="second")
    panel = methodology_panel(user=org.rep_a1, opportunity_id=deal.pk)
    assert shown(panel) == [
        ("qual", "economic_buyer", REQUIRED),
        ("qual", "decision", RECOMMENDED),
        ("sheet", "objective", REQUIRED),
    ]
    assert [(s.pack.key, s.purpose) for s in panel.sections] == [
        ("qual", "Qualify the deal"),
        ("sheet", "Account strategy"),
    ]
    assert [p.key for p in panel.blue_sheet_packs] == ["sheet"]


def test_questions_come_from_unmet_elements_required_first_and_are_few(org, method):
    deal = make_deal(org.rep_a1, stage_key="second")
    panel = methodology_panel(user=org.rep_a1, opportunity_id=deal.pk)
    elements = [(q.element, q.requirement) for q in panel.questions]
    # Breadth first: every unmet element's first question, required ones (and the carried pain)
    # before the recommended decision criteria; then second questions.
    assert elements[:4] == [
        ("economic_buyer", REQUIRED),
        ("objective", REQUIRED),
        ("pain", CARRIED),
        ("decision", RECOMMENDED),
    ]
    assert len(panel.questions) == 6
    assert panel.questions[0].text == "Who signs off a purchase of this size?"


def test_an_element_at_its_top_level_asks_no_more_questions(org, method):
    deal = make_deal(org.rep_a1, stage_key="first")
    score(org.rep_a1, deal, "pain", "partial")
    panel = methodology_panel(user=org.rep_a1, opportunity_id=deal.pk)
    assert {q.element for q in panel.questions} == {"pain", "champion"}  # partial: still asks
    score(org.rep_a1, deal, "pain", "confirmed")
    # the rep's own "confirmed" awaits the manager: still a gap
    panel = methodology_panel(user=org.rep_a1, opportunity_id=deal.pk)
    assert {q.element for q in panel.questions} == {"pain", "champion"}
    assert not panel.row("qual", "pain").at_top
    score(org.manager_a, deal, "pain", "confirmed")
    panel = methodology_panel(user=org.rep_a1, opportunity_id=deal.pk)
    assert {q.element for q in panel.questions} == {"champion"}
    assert panel.row("qual", "pain").at_top


def test_gaps_required_earlier_are_carried_until_confirmed(org, method):
    deal = make_deal(org.rep_a1, stage_key="second")
    panel = methodology_panel(user=org.rep_a1, opportunity_id=deal.pk)
    gaps = panel.sections[0].carried_gaps
    assert [(g.key, g.requirement, g.carried_from) for g in gaps] == [("pain", CARRIED, "First")]
    # champion was only recommended at "first": not a carried gap
    assert panel.row("qual", "champion") is None
    score(org.manager_a, deal, "pain", "confirmed")
    panel = methodology_panel(user=org.rep_a1, opportunity_id=deal.pk)
    assert panel.sections[0].carried_gaps == []


def test_recommended_now_but_required_earlier_and_open_is_a_carried_gap(org, method):
    deal = make_deal(org.rep_a1, stage_key="third")
    panel = methodology_panel(user=org.rep_a1, opportunity_id=deal.pk)
    assert shown(panel) == [("qual", "decision", RECOMMENDED)]
    gaps = [(g.key, g.carried_from) for g in panel.sections[0].carried_gaps]
    assert gaps == [("pain", "First"), ("economic_buyer", "Second")]
    score(org.manager_a, deal, "economic_buyer", "confirmed")
    panel = methodology_panel(user=org.rep_a1, opportunity_id=deal.pk)
    assert shown(panel) == [
        ("qual", "economic_buyer", RECOMMENDED),
        ("qual", "decision", RECOMMENDED),
    ]
    assert [g.key for g in panel.sections[0].carried_gaps] == ["pain"]


def test_a_won_deal_carries_every_unmet_required_element(org, method):
    deal = make_deal(org.rep_a1, stage_key="won")
    panel = methodology_panel(user=org.rep_a1, opportunity_id=deal.pk)
    assert shown(panel) == []
    gaps = [(r.pack.key, r.key) for s in panel.sections for r in s.carried_gaps]
    assert gaps == [("qual", "pain"), ("qual", "economic_buyer"), ("sheet", "objective")]


def test_contacts_with_the_element_buying_role_are_suggested(org, method):
    deal = make_deal(org.rep_a1, stage_key="second")
    eve = give_role(deal, "Economic", "economic_buyer")
    give_role(deal, "Champion", "champion")
    panel = methodology_panel(user=org.rep_a1, opportunity_id=deal.pk)
    eb = panel.row("qual", "economic_buyer")
    assert [(s.contact.pk, s.linked) for s in eb.suggestions] == [(eve.pk, False)]
    assert panel.row("qual", "decision").suggestions == []  # no contact roles on it
    score(org.rep_a1, deal, "economic_buyer", "partial", contact_ids=[eve.pk])
    eb = methodology_panel(user=org.rep_a1, opportunity_id=deal.pk).row("qual", "economic_buyer")
    assert [(s.contact.pk, s.linked) for s in eb.suggestions] == [(eve.pk, True)]
    assert [c.pk for c in eb.linked_contacts] == [eve.pk]


def test_row_carries_score_rubric_notes_answers_and_who(org, method):
    deal = make_deal(org.rep_a1, stage_key="second")
    eve = contact(deal, "Economic")
    score(
        org.rep_a1,
        deal,
        "economic_buyer",
        "confirmed",
        notes="Met the CFO",
        answers={"who": str(eve.pk)},
    )
    row = methodology_panel(user=org.manager_a, opportunity_id=deal.pk).row(
        "qual", "economic_buyer"
    )
    assert (row.level_label, row.level.rubric) == ("Confirmed", "The buyer said it in writing.")
    assert (row.notes, row.updated_by, row.version) == ("Met the CFO", org.rep_a1, 1)
    assert [(a.label, a.display) for a in row.answers] == [("Economic buyer", eve.full_name)]


def test_a_pack_that_is_not_loaded_is_named_not_shown(org, method):
    deal = make_deal(org.rep_a1, stage_key="second")
    panel = methodology_panel(user=org.rep_a1, opportunity_id=deal.pk)
    from milepost.process.selectors import pack_definitions, process_definition

    packs = {k: v for k, v in pack_definitions().items() if k != "sheet"}
    rebuilt = build_panel(
        opportunity=deal,
        process=process_definition(deal.stage.version_id),
        stage_key="second",
        packs=packs,
        assessments={},
        roles=[],
        contacts=[],
    )
    assert rebuilt.missing_packs == ["sheet"]
    assert [s.pack.key for s in rebuilt.sections] == ["qual"]
    assert len(panel.sections) == 2


def test_hidden_deals_have_no_panel_history_or_blue_sheet(org, method):
    deal = make_deal(org.rep_a1)
    for user in (org.rep_a2, org.manager_b, org.rep_solo):
        with pytest.raises(NotFound):
            methodology_panel(user=user, opportunity_id=deal.pk)
        with pytest.raises(NotFound):
            element_history(user=user, opportunity_id=deal.pk, pack="qual", element="pain")
        with pytest.raises(NotFound):
            blue_sheet(user=user, opportunity_id=deal.pk, pack="sheet")


def test_blue_sheet_needs_a_pack_with_buying_influences_used_by_the_process(org, method):
    deal = make_deal(org.rep_a1)
    assert blue_sheet(user=org.rep_a1, opportunity_id=deal.pk, pack="sheet").pack.key == "sheet"
    with pytest.raises(NotFound):
        blue_sheet(user=org.rep_a1, opportunity_id=deal.pk, pack="qual")  # no influences
    plain = make_deal(org.rep_a1, process_key="plain_test", stage_key="first")
    with pytest.raises(NotFound):
        blue_sheet(user=org.rep_a1, opportunity_id=plain.pk, pack="sheet")  # not in the process


def test_history_shows_level_changes_with_labels_newest_first(org, method):
    deal = make_deal(org.rep_a1, stage_key="first")
    score(org.rep_a1, deal, "pain", "partial")
    score(org.manager_a, deal, "pain", "confirmed")
    result = element_history(user=org.rep_a1, opportunity_id=deal.pk, pack="qual", element="pain")
    assert [(h.event.actor, h.from_label, h.to_label) for h in result.rows] == [
        (org.manager_a, "Partial", "Confirmed"),
        (org.rep_a1, "", "Partial"),
    ]
