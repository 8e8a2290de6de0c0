"""The methodology panel in a real browser: the deal page loads it, a rep scores an element
inline (HTMX, no page reload) and sees it saved. No sleeps: every wait is an ``expect``."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from milepost.methodology.models import ElementAssessment
from milepost.methodology.tests.panel_support import load_test_methodology, make_deal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_rep_scores_an_element_in_the_panel(org, live_server, login):
    load_test_methodology()
    deal = make_deal(org.rep_a1, stage_key="second", name="Panel deal")

    # Given the rep on the deal page, with the panel loaded after the page
    page = login(org.rep_a1, at=f"{live_server.url}/pipeline/opportunities/{deal.pk}/")
    item = page.locator("#element-qual-economic_buyer")
    expect(item.get_by_test_id("level")).to_have_text("Not started")
    expect(page.get_by_test_id("questions")).to_contain_text("Who signs off a purchase")
    page.evaluate("window.__sameDocument = true")

    # When they score the economic buyer as confirmed, with a note and the contact
    item.locator("summary", has_text="Score").click()
    item.get_by_label("Level").select_option(label="Confirmed")
    item.get_by_label("Notes", exact=True).fill("The CFO signs; she told us on the call")
    item.get_by_label("Economic buyer").select_option(label="Eve Economic")
    item.get_by_role("button", name="Save").click()

    # Then the element is re-rendered in place and saved, as a claim awaiting the manager: the
    # rep may not set the top level on their own word, so the questions still ask
    item = page.locator("#element-qual-economic_buyer")
    expect(item.get_by_role("status")).to_have_text("Saved.")
    expect(item.get_by_test_id("level")).to_have_text("Confirmed")
    expect(item.get_by_test_id("awaiting")).to_contain_text("awaiting a manager's verification")
    expect(item.get_by_test_id("notes")).to_have_text("The CFO signs; she told us on the call")
    expect(page.get_by_test_id("questions")).to_contain_text("Who signs off a purchase")
    assert page.evaluate("window.__sameDocument") is True  # no full page load
    saved = ElementAssessment.objects.get(opportunity=deal, element="economic_buyer")
    assert (saved.level, saved.updated_by_id) == ("confirmed", org.rep_a1.pk)
    assert saved.verified_level == "partial"  # what counts until the manager verifies it
