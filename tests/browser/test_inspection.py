"""The inspection page in a real browser: a manager filters by a signal, expands a deal's
explanation inline, and narrows the list from the signal x rep matrix. No sleeps."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from milepost.testing.factories import make_opportunity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_inspection(page: Page, live_server) -> None:
    page.get_by_role("link", name="Inspection").click()
    page.wait_for_url(f"{live_server.url}/inspection/")
    expect(page.get_by_role("heading", name="Inspection", level=1)).to_be_visible()


def rows(page: Page):
    return page.locator("tr.deal-row")


def test_manager_filters_by_signal_and_expands_the_reason(org, processes, login, live_server):
    late = make_opportunity(
        org.rep_a1, name="Late deal", stage_key="commit", amount="40000", close_in_days=-6
    )
    make_opportunity(org.rep_a2, name="Timely deal", stage_key="discover", close_in_days=30)
    make_opportunity(org.rep_b1, name="Other team deal", stage_key="commit", close_in_days=-3)
    page = login(org.manager_a)
    open_inspection(page, live_server)
    expect(rows(page)).to_have_count(2)
    expect(page.get_by_text("Other team deal")).to_have_count(0)

    with page.expect_response(lambda r: "signal=close_date_past" in r.url):
        page.get_by_label("Signal", exact=True).select_option("close_date_past")
    expect(rows(page)).to_have_count(1)
    row = rows(page).first
    expect(row).to_contain_text("Late deal")
    expect(row.locator(".chip", has_text="Close date past")).to_be_visible()
    assert "signal=close_date_past" in page.url

    # One click on the row (not on a link) opens the explanation inline.
    row.get_by_text("Rep_A1").click()
    toggle = row.get_by_role("link", name="Why? Late deal")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    explanation = page.locator(f"#explain-{late.pk}")
    expect(explanation).to_be_visible()
    expect(explanation).to_contain_text("close date")
    expect(explanation).to_contain_text("6 days past")
    expect(explanation).to_contain_text("no call or meeting logged yet")
    expect(explanation.get_by_role("heading", name="Next actions")).to_be_visible()
    expect(explanation.get_by_role("link", name="Open the deal “Late deal”")).to_have_attribute(
        "href", f"/pipeline/opportunities/{late.pk}/"
    )
    # A second click closes it.
    toggle.click()
    expect(explanation).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")


def test_a_matrix_cell_filters_the_list(org, processes, login, live_server):
    make_opportunity(org.rep_a1, name="A1 late", stage_key="commit", close_in_days=-2)
    make_opportunity(org.rep_a2, name="A2 late", stage_key="commit", close_in_days=-4)
    make_opportunity(org.rep_a2, name="A2 fine", stage_key="discover", close_in_days=20)
    page = login(org.manager_a)
    open_inspection(page, live_server)
    expect(rows(page)).to_have_count(3)
    cell = page.get_by_role("link", name="1 deal of Rep Rep_A2 with Close date past")
    cell.click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("A2 late")
    expect(page.get_by_label("Signal", exact=True)).to_have_value("close_date_past")
    expect(page.get_by_label("Rep", exact=True)).to_have_value(str(org.rep_a2.pk))
    expect(page.locator("#inspection-count")).to_be_focused()


def test_overdue_coaching_items_per_rep_load_after_the_page(org, processes, login, live_server):
    from datetime import timedelta

    from django.utils import timezone

    from milepost.coaching.agenda.services import session_create_from_draft
    from milepost.coaching.sessions.services import action_item_add

    make_opportunity(org.rep_a1, name="Late deal", stage_key="commit", close_in_days=-6)
    make_opportunity(org.rep_a2, name="Timely deal", stage_key="discover", close_in_days=30)
    session = session_create_from_draft(
        org.manager_a, org.rep_a1.id, timezone.now() + timedelta(days=7)
    )
    action_item_add(
        user=org.manager_a,
        session_id=session.id,
        title="Overdue thing",
        due_date=timezone.localdate() - timedelta(days=3),
        owner_id=org.rep_a1.id,
    )
    page = login(org.manager_a)
    open_inspection(page, live_server)
    matrix = page.locator(".matrix-table")
    expect(matrix.get_by_role("columnheader", name="Overdue 1:1 items")).to_be_visible()
    expect(page.locator(f"#coaching-overdue-{org.rep_a1.id}")).to_have_text("1")
    expect(page.locator(f"#coaching-overdue-{org.rep_a2.id}")).to_have_text("0")
