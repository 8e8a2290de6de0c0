"""The API docs page (vendored Swagger UI) in a real browser: it lists every tag of the OpenAPI
document with a filter box, an operation opens with its parameters and responses resolved
(Swagger UI resolves an operation when it is opened; the page skips only the eager resolution
of the security schemes, see milepost/api-docs.js), all without a CSP violation or a console
error. Not timed: speed is ``bin/bench api-docs``."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from milepost.api import api

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile);
});
"""


def watch(page: Page) -> list[str]:
    """Console errors and uncaught exceptions of ``page``; CSP violations go to ``__csp``."""
    errors: list[str] = []
    page.context.add_init_script(LISTEN)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_docs_list_the_operations_and_open_one_within_the_policy(org, live_server, login, page):
    schema = api.get_openapi_schema()
    tags = {tag for item in schema["paths"].values() for op in item.values() for tag in op["tags"]}
    errors = watch(page)
    login(org.rep_a1, at=f"{live_server.url}/api/v1/docs")

    # The operation list: one heading per tag, collapsed, and the filter box
    expect(page.locator(".opblock-tag")).to_have_count(len(tags))
    expect(page.locator(".operation-filter-input")).to_be_visible()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()

    # Opening a tag lists its operations; opening one shows its parameters and responses
    section = page.locator(".opblock-tag-section").filter(
        has=page.locator('.opblock-tag[data-tag="opportunities"]')
    )
    section.locator(".opblock-tag").click()
    operation = section.locator(".opblock").first
    expect(operation).to_be_visible()
    operation.locator(".opblock-summary-control").click()
    expect(operation.locator(".responses-wrapper")).to_be_visible()
    expect(operation.locator(".responses-table .response").first).to_be_visible()

    assert page.evaluate("window.__csp") == []
    assert errors == []
