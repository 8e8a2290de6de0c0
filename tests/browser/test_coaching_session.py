"""A 1:1 in a real browser: the manager drafts the agenda from the pipeline, adds an item,
reorders it with the keyboard (Up button, no drag; focus stays on it), starts the session,
takes a note, adds an action item and completes the session."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from milepost.coaching.models import ActionItem, CoachingSession, SessionStatus
from milepost.testing.factories import make_opportunity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_drafts_reorders_runs_and_completes_a_one_to_one(
    org, processes, live_server, login
):
    make_opportunity(org.rep_a1, stage_key="commit", amount="90000", name="Globex expansion")
    make_opportunity(org.rep_a1, stage_key="discover", amount="20000", name="Initech pilot")
    page = login(org.manager_a)
    page.get_by_role("link", name="Coaching").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My 1:1s")

    row = page.locator("tr", has=page.get_by_role("rowheader", name=str(org.rep_a1)))
    row.get_by_label("When").fill("2030-01-08T10:00")
    row.get_by_role("button", name="Draft agenda").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(str(org.rep_a1))
    agenda = page.locator("ol.agenda > li")
    expect(agenda.first).to_contain_text("Globex expansion")
    expect(agenda.first).to_contain_text("Ask:")

    # The manager's own item goes last; move it up with the keyboard.
    page.get_by_label("Add your own item").fill("Hiring plan")
    page.get_by_role("button", name="Add item").click()
    expect(agenda.last).to_contain_text("Hiring plan")
    count = agenda.count()
    # A key pressed before HTMX has wired the page up would post a plain form (a new page).
    page.wait_for_load_state("load")
    # Deferred scripts (HTMX) have run by "load"; wait_for_function would need eval, which the
    # Content-Security-Policy forbids.
    assert page.evaluate("window.htmx !== undefined")
    page.evaluate("window.__sameDocument = true")
    up = page.get_by_role("button", name="Move “Hiring plan” up")
    up.focus()
    page.keyboard.press("Enter")
    expect(agenda.nth(count - 2)).to_contain_text("Hiring plan")
    expect(page.get_by_role("button", name="Move “Hiring plan” up")).to_be_focused()
    assert page.evaluate("window.__sameDocument") is True  # swapped in place (HTMX)

    page.get_by_role("button", name="Start the 1:1").click()
    expect(page.locator(".session-meta .badge")).to_have_text("In progress")

    item = agenda.filter(has_text="Hiring plan")
    item.get_by_label("Notes").fill("Two roles open; job ad this week")
    # Wait for HTMX to swap the body in before typing into the next form.
    page.evaluate(
        "document.addEventListener('htmx:afterSettle', () => "
        "document.body.setAttribute('data-settled', ''), {once: true})"
    )
    item.get_by_role("button", name="Save item").click()
    expect(page.locator("body[data-settled]")).to_have_count(1)
    expect(item.get_by_label("Notes")).to_have_value("Two roles open; job ad this week")

    page.get_by_label("Action", exact=True).fill("Post the job ad")
    page.get_by_label("Due").fill("2030-01-15")
    page.get_by_role("button", name="Add action item").click()
    expect(page.locator(".session-action-items")).to_contain_text("Post the job ad")

    page.get_by_role("button", name="Complete the 1:1").click()
    expect(page.locator(".session-meta .badge")).to_have_text("Completed")
    expect(page.get_by_role("button", name="Start the 1:1")).to_have_count(0)

    session = CoachingSession.objects.get()
    assert session.status == SessionStatus.COMPLETED
    titles = list(session.items.order_by("position").values_list("title", flat=True))
    assert titles[-2] == "Hiring plan"
    assert session.items.get(title="Hiring plan").notes == "Two roles open; job ad this week"
    action = ActionItem.objects.get()
    assert (action.title, action.owner_id) == ("Post the job ad", org.rep_a1.id)
