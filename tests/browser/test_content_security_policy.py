"""The Content-Security-Policy breaks nothing a person does on a page: HTMX swaps (an
explanation row on the inspection page), a deal's stage playbook and job aid, and the designer
work without a single CSP violation or console error. Violations are caught where the browser
raises them, with a ``securitypolicyviolation`` listener installed before any page script runs.

Every page as it loads (with the partials it fetches after itself) is checked for violations
and console errors by the stored-XSS render (``test_stored_xss.py``), which opens every HTML
page of the URL configuration; this module covers what happens after a click."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

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


def visit(page: Page, url: str, errors: list[str], settle) -> None:
    page.goto(url)
    settle(page)  # the HTMX partials a page loads after itself
    violations = page.evaluate("window.__csp")
    assert violations == [], (url, violations)
    assert errors == [], (url, errors)


def test_clicks_keep_the_policy(org, processes, live_server, login, page, settle):
    deal = make_opportunity(org.rep_a1, stage_key="commit", amount="90000", name="Globex")
    errors = watch(page)
    base = live_server.url
    login(org.manager_a)

    # HTMX at work under the policy: an explanation row on the inspection page, and a deal's
    # stage playbook and job aid (they had their own <style> blocks).
    visit(page, base + "/inspection/", errors, settle)
    toggle = page.locator(".explain-toggle").first
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    visit(page, f"{base}/pipeline/opportunities/{deal.pk}/", errors, settle)
    page.get_by_role("link", name="Stage playbook").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Commit")
    settle(page)
    page.go_back()
    page.get_by_role("link", name="Job aid", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Commit")
    settle(page)
    assert page.evaluate("window.__csp") == []
    assert errors == []


def test_the_designer_keeps_the_policy(org, processes, live_server, login, page, settle):
    errors = watch(page)
    login(org.admin)
    visit(page, f"{live_server.url}/process/new_business/", errors, settle)
    page.get_by_role("button", name="Edit in the designer").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")
    settle(page)
    assert page.evaluate("window.__csp") == []
    page.get_by_role("link", name="Discover", exact=True).click()
    settle(page)
    visit(page, f"{live_server.url}/process/designer/", errors, settle)
    assert errors == []
