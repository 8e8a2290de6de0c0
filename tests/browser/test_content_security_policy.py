"""The Content-Security-Policy breaks nothing: every signed-in page of the nav, a deal page, a
1:1 and the designer load and work (HTMX swaps included) without a single CSP violation or
console error. Violations are caught where the browser raises them, with a
``securitypolicyviolation`` listener installed before any page script runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from milepost.coaching.agenda.services import session_create_from_draft
from milepost.testing.factories import make_opportunity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(
    e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber
  );
});
"""


def watch(page: Page) -> list[str]:
    """Console errors and uncaught exceptions of ``page``, as they happen."""
    errors: list[str] = []
    page.context.add_init_script(LISTEN)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def visit(page: Page, url: str, errors: list[str]) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")  # the HTMX partials a page loads after itself
    violations = page.evaluate("window.__csp")
    assert violations == [], (url, violations)
    assert errors == [], (url, errors)


def test_no_page_breaks_the_policy(org, processes, live_server, login, page):
    deal = make_opportunity(org.rep_a1, stage_key="commit", amount="90000", name="Globex")
    session = session_create_from_draft(
        org.manager_a, org.rep_a1.id, timezone.now() + timedelta(days=2)
    )
    errors = watch(page)
    base = live_server.url

    login(org.manager_a)
    nav = page.get_by_role("navigation", name="Main")
    pages = [nav.get_by_role("link", name=n) for n in ("Board", "Opportunities", "Inspection")]
    hrefs = [link.get_attribute("href") for link in pages]
    for href in [
        *hrefs,
        "/coaching/",
        "/coaching/actions/",
        "/coaching/skills/",
        "/coaching/skills/team/",
        "/coaching/skills/model/",
        f"/coaching/skills/reps/{org.rep_a1.pk}/",
        "/coaching/leaders/",
        "/process/",
        "/process/new_business/",
        "/process/new_business/map/",
        "/team/tokens/",
        f"/pipeline/opportunities/{deal.pk}/",
        f"/coaching/sessions/{session.pk}/",
    ]:
        visit(page, base + href, errors)

    # HTMX at work under the policy: an explanation row on the inspection page, and a deal's
    # stage playbook and job aid (they had their own <style> blocks).
    visit(page, base + "/inspection/", errors)
    toggle = page.locator(".explain-toggle").first
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    visit(page, f"{base}/pipeline/opportunities/{deal.pk}/", errors)
    page.get_by_role("link", name="Stage playbook").click()
    page.wait_for_load_state("networkidle")
    page.go_back()
    page.get_by_role("link", name="Job aid", exact=True).click()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__csp") == []
    assert errors == []


def test_the_designer_keeps_the_policy(org, processes, live_server, login, page):
    errors = watch(page)
    login(org.admin)
    visit(page, f"{live_server.url}/process/new_business/", errors)
    page.get_by_role("button", name="Edit in the designer").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__csp") == []
    page.get_by_role("link", name="Discover", exact=True).click()
    page.wait_for_load_state("networkidle")
    visit(page, f"{live_server.url}/process/designer/", errors)
    assert errors == []
