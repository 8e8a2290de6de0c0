"""The analytics pages in a real browser: no CSP violation or console error, no sideways
scroll on a laptop or a phone (the wide tables scroll inside their wrapper), the navigation
leads there, and a chart's bar and a table's number open the deals behind them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from milepost.testing.factories import make_opportunity
from milepost.testing.moves import move_as_read

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
PAGES = (
    "/analytics/conversion/",
    "/analytics/velocity/",
    "/analytics/waterfall/",
    "/analytics/effectiveness/",
)


def test_analytics_pages_in_the_browser(org, processes, live_server, login, page: Page):
    now = timezone.now()
    for name in ("Globex", "Initech", "Umbrella"):
        deal = make_opportunity(
            org.rep_a1, name=f"{name} expansion", close_in_days=5, at=now - timedelta(days=20)
        )
        move_as_read(
            user=org.admin,
            opportunity_id=deal.pk,
            to_stage_key="discover",
            at=now - timedelta(days=8),
            justification="Buyer confirmed it on the call",
        )
    errors: list[str] = []
    page.context.add_init_script(LISTEN)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(org.manager_a)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Analytics").click()
    expect(page).to_have_url(f"{live_server.url}/analytics/conversion/")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for path in PAGES:
            page.goto(live_server.url + path)
            page.wait_for_load_state("load")
            assert page.evaluate("window.__csp") == [], path
            assert page.evaluate(OVERFLOW) <= 0, (width, path)
    assert errors == []

    # The funnel chart's first bar (deals reaching the first stage) opens those deals.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + PAGES[0])
    chart = page.get_by_role("img", name="Deals reaching each stage")
    expect(chart).to_be_visible()
    chart.locator("a").first.click()
    expect(page.get_by_role("heading", name="3 deals")).to_be_visible()
    for name in ("Globex", "Initech", "Umbrella"):
        expect(page.get_by_role("link", name=f"{name} expansion")).to_be_visible()
    page.go_back()
    # A number in a table does the same.
    page.get_by_role("table").first.get_by_role("link", name="3").first.click()
    expect(page.get_by_role("heading", name="3 deals")).to_be_visible()
