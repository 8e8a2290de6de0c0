"""The process designer in a real browser: an admin starts a draft, renames a stage, reorders
stages with the keyboard (Up / Down buttons, no drag), publishes (a background job), and sees
the new version."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from milepost.process.models import ProcessVersion

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases=["default", "jobs"]),
]


def test_admin_renames_reorders_with_the_keyboard_and_publishes(org, processes, live_server, login):
    page = login(org.admin, at=f"{live_server.url}/process/new_business/")
    page.get_by_role("button", name="Edit in the designer").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")

    # Rename the second stage on its page.
    page.get_by_role("link", name="Discover", exact=True).click()
    page.get_by_label("Label").fill("Discovery")
    page.get_by_role("button", name="Save stage").click()
    expect(page.get_by_text("Stage saved.")).to_be_visible()

    # Reorder with the keyboard: focus the button, press Enter; focus stays on it after the swap.
    page.get_by_role("link", name="All stages").click()
    # HTMX wires the forms up once the page has loaded; a key pressed before that is a plain
    # form post (a new page, where the moved button is not focused).
    page.wait_for_load_state("load")
    # Deferred scripts (HTMX) have run by "load"; wait_for_function would need eval, which the
    # Content-Security-Policy forbids.
    assert page.evaluate("window.htmx !== undefined")
    page.evaluate("window.__sameDocument = true")
    down = page.get_by_role("button", name="Move Discovery down")
    down.focus()
    page.keyboard.press("Enter")
    rows = page.locator("tr[data-stage]")
    expect(rows.nth(1)).to_have_attribute("data-stage", "commit")
    expect(rows.nth(2)).to_have_attribute("data-stage", "discover")
    expect(page.get_by_role("button", name="Move Discovery down")).to_be_focused()
    assert page.evaluate("window.__sameDocument") is True  # swapped in place (HTMX)

    # Publish: the diff names both changes; no open deals, so no mapping is asked.
    page.get_by_role("link", name="Review and publish").click()
    diff = page.locator(".diff-lines")
    expect(diff).to_contain_text("stages reordered")
    expect(diff).to_contain_text("label Discover → Discovery")
    page.get_by_role("button", name="Publish as a new version").click()

    # The publish ran as a background job (inside the request on the test settings' immediate
    # backend); its page shows the result and links the new version.
    expect(page.get_by_text("Published as version 2")).to_be_visible()
    page.get_by_role("link", name="See version 2").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("version 2")
    stages = page.locator(".process-map > li article")
    expect(stages.nth(1)).to_have_attribute("data-stage", "commit")
    expect(stages.nth(2)).to_contain_text("Discovery")
    current = ProcessVersion.objects.get(process__key="new_business", is_current=True)
    assert current.number == 2
    assert [s.key for s in current.stages.order_by("position")][:3] == [
        "engage",
        "commit",
        "discover",
    ]
