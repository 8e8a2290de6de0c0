"""Evidence on the opportunity page in a real browser: a rep records it inline (HTMX, no page
reload), then the manager signs in and verifies it. No sleeps: every wait is an ``expect``."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from milepost.evidence.models import Evidence
from milepost.testing.factories import make_opportunity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Justify stage, verified by a manager, no rule: the evidence alone decides.
KEY = "paper_process_mapped"


def test_rep_records_evidence_inline_and_the_manager_verifies_it(
    org, processes, live_server, login, new_page, sign_in
):
    opp = make_opportunity(org.rep_a1, name="Paper trail", stage_key="negotiate")
    url = f"{live_server.url}/pipeline/opportunities/{opp.pk}/"

    # Given the rep on the deal page
    page = login(org.rep_a1, at=url)
    item = page.locator(f"#criterion-{KEY}")
    expect(item.get_by_test_id("status")).to_have_text("Not met")
    page.evaluate("window.__sameDocument = true")

    # When they record evidence inline (a too-short note first: the 422 shows next to the form)
    item.locator("summary", has_text="Record evidence").click()
    item.get_by_label("What is the evidence?").fill("ok")
    item.get_by_role("button", name="Record evidence", exact=True).click()
    item = page.locator(f"#criterion-{KEY}")
    expect(item.get_by_role("alert")).to_contain_text("at least 3 characters")
    expect(item.get_by_label("What is the evidence?")).to_have_value("ok")
    item.get_by_label("What is the evidence?").fill("Legal and procurement steps agreed with IT")
    item.get_by_role("button", name="Record evidence", exact=True).click()

    # Then the criterion is re-rendered in place: rep-asserted, not yet what a manager verified
    item = page.locator(f"#criterion-{KEY}")
    expect(item.get_by_test_id("status")).to_have_text("Unknown")
    expect(item.get_by_role("status")).to_have_text("Evidence recorded.")
    expect(item.get_by_test_id("evidence")).to_contain_text("Rep-asserted")
    expect(item.get_by_test_id("evidence")).to_contain_text("Legal and procurement steps")
    expect(item.get_by_role("button", name="Verify")).to_have_count(0)  # not on one's own deal
    assert page.evaluate("window.__sameDocument") is True  # no full page load
    assert Evidence.objects.get(opportunity=opp, criterion_key=KEY).level == "rep"

    # When the manager signs in and verifies it
    manager_page = new_page()
    sign_in(manager_page, org.manager_a, at=url)
    item = manager_page.locator(f"#criterion-{KEY}")
    expect(item.get_by_test_id("status")).to_have_text("Unknown")
    manager_page.evaluate("window.__sameDocument = true")
    item.get_by_role("button", name="Verify").click()

    # Then it is met, says who verified it, and offers nothing more to verify
    item = manager_page.locator(f"#criterion-{KEY}")
    expect(item.get_by_test_id("status")).to_have_text("Met")
    expect(item.get_by_test_id("evidence")).to_contain_text("Manager-verified")
    expect(item.get_by_test_id("evidence")).to_contain_text(f"Verified by {org.manager_a}")
    expect(item.get_by_role("button", name="Verify")).to_have_count(0)
    assert manager_page.evaluate("window.__sameDocument") is True
    item.locator("summary", has_text="History").click()
    expect(item.locator(".history-list li")).to_have_count(2)
    expect(item.locator(".history-list li").nth(1)).to_contain_text("Verified by a manager")
