"""The account pages and the deal page's people and activity sections: every bound of the
shared schemas refused with an error on the field (nothing written), the HTMX answers and their
``deal-changed`` trigger, the anchors the deal page offers, and the account list and archive.

One world for the module: a rep's deal in "commit" on an account with two contacts, and a
second rep's deal on another account (whose contact must never be accepted on the first deal).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from milepost.accounts.models import Account, Contact
from milepost.pipeline.models import Activity, OpportunityContact
from milepost.pipeline.services import opportunity_contact_add
from milepost.testing.factories import (
    Org,
    ensure_default_processes,
    make_account,
    make_contact,
    make_opportunity,
    make_org,
)
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@dataclass(frozen=True)
class World:
    org: Org
    deal: int
    account: int
    ann: int  # a contact of the deal's account
    bob: int  # another
    stranger: int  # a contact of another rep's account
    other_deal: int


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    with shared_world(django_db_blocker):
        ensure_default_processes()
        org = make_org()
        opp = make_opportunity(org.rep_a1, name="Big deal", stage_key="commit")
        ann = make_contact(opp.account, first="Ann", last="Lee", title="CFO")
        bob = make_contact(opp.account, first="Bob", last="Ray")
        other = make_opportunity(org.rep_a2, name="Other deal")
        stranger = make_contact(other.account, first="Sam", last="Stranger")
        yield World(org, opp.pk, opp.account_id, ann.pk, bob.pk, stranger.pk, other.pk)


@pytest.fixture
def org(world: World, db) -> Org:
    return world.org


def snapshot() -> tuple:
    return (
        sorted(Account.objects.values_list("id", "name", "version", "archived_at", "sector")),
        sorted(Contact.objects.values_list("id", "first_name", "last_name", "email", "version")),
        sorted(OpportunityContact.objects.values_list("id", "contact_id", "buying_role", "notes")),
        sorted(Activity.objects.values_list("id", "subject", "type", "outcome")),
    )


def detail(world: World) -> str:
    return reverse("pipeline:detail", args=[world.deal])


# --- every bound refused, naming the field, nothing written ------------------------------------

FUTURE = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
ROLE_NEW = {"new-first_name": "Nia", "new-last_name": "Cole", "new-buying_role": "champion"}
ACT = {"activity-type": "meeting", "activity-subject": "Kick-off"}

# (case, URL name, takes the account (not the deal) id, form, the field the error is on)
BAD = [
    (
        "new-first-name-too-long",
        "deal_people:role_create",
        False,
        {**ROLE_NEW, "new-first_name": "x" * 81},
        "new-first_name",
    ),
    (
        "new-last-name-empty",
        "deal_people:role_create",
        False,
        {**ROLE_NEW, "new-last_name": "   "},
        "new-last_name",
    ),
    (
        "new-title-nul",
        "deal_people:role_create",
        False,
        {**ROLE_NEW, "new-title": "C\x00O"},
        "new-title",
    ),
    (
        "new-email-format",
        "deal_people:role_create",
        False,
        {**ROLE_NEW, "new-email": "not-an-address"},
        "new-email",
    ),
    (
        "new-email-too-long",
        "deal_people:role_create",
        False,
        {**ROLE_NEW, "new-email": "a" * 250 + "@x.io"},
        "new-email",
    ),
    (
        "new-phone-too-long",
        "deal_people:role_create",
        False,
        {**ROLE_NEW, "new-phone": "1" * 41},
        "new-phone",
    ),
    (
        "new-unknown-role",
        "deal_people:role_create",
        False,
        {**ROLE_NEW, "new-buying_role": "boss"},
        "new-buying_role",
    ),
    (
        "new-notes-too-long",
        "deal_people:role_create",
        False,
        {**ROLE_NEW, "new-notes": "n" * 2001},
        "new-notes",
    ),
    (
        "role-contact-of-another-account",
        "deal_people:role_add",
        False,
        {"role-contact_id": "{stranger}", "role-buying_role": "economic_buyer"},
        "role-contact_id",
    ),
    (
        "role-contact-not-a-number",
        "deal_people:role_add",
        False,
        {"role-contact_id": "abc", "role-buying_role": "economic_buyer"},
        "role-contact_id",
    ),
    (
        "role-duplicate",
        "deal_people:role_add",
        False,
        {"role-contact_id": "{bob}", "role-buying_role": "coach"},
        "role-buying_role",
    ),
    (
        "activity-subject-empty",
        "deal_people:activity_log",
        False,
        {**ACT, "activity-subject": ""},
        "activity-subject",
    ),
    (
        "activity-subject-too-long",
        "deal_people:activity_log",
        False,
        {**ACT, "activity-subject": "s" * 201},
        "activity-subject",
    ),
    (
        "activity-outcome-too-long",
        "deal_people:activity_log",
        False,
        {**ACT, "activity-outcome": "o" * 5001},
        "activity-outcome",
    ),
    (
        "activity-outcome-nul",
        "deal_people:activity_log",
        False,
        {**ACT, "activity-outcome": "a\x00b"},
        "activity-outcome",
    ),
    (
        "activity-in-the-future",
        "deal_people:activity_log",
        False,
        {**ACT, "activity-occurred_at": FUTURE},
        "activity-occurred_at",
    ),
    (
        "activity-before-2000",
        "deal_people:activity_log",
        False,
        {**ACT, "activity-occurred_at": "1999-12-31T10:00"},
        "activity-occurred_at",
    ),
    (
        "activity-not-a-date",
        "deal_people:activity_log",
        False,
        {**ACT, "activity-occurred_at": "yesterday"},
        "activity-occurred_at",
    ),
    (
        "activity-unknown-type",
        "deal_people:activity_log",
        False,
        {**ACT, "activity-type": "lunch"},
        "activity-type",
    ),
    (
        "activity-contact-of-another-account",
        "deal_people:activity_log",
        False,
        {**ACT, "activity-contact_ids": ["{stranger}"]},
        "activity-contact_ids",
    ),
    (
        "account-activity-other-deal",
        "accounts:activity_log",
        True,
        {**ACT, "activity-opportunity_id": "{other_deal}"},
        "activity-opportunity_id",
    ),
    (
        "account-activity-subject-too-long",
        "accounts:activity_log",
        True,
        {**ACT, "activity-opportunity_id": "{deal}", "activity-subject": "s" * 201},
        "activity-subject",
    ),
    (
        "contact-email",
        "accounts:contact_create",
        True,
        {"first_name": "A", "last_name": "B", "email": "x@"},
        "email",
    ),
    (
        "contact-last-name-too-long",
        "accounts:contact_create",
        True,
        {"first_name": "A", "last_name": "b" * 81},
        "last_name",
    ),
    (
        "account-edit-name-too-long",
        "accounts:edit",
        True,
        {"name": "n" * 201, "version": "1"},
        "name",
    ),
    (
        "account-edit-name-taken",
        "accounts:edit",
        True,
        {"name": "{other_account_name}", "version": "1"},
        "name",
    ),
    (
        "account-edit-employees-negative",
        "accounts:edit",
        True,
        {"name": "Fine", "employees": "-1", "version": "1"},
        "employees",
    ),
    (
        "account-edit-year-far-future",
        "accounts:edit",
        True,
        {"name": "Fine", "year_established": "3000", "version": "1"},
        "year_established",
    ),
    (
        "account-edit-revenue-too-big",
        "accounts:edit",
        True,
        {"name": "Fine", "annual_revenue_musd": "1e15", "version": "1"},
        "annual_revenue_musd",
    ),
    (
        "account-edit-sector-too-long",
        "accounts:edit",
        True,
        {"name": "Fine", "sector": "s" * 65, "version": "1"},
        "sector",
    ),
    (
        "account-edit-parent-itself",
        "accounts:edit",
        True,
        {"name": "Fine", "parent_id": "{account}", "version": "1"},
        "parent_id",
    ),
]


def _fill(value, world: World):
    names = {
        "stranger": world.stranger,
        "bob": world.bob,
        "deal": world.deal,
        "other_deal": world.other_deal,
        "account": world.account,
        "other_account_name": Account.objects.exclude(pk=world.account).first().name,
    }
    if isinstance(value, list):
        return [v.format(**names) for v in value]
    return value.format(**names) if "{" in value else value


@pytest.mark.parametrize(
    ("case", "name", "on_account", "data", "field"), BAD, ids=[b[0] for b in BAD]
)
def test_each_bound_is_refused_on_its_field_and_nothing_is_written(
    case, name, on_account, data, field, world, org, client_for
):
    opportunity_contact_add(
        user=org.rep_a1, opportunity_id=world.deal, contact_id=world.bob, buying_role="coach"
    )
    client = client_for(org.rep_a1)
    url = reverse(name, args=[world.account if on_account else world.deal])
    form = {k: _fill(v, world) for k, v in data.items()}
    before = snapshot()
    response = client.post(url, form, **HX)
    assert response.status_code == 422, case
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html, case  # the error sits on the field
    assert 'aria-invalid="true"' in html or field.endswith("contact_ids")  # a checkbox group
    assert "autofocus" in html  # the first invalid field takes the focus
    assert snapshot() == before
    assert "HX-Trigger" not in response


def test_plain_post_of_a_bad_role_redirects_with_the_message(world, org, client_for):
    client = client_for(org.rep_a1)
    before = snapshot()
    response = client.post(
        reverse("deal_people:role_create", args=[world.deal]), {**ROLE_NEW, "new-last_name": ""}
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#contacts")
    page = client.get(response["Location"]).content.decode()
    assert "Last name: cannot be empty" in page
    assert snapshot() == before


# --- HTMX answers and the live trigger ------------------------------------------------------


def test_adding_the_economic_buyer_answers_the_section_and_triggers_deal_changed(
    world, org, client_for
):
    client = client_for(org.rep_a1)
    response = client.post(
        reverse("deal_people:role_add", args=[world.deal]),
        {"role-contact_id": str(world.ann), "role-buying_role": "economic_buyer"},
        **HX,
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "deal-changed"
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="contacts"')
    assert "<!doctype" not in html.lower()
    assert 'data-role="economic_buyer"' in html
    assert "Ann Lee added as Economic buyer." in html
    assert OpportunityContact.objects.filter(
        opportunity_id=world.deal, contact_id=world.ann, buying_role="economic_buyer"
    ).exists()


def test_a_new_contact_and_role_in_one_step(world, org, client_for):
    client = client_for(org.rep_a1)
    response = client.post(
        reverse("deal_people:role_create", args=[world.deal]),
        {**ROLE_NEW, "new-email": "nia@example.com", "new-title": "VP IT"},
        **HX,
    )
    assert response.status_code == 200
    # The activity section re-fetches itself on contacts-changed, to offer the new contact.
    assert response["HX-Trigger"] == "deal-changed, contacts-changed"
    nia = Contact.objects.get(first_name="Nia")
    assert (nia.account_id, nia.email, nia.title) == (world.account, "nia@example.com", "VP IT")
    assert nia.opportunity_roles.get().buying_role == "champion"


def test_changing_and_removing_a_role(world, org, client_for):
    link = opportunity_contact_add(
        user=org.rep_a1, opportunity_id=world.deal, contact_id=world.bob, buying_role="coach"
    )
    client = client_for(org.rep_a1)
    response = client.post(
        reverse("deal_people:role_edit", args=[world.deal, link.pk]),
        {
            f"role{link.pk}-buying_role": "champion",
            f"role{link.pk}-notes": "keen",
            f"role{link.pk}-version": "1",
        },
        **HX,
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "deal-changed"
    link.refresh_from_db()
    assert (link.buying_role, link.notes) == ("champion", "keen")
    response = client.post(
        reverse("deal_people:role_remove", args=[world.deal, link.pk]), {"version": "2"}, **HX
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "deal-changed"
    assert not OpportunityContact.objects.filter(pk=link.pk).exists()
    assert Contact.objects.filter(pk=world.bob).exists()  # the person stays


def test_logging_a_meeting_with_contacts_answers_the_list_and_triggers(world, org, client_for):
    client = client_for(org.rep_a1)
    when = (timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("deal_people:activity_log", args=[world.deal]),
        {
            **ACT,
            "activity-occurred_at": when,
            "activity-outcome": "Agreed next steps",
            "activity-contact_ids": [str(world.ann), str(world.bob)],
        },
        **HX,
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "deal-changed"
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="activity"')
    assert "Meeting logged." in html
    assert "Kick-off" in html
    activity = Activity.objects.get(opportunity_id=world.deal, subject="Kick-off")
    assert activity.owner == org.rep_a1
    assert sorted(c.pk for c in activity.contacts.all()) == sorted([world.ann, world.bob])
    assert activity.occurred_at.strftime("%Y-%m-%dT%H:%M") == when  # UTC, as typed


def test_logging_from_the_account_page(world, org, client_for):
    client = client_for(org.rep_a1)
    response = client.post(
        reverse("accounts:activity_log", args=[world.account]),
        {**ACT, "activity-type": "demo", "activity-opportunity_id": str(world.deal)},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#activity")
    assert Activity.objects.filter(opportunity_id=world.deal, type="demo").exists()
    html = client.get(reverse("accounts:detail", args=[world.account])).content.decode()
    assert "Kick-off" in html
    assert "Big deal" in html


def test_the_section_partials_answer_fragments(world, org, client_for):
    client = client_for(org.rep_a1)
    for name, start in (
        ("deal_people:contacts", "contacts"),
        ("deal_people:activities", "activity"),
    ):
        url = reverse(name, args=[world.deal])
        html = client.get(url, **HX).content.decode()
        assert html.lstrip().startswith(f'<section id="{start}"')
        response = client.get(url)  # a plain request goes to the page's section
        assert response.status_code == 302
        assert response["Location"] == f"{detail(world)}#{start}"


# --- the deal page: anchors and the live containers ------------------------------------------


def test_deal_page_has_the_sections_and_listens_for_deal_changed(world, org, client_for):
    client = client_for(org.rep_a1)
    html = client.get(detail(world)).content.decode()
    assert '<section id="contacts"' in html
    assert '<section id="activity"' in html
    map_url = reverse("evidence:map", args=[world.deal])
    assert f'hx-get="{map_url}" hx-trigger="deal-changed from:body"' in html
    assert '<details id="add-contact">' in html  # closed unless asked for
    activities = reverse("deal_people:activities", args=[world.deal])
    assert f'hx-get="{activities}" hx-trigger="contacts-changed from:body"' in html
    assert "autofocus" not in html
    # The map's own answer refreshes the banner and the gate out of band.
    fragment = client.get(map_url, **HX).content.decode()
    assert 'id="process-map"' in fragment
    assert 'id="header-control" hx-swap-oob="true"' in fragment


def test_add_contact_anchor_opens_the_form_with_the_focus_in_it(world, org, client_for):
    html = client_for(org.rep_a1).get(detail(world) + "?add=contact").content.decode()
    assert '<details id="add-contact" open>' in html
    assert 'name="role-contact_id" autofocus' in html


def test_a_deal_without_account_offers_no_contact_form(world, org, client_for):
    opp = make_opportunity(org.rep_a1, name="Loose deal")
    opp.account = None
    opp.save(update_fields=["account"])
    html = client_for(org.rep_a1).get(reverse("pipeline:detail", args=[opp.pk])).content.decode()
    assert "no account, so it has no contacts" in html
    assert 'id="add-contact"' not in html


# --- account pages -------------------------------------------------------------------------


def test_account_list_searches_and_pages(world, org, client_for):
    for i in range(55):
        make_account(name=f"Zeta {i:02d}", owner=org.rep_a1)
    client = client_for(org.rep_a1)
    url = reverse("accounts:list")
    html = client.get(url, {"q": "zeta"}).content.decode()
    assert "55 accounts" in html
    assert "Zeta 00<" in html
    assert "Zeta 50<" not in html
    assert "Page 1 of 2" in html
    html = client.get(url, {"q": "zeta", "page": "2"}).content.decode()
    assert "Zeta 50<" in html
    fragment = client.get(url, {"q": "zeta 5"}, **HX).content.decode()
    assert fragment.lstrip().startswith('<div id="account-results">')
    assert "5 accounts" in fragment  # 50..54


def test_create_and_edit_an_account(world, org, client_for):
    client = client_for(org.rep_a1)
    response = client.post(
        reverse("accounts:create"), {"name": "  Acme Corp ", "sector": "retail", "employees": "40"}
    )
    assert response.status_code == 302
    acme = Account.objects.get(name="Acme Corp")
    assert (acme.owner, acme.sector, acme.employees, acme.version) == (org.rep_a1, "retail", 40, 1)
    edit = reverse("accounts:edit", args=[acme.pk])
    assert client.get(edit).status_code == 200
    response = client.post(edit, {"name": "Acme", "headquarters": "Lyon", "version": "1"})
    assert response.status_code == 302
    acme.refresh_from_db()
    assert (acme.name, acme.headquarters, acme.version, acme.owner) == (
        "Acme",
        "Lyon",
        2,
        org.rep_a1,
    )
    # A stale version is refused: nothing written, the form says why.
    before = snapshot()
    response = client.post(edit, {"name": "Acme 2", "version": "1"})
    assert response.status_code == 422
    assert "changed this account since you opened it" in response.content.decode()
    assert snapshot() == before


def test_create_refuses_a_taken_name_on_the_field(world, org, client_for):
    client = client_for(org.rep_a1)
    taken = Account.objects.get(pk=world.account).name
    before = snapshot()
    response = client.post(reverse("accounts:create"), {"name": taken.upper()})
    assert response.status_code == 422
    assert 'id="id_name_error"' in response.content.decode()
    assert snapshot() == before


def test_create_and_edit_a_contact(world, org, client_for):
    client = client_for(org.rep_a1)
    response = client.post(
        reverse("accounts:contact_create", args=[world.account]),
        {"first_name": "Cy", "last_name": "Dee", "email": "cy@example.com"},
    )
    assert response.status_code == 302
    cy = Contact.objects.get(first_name="Cy")
    back = detail(world) + "#contacts"
    edit = reverse("accounts:contact_edit", args=[world.account, cy.pk])
    response = client.post(
        edit, {"first_name": "Cy", "last_name": "Dean", "version": "1", "next": back}
    )
    assert response.status_code == 302
    assert response["Location"] == back
    cy.refresh_from_db()
    assert (cy.last_name, cy.email, cy.version) == ("Dean", "", 2)
    response = client.post(
        edit, {"first_name": "Cy", "last_name": "D", "version": "2", "next": "https://evil.test/"}
    )
    assert response["Location"] == reverse("accounts:detail", args=[world.account]) + "#contacts"


def test_admin_archives_and_restores_an_account_keeping_its_history(world, org, client_for):
    admin = client_for(org.admin)
    url = reverse("accounts:archive", args=[world.account])
    assert admin.post(url, {"version": "1", "archived": "on"}).status_code == 302
    account = Account.objects.get(pk=world.account)
    assert account.archived_at is not None
    assert account.archived_by == org.admin
    assert account.contacts.count() == 2  # history kept
    assert account.opportunities.count() == 1
    listing = reverse("accounts:list")
    assert f"{account.name}<" not in admin.get(listing).content.decode()
    assert f"{account.name}<" in admin.get(listing, {"archived": "1"}).content.decode()
    page = admin.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert 'data-testid="archived"' in page
    # Archived: read-only
    before = snapshot()
    response = admin.post(
        reverse("accounts:edit", args=[account.pk]), {"name": "New name", "version": "2"}
    )
    assert response.status_code == 422
    response = admin.post(
        reverse("accounts:contact_create", args=[account.pk]), {"first_name": "A", "last_name": "B"}
    )
    assert response.status_code == 422
    assert snapshot() == before
    assert admin.post(url, {"version": "2"}).status_code == 302
    account.refresh_from_db()
    assert account.archived_at is None
    assert account.version == 3


def test_a_stale_or_missing_role_version_changes_nothing(world, org, client_for):
    link = opportunity_contact_add(
        user=org.rep_a1, opportunity_id=world.deal, contact_id=world.bob, buying_role="coach"
    )
    client = client_for(org.rep_a1)
    edit = reverse("deal_people:role_edit", args=[world.deal, link.pk])
    remove = reverse("deal_people:role_remove", args=[world.deal, link.pk])
    base = {f"role{link.pk}-buying_role": "champion"}
    stale = client.post(edit, {**base, f"role{link.pk}-version": "5"}, **HX)
    assert stale.status_code == 409
    assert "Someone changed this contact role" in stale.content.decode()
    missing = client.post(edit, base, **HX)
    assert missing.status_code == 422
    assert "version" in missing.content.decode()
    assert client.post(remove, {"version": "5"}, **HX).status_code == 409
    missing = client.post(remove, **HX)
    assert missing.status_code == 422
    assert "version" in missing.content.decode()
    link.refresh_from_db()
    assert (link.buying_role, link.version) == ("coach", 1)
