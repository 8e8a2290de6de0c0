"""The methodology panel and Blue Sheet pages: inline scoring (HTMX and plain forms), version
conflicts, history and buying influences. What a person sees is read from the rendered HTML
(``data-testid``). The permission probes as every role are in ``test_views_probes.py``."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from milepost.methodology.models import (
    BuyingInfluence,
    BuyingInfluenceEvent,
    ElementAssessment,
    ElementAssessmentEvent,
)
from milepost.methodology.services import assessment_record
from milepost.methodology.tests.panel_support import contact, load_test_methodology, make_deal
from milepost.testing.factories import make_account, make_contact

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def deal(org):
    load_test_methodology()
    return make_deal(org.rep_a1, stage_key="second", name="Method deal")


def panel_url(deal) -> str:
    return reverse("methodology:panel", args=[deal.pk])


def save_url(deal, element: str, pack: str = "qual") -> str:
    return reverse("methodology:element_save", args=[deal.pk, pack, element])


def element_html(html: str, pack: str, element: str) -> str:
    match = re.search(
        rf'<li class="[^"]*" id="element-{pack}-{element}".*?</li>\s*(?=<li|</ul>)', html, re.S
    )
    assert match, f"element {pack}.{element} not on the page"
    return match.group(0)


def level_of(html: str, pack: str, element: str) -> str:
    block = element_html(html, pack, element)
    return re.search(r'data-testid="level">([^<]+)<', block).group(1)


# --- the panel --------------------------------------------------------------------


def test_deal_page_loads_the_panel_and_the_panel_shows_the_stage(org, deal, client_for):
    client = client_for(org.rep_a1)
    page = client.get(reverse("pipeline:detail", args=[deal.pk])).content.decode()
    assert f'hx-get="{panel_url(deal)}"' in page  # the slot that loads the panel
    html = client.get(panel_url(deal), **HTMX).content.decode()
    assert "<html" not in html  # the partial
    assert 'id="methodology-panel"' in html
    assert level_of(html, "qual", "economic_buyer") == "Not started"
    assert 'data-requirement="required"' in element_html(html, "qual", "economic_buyer")
    assert "Who signs off a purchase of this size?" in html  # a question to ask
    assert 'data-testid="carried-gaps"' in html
    assert "required since First" in html
    assert reverse("methodology:blue_sheet", args=[deal.pk, "sheet"]) in html
    full = client.get(panel_url(deal)).content.decode()
    assert "<html" in full
    assert 'id="methodology-panel"' in full


def test_rep_scores_an_element_inline(org, deal, client_for):
    client = client_for(org.rep_a1)
    eve = contact(deal, "Economic")
    response = client.post(
        save_url(deal, "economic_buyer"),
        {
            "level": "partial",
            "notes": "CFO named by the champion",
            "answer__who": str(eve.pk),
            "contacts": [str(eve.pk)],
            "version": "0",
        },
        **HTMX,
    )
    assert response.status_code == 200
    # A score can meet an exit criterion: the deal page's process map re-fetches on this event.
    assert response["HX-Trigger"] == "deal-changed"
    html = response.content.decode()
    block = element_html(html, "qual", "economic_buyer")
    assert level_of(html, "qual", "economic_buyer") == "Partial"
    assert "Saved." in block
    assert "CFO named by the champion" in block
    assert eve.full_name in block
    row = ElementAssessment.objects.get(opportunity=deal, element="economic_buyer")
    assert (row.level, row.version, row.answers) == ("partial", 1, {"who": eve.pk})
    assert list(row.contacts.values_list("pk", flat=True)) == [eve.pk]
    event = ElementAssessmentEvent.objects.get(opportunity=deal)
    assert (event.actor, event.level) == (org.rep_a1, "partial")
    # the form now carries the new version
    assert 'name="version" value="1"' in block


def test_bad_input_is_a_422_next_to_the_form_and_saves_nothing(org, deal, client_for):
    client = client_for(org.rep_a1)
    response = client.post(
        save_url(deal, "decision"), {"level": "sure", "notes": "keep me", "version": "0"}, **HTMX
    )
    assert response.status_code == 422
    assert "HX-Trigger" not in response
    block = element_html(response.content.decode(), "qual", "decision")
    assert "Nothing was saved" in block
    assert "&#x27;sure&#x27; is not a level" in block
    assert "keep me" in block  # what was typed is kept
    assert not ElementAssessment.objects.exists()


def test_stale_version_is_a_409_and_keeps_the_other_change(org, deal, client_for):
    assessment_record(
        user=org.manager_a, opportunity_id=deal.pk, pack="qual", element="decision", level="partial"
    )
    client = client_for(org.rep_a1)
    response = client.post(
        save_url(deal, "decision"), {"level": "confirmed", "version": "0"}, **HTMX
    )
    assert response.status_code == 409
    assert "Someone else changed this" in element_html(
        response.content.decode(), "qual", "decision"
    )
    assert ElementAssessment.objects.get(element="decision").level == "partial"
    assert ElementAssessmentEvent.objects.count() == 1


def test_plain_form_redirects_back_with_a_message(org, deal, client_for):
    client = client_for(org.rep_a1)
    response = client.post(save_url(deal, "decision"), {"level": "confirmed", "version": "0"})
    assert response.status_code == 302
    assert response["Location"].endswith("#element-qual-decision")
    assert ElementAssessment.objects.get(element="decision").level == "confirmed"
    response = client.post(save_url(deal, "decision"), {"level": "confirmed", "version": "7"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Someone else changed this" in page


def test_history_lists_who_when_from_and_to(org, deal, client_for):
    assessment_record(
        user=org.rep_a1, opportunity_id=deal.pk, pack="qual", element="decision", level="partial"
    )
    assessment_record(
        user=org.manager_a,
        opportunity_id=deal.pk,
        pack="qual",
        element="decision",
        level="confirmed",
        expected_version=1,
    )
    url = reverse("methodology:history", args=[deal.pk, "qual", "decision"])
    html = client_for(org.rep_a1).get(url, **HTMX).content.decode()
    items = re.findall(r"<li>(.*?)</li>", html, re.S)
    assert len(items) == 2
    assert str(org.manager_a) in items[0]
    assert "Partial → Confirmed" in items[0]
    assert str(org.rep_a1) in items[1]
    assert "Partial" in items[1]


# --- the Blue Sheet -------------------------------------------------------------------------------


def sheet_url(deal, *parts) -> str:
    name = {0: "blue_sheet", 1: "influence_add"}.get(len(parts), "influence_edit")
    return reverse(f"methodology:{name}", args=[deal.pk, "sheet", *parts[1:]])


def influence_body(person, **extra) -> dict:
    return {
        "contact": str(person.pk),
        "role": "economic",
        "degree": "high",
        "response_mode": "growth",
        "rating": "3",
        "win_results": "A promotion for a cost cut",
        **extra,
    }


def test_blue_sheet_lists_adds_edits_and_removes_influences(org, deal, client_for):
    client = client_for(org.rep_a1)
    eve = contact(deal, "Economic")
    html = client.get(reverse("methodology:blue_sheet", args=[deal.pk, "sheet"])).content.decode()
    assert "No buying influences recorded yet" in html
    assert "Single sales objective" in html
    assert "Nobody at the buyer has confirmed" in html
    add = reverse("methodology:influence_add", args=[deal.pk, "sheet"])
    response = client.post(add, influence_body(eve), **HTMX)
    assert response.status_code == 200
    table = re.search(r'data-testid="influences">.*?</table>', response.content.decode(), re.S)
    assert table
    assert eve.full_name in table.group(0)
    assert "Growth" in table.group(0)
    influence = BuyingInfluence.objects.get(opportunity=deal)
    edit = reverse("methodology:influence_edit", args=[deal.pk, "sheet", influence.pk])
    response = client.post(
        edit, influence_body(eve, response_mode="trouble", rating="-2", version="1"), **HTMX
    )
    assert response.status_code == 200
    influence.refresh_from_db()
    assert (influence.response_mode, influence.rating, influence.version) == ("trouble", -2, 2)
    remove = reverse("methodology:influence_remove", args=[deal.pk, "sheet", influence.pk])
    assert client.post(remove, {"version": "1"}, **HTMX).status_code == 409
    assert client.post(remove, {"version": "2"}, **HTMX).status_code == 200
    assert not BuyingInfluence.objects.exists()
    actions = list(BuyingInfluenceEvent.objects.values_list("action", "actor"))
    assert actions == [
        ("added", org.rep_a1.pk),
        ("updated", org.rep_a1.pk),
        ("removed", org.rep_a1.pk),
    ]


def test_blue_sheet_refuses_out_of_range_rating_and_foreign_contact(org, deal, client_for):
    client = client_for(org.rep_a1)
    add = reverse("methodology:influence_add", args=[deal.pk, "sheet"])
    eve = contact(deal, "Economic")
    response = client.post(add, influence_body(eve, rating="9"), **HTMX)
    assert response.status_code == 422
    assert "the rating is a whole number from -5 to 5" in response.content.decode()
    stranger = make_contact(make_account(owner=org.rep_a1), first="Sam", last="Stranger")
    response = client.post(add, influence_body(stranger), **HTMX)
    assert response.status_code == 422
    assert "not a contact of this deal" in response.content.decode()
    assert not BuyingInfluence.objects.exists()
    assert not BuyingInfluenceEvent.objects.exists()


def test_blue_sheet_elements_are_scored_on_the_sheet_and_come_back_to_it(org, deal, client_for):
    client = client_for(org.rep_a1)
    sheet = reverse("methodology:blue_sheet", args=[deal.pk, "sheet"])
    html = client.get(sheet).content.decode()
    block = element_html(html, "sheet", "best_action")  # not mapped at any stage: still here
    assert 'name="next" value="blue_sheet"' in block
    response = client.post(
        save_url(deal, "best_action", pack="sheet"),
        {"level": "drafted", "notes": "Lunch with the CFO", "next": "blue_sheet"},
    )
    assert response["Location"] == f"{sheet}#element-sheet-best_action"
    html = client.get(response["Location"]).content.decode()
    assert level_of(html, "sheet", "best_action") == "Drafted"
    assert "Lunch with the CFO" in element_html(html, "sheet", "best_action")


def test_no_blue_sheet_for_a_process_without_buying_influences(org, deal, client_for):
    plain = make_deal(org.rep_a1, process_key="plain_test", stage_key="first")
    client = client_for(org.rep_a1)
    assert (
        client.get(reverse("methodology:blue_sheet", args=[plain.pk, "sheet"])).status_code == 404
    )
    html = client.get(panel_url(plain), **HTMX).content.decode()
    assert "Blue Sheet" not in html
