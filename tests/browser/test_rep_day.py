"""A rep's day on a deal in a real browser: open the deal, log a meeting with two people of the
account, add the economic buyer, and watch the criteria, the control banner and the risk signals
follow without a page load (HTMX: the writes send ``deal-changed``; the process map re-fetches
itself and the header banner out of band). No sleeps: every wait is an ``expect``.

The deal sits in "Commit to change" with the buyer's confirmations of discovery recorded, so
the gaps left are Engage's "buyer agreed to explore" (a call or meeting) and Discover's
"stakeholders identified" (two contacts engaged): one meeting with two people closes both and
the banner turns to under control.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from milepost.evidence.services import evidence_accept, evidence_record
from milepost.pipeline.models import Activity, OpportunityContact
from milepost.testing.factories import make_contact, make_opportunity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def criterion(page: Page, key: str):
    return page.locator(f"#criterion-{key}").get_by_test_id("status")


def test_rep_logs_a_meeting_and_adds_the_economic_buyer_without_reload(
    org, processes, live_server, login
):
    opp = make_opportunity(org.rep_a1, name="Northwind renewal", stage_key="commit")
    ann = make_contact(opp.account, first="Ann", last="Lee", title="CFO")
    make_contact(opp.account, first="Bob", last="Ray", title="IT lead")
    for key in ("problem_and_cost_confirmed", "discovery_recap_accepted"):
        evidence = evidence_record(
            user=org.rep_a1,
            opportunity_id=opp.pk,
            criterion_key=key,
            note="Confirmed in writing by the buyer",
            evidence_date=date.today() - timedelta(days=3),
            buyer_confirmed=True,
            confirmed_by_id=ann.pk,
            artefact_kind="meeting_notes",
            artefact_text="Ann Lee (CFO) confirmed the cost and the recap in our review.",
        )
        evidence_accept(
            user=org.manager_a,
            opportunity_id=opp.pk,
            criterion_key=key,
            expected_version=evidence.version,
        )

    # Given the rep on the deal page: gaps from Engage on, no economic buyer
    page = login(org.rep_a1, at=f"{live_server.url}/pipeline/opportunities/{opp.pk}/")
    banner = page.locator("#header-control")
    expect(banner).to_contain_text("Not under control — first gap: Engage")
    expect(criterion(page, "buyer_agreed_to_explore")).to_have_text("Not met")
    expect(criterion(page, "stakeholders_identified")).to_have_text("Not met")
    expect(criterion(page, "economic_buyer_engaged")).to_have_text("Not met")
    risk = page.locator("#process-map .risk-table")
    expect(risk).to_contain_text("Single-threaded")
    page.evaluate("window.__sameDocument = true")

    # When they log a meeting with Ann and Bob from the Activity section (a too-long subject
    # first: the error sits on the field and the focus goes there)
    activity = page.locator("#activity")
    activity.get_by_label("Type").select_option("meeting")
    activity.get_by_label("Subject").fill("x" * 201)
    activity.get_by_role("button", name="Log activity").click()
    expect(page.locator("#activity").get_by_label("Subject")).to_be_focused()
    expect(page.locator("#activity")).to_contain_text("the most is 200")
    activity = page.locator("#activity")
    activity.get_by_label("Subject").fill("Discovery with finance and IT")
    activity.get_by_label("Ann Lee").check()
    activity.get_by_label("Bob Ray").check()
    activity.get_by_role("button", name="Log activity").click()

    # Then the list shows it, and the criterion and the banner follow without a reload
    expect(page.locator("#activity").get_by_role("status")).to_have_text("Meeting logged.")
    expect(page.locator("#activity .activity-list")).to_contain_text(
        "Discovery with finance and IT"
    )
    expect(criterion(page, "buyer_agreed_to_explore")).to_have_text("Met")
    expect(criterion(page, "stakeholders_identified")).to_have_text("Met")
    expect(page.locator("#header-control")).to_have_text("✓ Under control")
    expect(page.locator("#process-map .control-banner")).to_contain_text("Under control")
    expect(page.locator("#process-map")).not_to_contain_text("Single-threaded")  # the signals
    assert Activity.objects.get(opportunity=opp).contacts.count() == 2

    # When they follow the "add the economic buyer" link to the contacts section
    page.goto(f"{live_server.url}/pipeline/opportunities/{opp.pk}/?add=contact#contacts")
    expect(page.locator("#contacts").get_by_label("Contact", exact=True)).to_be_focused()
    page.evaluate("window.__sameDocument = true")
    contacts = page.locator("#contacts")
    contacts.get_by_label("Contact", exact=True).select_option(label="Ann Lee — CFO")
    contacts.get_by_label("Buying role", exact=True).first.select_option("economic_buyer")
    contacts.get_by_role("button", name="Add to the deal", exact=True).click()

    # Then the role is listed and the Commit criterion is met, still the same document
    expect(page.locator("#contacts").get_by_role("status")).to_have_text(
        "Ann Lee added as Economic buyer."
    )
    expect(page.locator('#contacts tr[data-role="economic_buyer"]')).to_contain_text("Ann Lee")
    expect(criterion(page, "economic_buyer_engaged")).to_have_text("Met")
    assert OpportunityContact.objects.filter(
        opportunity=opp, contact=ann, buying_role="economic_buyer"
    ).exists()

    # When they create a new contact as champion in one step
    contacts = page.locator("#contacts")
    contacts.locator("summary", has_text="Add a contact").click()
    contacts.get_by_label("First name").fill("Cara")
    contacts.get_by_label("Last name").fill("Moss")
    contacts.get_by_label("E-mail").fill("cara@northwind.example")
    contacts.get_by_label("Buying role", exact=True).last.select_option("champion")
    contacts.get_by_role("button", name="Create and add to the deal").click()

    # Then the champion criterion is met and the activity form offers Cara at once
    expect(page.locator('#contacts tr[data-role="champion"]')).to_contain_text("Cara Moss")
    expect(criterion(page, "champion_identified")).to_have_text("Met")
    expect(page.locator("#activity").get_by_label("Cara Moss")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True  # no full page load
