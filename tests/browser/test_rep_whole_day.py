"""A rep's whole day in a real browser, every step through the UI (issue 12): create a deal from
the board, log the first meeting, add the economic buyer, set the next step, record evidence
for a Discover exit criterion and move the deal on past the gate's warning with a reason.

Only the world is made by factories (the rep's account with two contacts); each step's result
is asserted as the rep sees it, on the same document where the page updates in place
(``window.__sameDocument`` survives only without a page load), and at the end in the database.
No sleeps: every wait is an ``expect``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from milepost.evidence.models import Evidence
from milepost.pipeline.models import Activity, Opportunity, OpportunityContact
from milepost.testing.factories import make_account, make_contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def criterion(page: Page, key: str):
    return page.locator(f"#criterion-{key}").get_by_test_id("status")


def test_a_rep_runs_a_deal_through_the_day_in_the_browser(org, processes, live_server, login):
    account = make_account("Contoso Freight", owner=org.rep_a1)
    ann = make_contact(account, first="Ann", last="Lee", title="CFO")
    make_contact(account, first="Bob", last="Ray", title="IT lead")
    next_week = date.today() + timedelta(days=7)

    # Add a deal: the board's "New deal" → the form → the new deal's page, in Engage
    page = login(org.rep_a1)
    page.get_by_role("link", name="New deal").click()
    page.get_by_label("Name").fill("Contoso fleet tracking")
    page.get_by_label("Account").select_option(label="Contoso Freight")
    page.locator("#id_amount").fill("48000")
    page.get_by_label("Close date").fill((date.today() + timedelta(days=90)).isoformat())
    page.get_by_role("button", name="Create deal").click()
    expect(page.get_by_role("heading", name="Contoso fleet tracking")).to_be_visible()
    opp = Opportunity.objects.get(name="Contoso fleet tracking")
    expect(page).to_have_url(re.compile(rf"/pipeline/opportunities/{opp.pk}/$"))
    expect(page.locator(".opp-header .stage-pill")).to_have_text("Engage")
    expect(criterion(page, "buyer_agreed_to_explore")).to_have_text("Not met")
    page.evaluate("window.__sameDocument = true")

    # Log the meeting with Ann: the Engage criterion it satisfies turns Met in place
    activity = page.locator("#activity")
    activity.get_by_label("Type").select_option("meeting")
    activity.get_by_label("Subject").fill("Discovery call with finance")
    activity.get_by_label("Ann Lee").check()
    activity.get_by_role("button", name="Log activity").click()
    expect(page.locator("#activity").get_by_role("status")).to_have_text("Meeting logged.")
    expect(page.locator("#activity .activity-list")).to_contain_text("Discovery call with finance")
    expect(criterion(page, "buyer_agreed_to_explore")).to_have_text("Met")

    # Add the economic buyer: Ann gets the role from the contacts section
    contacts = page.locator("#contacts")
    contacts.locator("summary", has_text="Add a contact to this deal").click()
    contacts.get_by_label("Contact", exact=True).select_option(label="Ann Lee — CFO")
    contacts.get_by_label("Buying role", exact=True).first.select_option("economic_buyer")
    contacts.get_by_role("button", name="Add to the deal", exact=True).click()
    expect(page.locator("#contacts").get_by_role("status")).to_have_text(
        "Ann Lee added as Economic buyer."
    )
    expect(page.locator('#contacts tr[data-role="economic_buyer"]')).to_contain_text("Ann Lee")
    expect(criterion(page, "economic_buyer_engaged")).to_have_text("Met")

    # Set the next step and its date inline on the deal's facts
    page.locator("#next-step").get_by_role("link", name=re.compile("Edit")).click()
    expect(page.locator("#id_next_step")).to_be_focused()
    page.locator("#id_next_step").fill("Send the discovery recap to Ann")
    page.get_by_label("Next step date").fill(next_week.isoformat())
    # The save sends ``deal-changed``: wait for the map's re-fetch it starts, which nothing on
    # screen shows, so that opening a form on the map next is not undone by that swap
    map_url = live_server.url + reverse("evidence:map", args=[opp.pk])
    with page.expect_response(lambda r: r.url == map_url):
        page.locator("#next-step").get_by_role("button", name="Save").click()
    expect(page.locator("#next-step")).to_contain_text("Send the discovery recap to Ann")
    expect(page.locator("form.inline-edit")).to_have_count(0)

    # Record evidence for a Discover exit criterion on the process map, claiming the buyer
    # confirmed it with meeting notes naming her: a claim, until the manager accepts the notes
    key = "problem_and_cost_confirmed"
    item = page.locator(f"#criterion-{key}")
    expect(item.get_by_test_id("status")).to_have_text("Not met")
    item.locator("summary", has_text="Record evidence").click()
    item.get_by_label("What is the evidence?").fill("Ann confirmed 2 lost trucks a week, $40k")
    item.get_by_label("Date", exact=True).fill(date.today().isoformat())
    item.get_by_label("Artefact", exact=True).select_option("meeting_notes")
    item.get_by_label("Pasted e-mail or meeting notes").fill(
        "Call with Ann Lee (CFO): two trucks lost a week, about $40k a month."
    )
    item.get_by_label("The buyer confirmed it").check()
    item.get_by_label("Confirmed by").select_option(label="Ann Lee (CFO)")
    item.get_by_role("button", name="Record evidence", exact=True).click()
    item = page.locator(f"#criterion-{key}")
    expect(item.get_by_role("status")).to_have_text("Evidence recorded.")
    expect(item.get_by_test_id("evidence")).to_contain_text("Ann confirmed 2 lost trucks")
    expect(item.get_by_test_id("artefact")).to_contain_text("attended by Ann Lee")
    expect(item.get_by_test_id("status")).to_have_text("Unknown")
    expect(item.get_by_test_id("reason")).to_have_text(
        "buyer confirmation claimed, awaiting verification"
    )
    assert page.evaluate("window.__sameDocument") is True  # every step so far: no page load

    # Move to Commit past Discover's unmet recap: the gate warns, a reason is required
    move = page.locator(".detail-move-form")
    move.get_by_label("Move to stage").select_option(label="Commit to change")
    move.get_by_role("button", name="Move deal").click()
    messages = page.locator(".messages")
    expect(messages).to_contain_text("The deal was not moved: 3 exit criteria are not met")
    expect(messages).to_contain_text("say why the deal moves anyway")
    expect(page.locator(".opp-header .stage-pill")).to_have_text("Engage")
    move = page.locator(".detail-move-form")
    move.get_by_label("Move to stage").select_option(label="Commit to change")
    move.get_by_label("Why move past unmet exit criteria?").fill(
        "Recap is with Ann; she asked us to start the change plan now"
    )
    move.get_by_role("button", name="Move deal").click()
    expect(page.locator(".opp-header .stage-pill")).to_have_text("Commit to change")
    expect(page.locator(".messages")).to_contain_text("Moved “Contoso fleet tracking” to Commit")

    # The database holds every step
    opp.refresh_from_db()
    assert opp.stage.key == "commit"
    assert (opp.owner_id, opp.account_id) == (org.rep_a1.pk, account.pk)
    assert (opp.next_step, opp.next_step_date) == ("Send the discovery recap to Ann", next_week)
    meeting = Activity.objects.get(opportunity=opp)
    assert (meeting.type, list(meeting.contacts.all())) == ("meeting", [ann])
    assert OpportunityContact.objects.filter(
        opportunity=opp, contact=ann, buying_role="economic_buyer"
    ).exists()
    evidence = Evidence.objects.get(opportunity=opp, criterion_key=key)
    assert (evidence.level, evidence.buyer_claim, evidence.confirmed_by_id) == (
        "rep",
        "pending",
        ann.pk,
    )
    assert evidence.artefact.attendee_id == ann.pk
    transition = opp.transitions.order_by("moved_at").last()
    assert "change plan" in transition.criteria_result["justification"]
