"""Editing a deal in the browser: the inline editor opens from a signal's link with the focus
on its field, a refusal comes back next to the field with the focus on it, Enter saves, and
Escape cancels; "New deal" creates one from the board."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from milepost.pipeline.models import Opportunity
from milepost.testing.factories import make_opportunity


def test_inline_edit_with_the_keyboard(org, processes, login, live_server):
    opp = make_opportunity(org.rep_a1, name="Keyboard deal", amount="10000")
    page: Page = login(
        org.rep_a1, at=f"{live_server.url}/pipeline/opportunities/{opp.pk}/?edit=amount#amount"
    )
    amount = page.locator("#id_amount")
    expect(amount).to_be_focused()

    # A refused value: the message is next to the field and the focus goes back to it.
    amount.fill("10.005")
    amount.press("Enter")
    expect(page.locator("#id_amount_error")).to_contain_text("2 decimal places")
    expect(page.locator("#id_amount")).to_be_focused()

    # Escape cancels: the facts come back unchanged.
    page.locator("#id_amount").press("Escape")
    expect(page.locator("form.inline-edit")).to_have_count(0)
    expect(page.locator("#amount")).to_contain_text("10,000")

    # Edit again from the link; Enter saves.
    page.locator("#next-step").get_by_role("link", name=re.compile("Edit")).click()
    step = page.locator("#id_next_step")
    expect(step).to_be_focused()
    step.fill("Call the CFO")
    step.press("Enter")
    expect(page.locator("#next-step")).to_contain_text("Call the CFO")
    opp.refresh_from_db()
    assert (opp.next_step, opp.version) == ("Call the CFO", 2)


def test_new_deal_from_the_board(org, processes, login, live_server):
    page: Page = login(org.rep_a1)
    page.get_by_role("link", name="New deal").click()
    page.get_by_label("Name").fill("Browser deal")
    page.locator("#id_amount").fill("1e12")
    page.get_by_label("Close date").fill("2031-01-15")
    page.get_by_role("button", name="Create deal").click()
    expect(page.locator("#id_amount_error")).to_be_visible()
    expect(page.locator("#id_amount")).to_be_focused()
    page.locator("#id_amount").fill("2500")
    page.get_by_role("button", name="Create deal").click()
    expect(page.get_by_role("heading", name="Browser deal")).to_be_visible()
    assert Opportunity.objects.get(name="Browser deal").owner_id == org.rep_a1.pk
