"""The pipeline REST API: permission probes for every endpoint, locking, bad input, CSRF, docs.

The probes are generated from two tables: ``DETAIL_PROBES`` (endpoints about one row that
belongs to somebody) and ``LIST_PROBES`` (endpoints answering a list). Every row is tried as
every role, against every other user's rows, with session and with token auth. To cover a new
endpoint, add a line to a table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

import pytest
from django.db.models import Func, IntegerField, Subquery, Value
from django.test import Client, override_settings

from milepost.accounts.models import Account, Contact
from milepost.pipeline.models import Activity, Opportunity, OpportunityContact, StageTransition
from milepost.team.models import User
from milepost.team.services import api_token_create, api_token_revoke
from milepost.testing.clients import api_client
from milepost.testing.factories import (
    Org,
    ensure_default_processes,
    make_contact,
    make_opportunity,
    make_org,
)
from milepost.testing.probes import allowed_answers_probed, probed, probed_table
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db

API = "/api/v1"

# Who owns a deal in the fixture world, and whose deals each viewer must see. Written out by
# hand (not computed with visible_user_ids) so the probes check the rule, not restate it.
OWNERS = ["manager_a", "manager_b", "rep_a1", "rep_a2", "rep_b1", "rep_solo"]
VISIBLE_OWNERS = {
    "admin": set(OWNERS),
    "leader": {"manager_a", "manager_b", "rep_a1", "rep_a2", "rep_b1"},  # two levels down
    "manager_a": {"manager_a", "rep_a1", "rep_a2"},
    "manager_b": {"manager_b", "rep_b1"},
    "rep_a1": {"rep_a1"},
    "rep_b1": {"rep_b1"},
    "rep_solo": {"rep_solo"},
}
VIEWERS = sorted(VISIBLE_OWNERS)
# The auth each viewer's allowed answers are probed with (alternating: both are used).
ANSWERED_WITH = {v: ("session", "token")[i % 2] for i, v in enumerate(VIEWERS)}


@dataclass
class Deal:
    """One user's deal with its account, a contact, a contact role and an activity."""

    opp: Opportunity
    account: Account
    contact: Contact
    link: OpportunityContact
    activity: Activity


@dataclass
class World:
    org: Org
    deals: dict[str, Deal]  # by owner username
    clients: dict[tuple[str, str], Client] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """Built once for the module's probes; each test's writes are undone after it."""
    with shared_world(django_db_blocker):
        ensure_default_processes()
        world = _build_world(make_org())
        for username in VIEWERS:
            for auth in ("session", "token"):
                world.clients[(username, auth)] = api_client(getattr(world.org, username), auth)
        yield world


def _build_world(org: Org) -> World:
    deals = {}
    for username in OWNERS:
        owner = getattr(org, username)
        opp = make_opportunity(owner, name=f"{username} deal")
        contact = make_contact(opp.account, first=username)
        link = OpportunityContact.objects.create(
            opportunity=opp, contact=contact, buying_role="champion"
        )
        activity = Activity.objects.create(
            opportunity=opp,
            type="call",
            occurred_at=opp.created_at,
            owner=owner,
            subject="intro call",
        )
        activity.contacts.add(contact)
        deals[username] = Deal(opp, opp.account, contact, link, activity)
    return World(org=org, deals=deals)


def _client(world: World, username: str, auth: Literal["session", "token"]) -> Client:
    """The module's signed-in client of ``username`` (signing in and issuing a token once, in
    the module's transaction, not again in each probe's)."""
    return world.clients[(username, auth)]


def _call(client: Client, method: str, path: str, body: dict | None = None):
    if method == "get":
        return client.get(path)
    return getattr(client, method)(
        path, data=json.dumps(body or {}), content_type="application/json"
    )


def _count(rows) -> Subquery:
    """``SELECT COUNT(*)`` of ``rows`` as a scalar subquery (no GROUP BY: one number)."""
    count = Func(Value(1), function="COUNT", output_field=IntegerField())
    return Subquery(rows.order_by().values_list(count))


def _footprint(deal: Deal) -> tuple:
    """Everything a write on ``deal`` could change; equal before and after = nothing written.
    One statement: the probes take it before and after each of a thousand requests."""
    return (
        Opportunity.objects.filter(pk=deal.opp.pk)
        .values_list(
            "version",
            "stage_id",
            "amount",
            _count(StageTransition.objects.filter(opportunity=deal.opp.pk)),
            _count(OpportunityContact.objects.filter(opportunity=deal.opp.pk)),
            _count(Activity.objects.filter(opportunity=deal.opp.pk)),
            _count(Contact.objects.filter(account=deal.account.pk)),
            _count(Opportunity.objects.filter(account=deal.account.pk)),
            _count(Account.objects.filter(parent=deal.account.pk)),
        )
        .get()
    )


@dataclass(frozen=True)
class DetailProbe:
    """An endpoint about one row of ``deal``: ``ok`` when visible, ``hidden`` otherwise."""

    name: str
    method: str
    path: str  # formatted with opp, link, account, contact ids
    ok: int
    body: Callable[[Deal], dict] | None = None
    hidden: int = 404


DETAIL_PROBES = [
    DetailProbe("opportunity", "get", "/opportunities/{opp}", 200),
    DetailProbe("transitions", "get", "/opportunities/{opp}/transitions", 200),
    DetailProbe("contacts", "get", "/opportunities/{opp}/contacts", 200),
    DetailProbe("activities", "get", "/opportunities/{opp}/activities", 200),
    DetailProbe(
        "patch", "patch", "/opportunities/{opp}", 200, lambda d: {"version": 1, "amount": "7"}
    ),
    DetailProbe(
        "move",
        "post",
        "/opportunities/{opp}/move",
        200,
        lambda d: {"stage": "discover", "version": d.opp.version},
    ),
    DetailProbe(
        "contact-add",
        "post",
        "/opportunities/{opp}/contacts",
        201,
        lambda d: {"contact_id": d.contact.pk, "buying_role": "coach"},
    ),
    DetailProbe("contact-remove", "delete", "/opportunities/{opp}/contacts/{link}?version=1", 204),
    DetailProbe(
        "activity-log",
        "post",
        "/opportunities/{opp}/activities",
        201,
        lambda d: {"type": "demo", "subject": "demo", "contact_ids": [d.contact.pk]},
    ),
    DetailProbe("account", "get", "/accounts/{account}", 200),
    DetailProbe("contact", "get", "/contacts/{contact}", 200),
    # Bodies that reference a row: a hidden account is bad input, named, never revealed.
    DetailProbe(
        "contact-create",
        "post",
        "/contacts",
        201,
        lambda d: {"account_id": d.account.pk, "first_name": "New", "last_name": "Person"},
        hidden=422,
    ),
    DetailProbe(
        "account-create-under-parent",
        "post",
        "/accounts",
        201,
        lambda d: {"name": f"Subsidiary of {d.account.name}", "parent_id": d.account.pk},
        hidden=422,
    ),
    DetailProbe(
        "opportunity-create-on-account",
        "post",
        "/opportunities",
        201,
        lambda d: {
            "name": "Upsell",
            "amount": "100",
            "close_date": "2031-01-31",
            "account_id": d.account.pk,
        },
        hidden=422,
    ),
]


def _path(probe: DetailProbe, deal: Deal) -> str:
    return API + probe.path.format(
        opp=deal.opp.pk, link=deal.link.pk, account=deal.account.pk, contact=deal.contact.pk
    )


@pytest.mark.parametrize("auth", ["session", "token"])
@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("probe", DETAIL_PROBES, ids=lambda p: p.name)
def test_detail_endpoints_answer_only_for_visible_rows(world, probe, viewer, auth):
    """Hidden rows are refused with either auth, on both databases. Visible rows are answered
    on PostgreSQL only (``allowed_answers_probed``), with one auth per viewer
    (``ANSWERED_WITH``): what follows the sign-in does not depend on how it was made, and the
    permission matrix sends every operation with both."""
    client = _client(world, viewer, auth)
    answered = allowed_answers_probed() and ANSWERED_WITH[viewer] == auth
    if not answered and VISIBLE_OWNERS[viewer] == set(OWNERS):
        pytest.skip("every row is visible to this viewer: answered with the other auth")
    for owner, deal in world.deals.items():
        visible = owner in VISIBLE_OWNERS[viewer]
        if visible and not answered:
            continue
        before = _footprint(deal)
        body = probe.body(deal) if probe.body else None
        response = _call(client, probe.method, _path(probe, deal), body)
        expected = probe.ok if visible else probe.hidden
        assert response.status_code == expected, (owner, response.content)
        if not visible:
            assert _footprint(deal) == before, f"{viewer} changed {owner}'s deal"
            if expected == 404:
                # Same answer as for a row that does not exist: nothing to tell them apart.
                assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("probe", DETAIL_PROBES, ids=lambda p: p.name)
def test_missing_rows_answer_like_hidden_rows(world, probe):
    client = _client(world, "admin", "session")
    ghost = Deal(
        opp=Opportunity(pk=999_999),
        account=Account(pk=999_999),
        contact=Contact(pk=999_999),
        link=OpportunityContact(pk=999_999),
        activity=Activity(pk=999_999),
    )
    response = _call(client, probe.method, _path(probe, ghost), probe.body and probe.body(ghost))
    assert response.status_code == probe.hidden


@dataclass(frozen=True)
class ListProbe:
    name: str
    path: str
    expected: Callable[[World, set[str]], set[int]]  # visible owners → expected ids


LIST_PROBES = [
    ListProbe(
        "opportunities",
        "/opportunities?status=all",
        lambda w, owners: {w.deals[o].opp.pk for o in owners},
    ),
    ListProbe("accounts", "/accounts", lambda w, owners: {w.deals[o].account.pk for o in owners}),
    ListProbe("contacts", "/contacts", lambda w, owners: {w.deals[o].contact.pk for o in owners}),
]


@pytest.mark.parametrize("auth", ["session", "token"])
@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("probe", LIST_PROBES, ids=lambda p: p.name)
def test_lists_hold_exactly_the_visible_rows(world, probe, viewer, auth):
    response = _client(world, viewer, auth).get(API + probe.path)
    assert response.status_code == 200
    page = response.json()
    expected = probe.expected(world, VISIBLE_OWNERS[viewer])
    assert {row["id"] for row in page["items"]} == expected
    assert page["count"] == len(expected)


@pytest.mark.parametrize(
    ("viewer", "team_of", "expected_owners"),
    [
        ("leader", "manager_a", {"manager_a", "rep_a1", "rep_a2"}),
        ("admin", "manager_b", {"manager_b", "rep_b1"}),
        ("manager_a", "manager_a", {"manager_a", "rep_a1", "rep_a2"}),
        ("manager_b", "manager_a", set()),  # another team: empty, not an error that leaks
        ("rep_a1", "manager_a", set()),
    ],
)
def test_team_filter_is_intersected_with_what_the_viewer_sees(
    world, viewer, team_of, expected_owners
):
    manager_id = getattr(world.org, team_of).pk
    page = _client(world, viewer, "session").get(f"{API}/opportunities?team_of={manager_id}").json()
    assert {row["id"] for row in page["items"]} == {world.deals[o].opp.pk for o in expected_owners}


def test_owner_filter_on_a_hidden_user_is_empty(world):
    client = _client(world, "manager_a", "session")
    hidden = world.org.rep_b1.pk
    assert client.get(f"{API}/opportunities?owner_id={hidden}").json()["count"] == 0
    mine = world.org.rep_a2.pk
    page = client.get(f"{API}/opportunities?owner_id={mine}").json()
    assert [row["id"] for row in page["items"]] == [world.deals["rep_a2"].opp.pk]


@pytest.mark.parametrize("account_owner", ["rep_a1", "rep_b1"])
def test_contacts_list_by_account_never_widens_the_scope(world, account_owner):
    account = world.deals[account_owner].account
    page = _client(world, "rep_a1", "session").get(f"{API}/contacts?account_id={account.pk}")
    expected = {world.deals["rep_a1"].contact.pk} if account_owner == "rep_a1" else set()
    assert {row["id"] for row in page.json()["items"]} == expected


# --- authentication ------------------------------------------------------------------------

ALL_ENDPOINTS = [(p.method, p.path, p.body) for p in DETAIL_PROBES] + [
    ("get", p.path, None) for p in LIST_PROBES
]


# What the detail and list probes above try, as every role with every other user's rows.
PROBED = probed_table(DETAIL_PROBES, prefix=API) | probed(
    *(("get", API + p.path) for p in LIST_PROBES)
)


def _endpoint_id(endpoint) -> str:
    return f"{endpoint[0]} {endpoint[1]}"


@pytest.mark.parametrize("endpoint", ALL_ENDPOINTS, ids=_endpoint_id)
def test_anonymous_gets_401_everywhere(world, endpoint):
    method, path, body = endpoint
    deal = world.deals["rep_a1"]
    before = _footprint(deal)
    probe = DetailProbe("x", method, path, 0, body)
    response = _call(Client(), method, _path(probe, deal), body and body(deal))
    assert response.status_code == 401
    assert _footprint(deal) == before


@pytest.mark.parametrize("endpoint", ALL_ENDPOINTS, ids=_endpoint_id)
def test_revoked_token_gets_401_everywhere(world, endpoint):
    method, path, body = endpoint
    user = world.org.rep_a1
    issued = api_token_create(user=user, name="old script")
    api_token_revoke(user=user, token_id=issued.token.pk)
    client = Client(headers={"Authorization": f"Bearer {issued.secret}"})
    deal = world.deals["rep_a1"]
    before = _footprint(deal)
    probe = DetailProbe("x", method, path, 0, body)
    response = _call(client, method, _path(probe, deal), body and body(deal))
    assert response.status_code == 401
    assert _footprint(deal) == before


def test_token_of_an_inactive_user_gets_401(world):
    user = User.objects.get(pk=world.org.rep_a1.pk)  # not the shared object: it is reused
    secret = api_token_create(user=user, name="script").secret
    user.is_active = False
    user.save(update_fields=["is_active"])
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    assert client.get(f"{API}/opportunities").status_code == 401


def test_session_writes_need_csrf_token_writes_do_not(world):
    deal = world.deals["rep_a1"]
    body = json.dumps({"version": 1, "amount": "42"})
    path = f"{API}/opportunities/{deal.opp.pk}"

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.org.rep_a1)
    # A GET needs no CSRF token (and the docs page hands the browser its CSRF cookie).
    assert browser.get(f"{API}/opportunities").status_code == 200
    assert browser.get(f"{API}/docs").status_code == 200
    refused = browser.patch(path, data=body, content_type="application/json")
    assert refused.status_code == 403
    assert Opportunity.objects.get(pk=deal.opp.pk).version == 1

    accepted = browser.patch(
        path,
        data=body,
        content_type="application/json",
        headers={"X-CSRFToken": browser.cookies["csrftoken"].value},
    )
    assert accepted.status_code == 200, accepted.content
    assert Opportunity.objects.get(pk=deal.opp.pk).amount == Decimal("42")

    secret = api_token_create(user=world.org.rep_a1, name="script").secret
    script = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {secret}"})
    response = script.patch(
        path, data=json.dumps({"version": 2, "amount": "43"}), content_type="application/json"
    )
    assert response.status_code == 200, response.content


# --- optimistic locking --------------------------------------------------------------------


def test_two_patches_with_the_same_version_second_gets_409(world):
    deal = world.deals["rep_a1"]
    rep = _client(world, "rep_a1", "session")
    manager = _client(world, "manager_a", "token")
    path = f"{API}/opportunities/{deal.opp.pk}"

    first = _call(rep, "patch", path, {"version": 1, "amount": "1500", "next_step": "demo"})
    second = _call(manager, "patch", path, {"version": 1, "amount": "9999"})

    assert first.status_code == 200
    assert first.json()["version"] == 2
    assert second.status_code == 409
    assert second.json()["current_version"] == 2
    opp = Opportunity.objects.get(pk=deal.opp.pk)
    assert (opp.amount, opp.next_step, opp.version) == (Decimal("1500"), "demo", 2)


def test_move_with_stale_version_gets_409_and_writes_no_transition(world):
    deal = world.deals["rep_a1"]
    client = _client(world, "rep_a1", "session")
    _call(client, "patch", f"{API}/opportunities/{deal.opp.pk}", {"version": 1, "amount": "5"})
    before = _footprint(deal)

    response = _call(
        client,
        "post",
        f"{API}/opportunities/{deal.opp.pk}/move",
        {"stage": "discover", "version": 1},
    )

    assert response.status_code == 409
    assert response.json()["current_version"] == 2
    assert _footprint(deal) == before


def test_two_moves_from_the_same_read_one_wins_one_is_409(world):
    """Issue 14: two clients that read the same version and move the deal; before ``version``
    was required on a move both succeeded, the second silently undoing the first."""
    deal = world.deals["rep_a1"]
    rep = _client(world, "rep_a1", "session")
    manager = _client(world, "manager_a", "token")
    path = f"{API}/opportunities/{deal.opp.pk}/move"
    targets = ["discover", "engage"]
    for round_ in range(10):
        read = rep.get(f"{API}/opportunities/{deal.opp.pk}").json()
        target = targets[round_ % 2]
        first = _call(rep, "post", path, {"stage": target, "version": read["version"]})
        second = _call(manager, "post", path, {"stage": "commit", "version": read["version"]})
        assert (first.status_code, second.status_code) == (200, 409), round_
        assert second.json()["current_version"] == read["version"] + 1
    transitions = rep.get(f"{API}/opportunities/{deal.opp.pk}/transitions").json()
    assert [t["to_stage"] for t in transitions][1:] == targets * 5


def test_move_by_key_or_id_returns_deal_and_transition(world):
    deal = world.deals["rep_a1"]
    client = _client(world, "manager_a", "session")
    path = f"{API}/opportunities/{deal.opp.pk}/move"

    by_key = _call(client, "post", path, {"stage": "discover", "version": 1, "note": "met"})
    assert by_key.status_code == 200
    body = by_key.json()
    assert body["opportunity"]["stage"]["key"] == "discover"
    assert body["opportunity"]["version"] == 2
    assert body["transition"]["from_stage"] == "engage"
    assert body["transition"]["to_stage"] == "discover"
    assert body["transition"]["source"] == "api"
    assert body["transition"]["note"] == "met"

    lost_id = deal.opp.stage.version.stages.get(key="lost").pk
    lost = _call(client, "post", path, {"stage": lost_id, "lost_reason": "no budget", "version": 2})
    assert lost.status_code == 200
    assert lost.json()["opportunity"]["lost_reason"] == "no budget"
    assert lost.json()["opportunity"]["closed_at"] is not None
    transitions = client.get(f"{API}/opportunities/{deal.opp.pk}/transitions").json()
    assert [t["to_stage"] for t in transitions] == ["engage", "discover", "lost"]


# --- bad input -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BadInput:
    name: str
    method: str
    path: str
    body: Callable[[World], dict]
    field: str


BAD_INPUTS = [
    BadInput(
        "amount-not-a-number",
        "patch",
        "/opportunities/{opp}",
        lambda w: {"version": 1, "amount": "lots"},
        "amount",
    ),
    BadInput(
        "amount-negative",
        "patch",
        "/opportunities/{opp}",
        lambda w: {"version": 1, "amount": "-5"},
        "amount",
    ),
    # An amount past the column's size was stored on SQLite and then took /pipeline/ down for
    # every role (issue 12); PostgreSQL answered 500.
    *(
        BadInput(
            f"amount-too-large-{how}-{amount}",
            how,
            path,
            body,
            "amount",
        )
        for amount in ("1e12", "1e20", "9999999999999.99")
        for how, path, body in (
            ("patch", "/opportunities/{opp}", lambda w, a=amount: {"version": 1, "amount": a}),
            (
                "post",
                "/opportunities",
                lambda w, a=amount: {"name": "X", "amount": a, "close_date": "2031-01-01"},
            ),
        )
    ),
    BadInput(
        "date-impossible",
        "patch",
        "/opportunities/{opp}",
        lambda w: {"version": 1, "close_date": "2031-02-30"},
        "close_date",
    ),
    BadInput(
        "unknown-field",
        "patch",
        "/opportunities/{opp}",
        lambda w: {"version": 1, "stage": 3},
        "stage",
    ),
    BadInput(
        "probability-over-100",
        "patch",
        "/opportunities/{opp}",
        lambda w: {"version": 1, "probability": 140},
        "probability",
    ),
    BadInput(
        "owner-outside-the-team",
        "patch",
        "/opportunities/{opp}",
        lambda w: {"version": 1, "owner_id": w.org.rep_b1.pk},
        "owner_id",
    ),
    BadInput(
        "missing-version", "patch", "/opportunities/{opp}", lambda w: {"amount": "1"}, "version"
    ),
    BadInput(
        "move-missing-version",
        "post",
        "/opportunities/{opp}/move",
        lambda w: {"stage": "discover"},
        "version",
    ),
    BadInput(
        "unknown-stage-key",
        "post",
        "/opportunities/{opp}/move",
        lambda w: {"stage": "won-ish", "version": 1},
        "stage",
    ),
    BadInput(
        "create-unknown-stage-key",
        "post",
        "/opportunities",
        lambda w: {"name": "X", "amount": "1", "close_date": "2031-01-01", "stage_key": "nope"},
        "stage_key",
    ),
    BadInput(
        "create-bad-date",
        "post",
        "/opportunities",
        lambda w: {"name": "X", "amount": "1", "close_date": "31/01/2031"},
        "close_date",
    ),
    BadInput(
        "unknown-buying-role",
        "post",
        "/opportunities/{opp}/contacts",
        lambda w: {"contact_id": w.deals["rep_a1"].contact.pk, "buying_role": "kingmaker"},
        "buying_role",
    ),
    BadInput(
        "contact-from-another-account",
        "post",
        "/opportunities/{opp}/contacts",
        # rep_a2's contact is visible to manager_a but belongs to another account
        lambda w: {"contact_id": w.deals["rep_a2"].contact.pk, "buying_role": "coach"},
        "contact_id",
    ),
    BadInput(
        "duplicate-role",
        "post",
        "/opportunities/{opp}/contacts",
        lambda w: {"contact_id": w.deals["rep_a1"].contact.pk, "buying_role": "champion"},
        "buying_role",
    ),
    BadInput(
        "activity-contact-from-another-account",
        "post",
        "/opportunities/{opp}/activities",
        lambda w: {"type": "call", "subject": "x", "contact_ids": [w.deals["rep_a2"].contact.pk]},
        "contact_id",
    ),
    BadInput(
        "activity-unknown-type",
        "post",
        "/opportunities/{opp}/activities",
        lambda w: {"type": "lunch", "subject": "x"},
        "type",
    ),
    BadInput(
        "activity-naive-time",
        "post",
        "/opportunities/{opp}/activities",
        lambda w: {"type": "call", "subject": "x", "occurred_at": "2030-01-01T10:00:00"},
        "occurred_at",
    ),
    BadInput(
        "activity-empty-subject",
        "post",
        "/opportunities/{opp}/activities",
        lambda w: {"type": "call", "subject": "  "},
        "subject",
    ),
    BadInput(
        "contact-bad-email",
        "post",
        "/contacts",
        lambda w: {
            "account_id": w.deals["rep_a1"].account.pk,
            "first_name": "A",
            "last_name": "B",
            "email": "not-an-address",
        },
        "email",
    ),
    BadInput(
        "account-duplicate-name",
        "post",
        "/accounts",
        lambda w: {"name": w.deals["rep_b1"].account.name.upper()},
        "name",
    ),
    BadInput(
        "account-hidden-parent",
        "post",
        "/accounts",
        lambda w: {"name": "Subsidiary", "parent_id": w.deals["rep_b1"].account.pk},
        "parent_id",
    ),
    # The bounds of the schemas the pages share (accounts.validation, activity_validation).
    BadInput("account-name-nul", "post", "/accounts", lambda w: {"name": "Ac\x00me"}, "name"),
    BadInput(
        "account-name-lone-surrogate", "post", "/accounts", lambda w: {"name": "Ac\ud800"}, "name"
    ),
    BadInput("account-name-too-long", "post", "/accounts", lambda w: {"name": "n" * 201}, "name"),
    BadInput(
        "account-year-far-future",
        "post",
        "/accounts",
        lambda w: {"name": "Future Inc", "year_established": 3000},
        "year_established",
    ),
    BadInput(
        "contact-first-name-too-long",
        "post",
        "/contacts",
        lambda w: {
            "account_id": w.deals["rep_a1"].account.pk,
            "first_name": "f" * 81,
            "last_name": "B",
        },
        "first_name",
    ),
    BadInput(
        "role-notes-too-long",
        "post",
        "/opportunities/{opp}/contacts",
        lambda w: {
            "contact_id": w.deals["rep_a1"].contact.pk,
            "buying_role": "coach",
            "notes": "n" * 2001,
        },
        "notes",
    ),
    BadInput(
        "activity-subject-lone-surrogate",
        "post",
        "/opportunities/{opp}/activities",
        lambda w: {"type": "call", "subject": "hi \udfff"},
        "subject",
    ),
    BadInput(
        "activity-far-future",
        "post",
        "/opportunities/{opp}/activities",
        lambda w: {"type": "call", "subject": "x", "occurred_at": "2099-01-01T10:00:00Z"},
        "occurred_at",
    ),
    BadInput(
        "activity-before-2000",
        "post",
        "/opportunities/{opp}/activities",
        lambda w: {"type": "call", "subject": "x", "occurred_at": "1999-01-01T10:00:00Z"},
        "occurred_at",
    ),
    BadInput(
        "activity-too-many-contacts",
        "post",
        "/opportunities/{opp}/activities",
        lambda w: {"type": "call", "subject": "x", "contact_ids": list(range(1, 52))},
        "contact_ids",
    ),
    BadInput("page-offset-negative", "get", "/opportunities?offset=-1", lambda w: {}, "offset"),
    BadInput("unknown-status", "get", "/opportunities?status=maybe", lambda w: {}, "status"),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda c: c.name)
def test_bad_input_is_422_naming_the_field_and_writes_nothing(world, case):
    deal = world.deals["rep_a1"]
    counts_before = (
        Opportunity.objects.count(),
        Account.objects.count(),
        Contact.objects.count(),
        Activity.objects.count(),
        OpportunityContact.objects.count(),
        StageTransition.objects.count(),
    )
    before = _footprint(deal)
    client = _client(world, "manager_a", "session")

    response = _call(client, case.method, API + case.path.format(opp=deal.opp.pk), case.body(world))

    assert response.status_code == 422, response.content
    assert response.json()["field"] == case.field
    assert _footprint(deal) == before
    assert counts_before == (
        Opportunity.objects.count(),
        Account.objects.count(),
        Contact.objects.count(),
        Activity.objects.count(),
        OpportunityContact.objects.count(),
        StageTransition.objects.count(),
    )


# --- writes that succeed -------------------------------------------------------------------


def test_create_deal_account_contact_role_and_activity(world):
    client = _client(world, "rep_solo", "token")

    account = _call(client, "post", f"{API}/accounts", {"name": "Globex", "sector": "energy"})
    assert account.status_code == 201
    assert account.json()["owner_id"] == world.org.rep_solo.pk
    account_id = account.json()["id"]

    contact = _call(
        client,
        "post",
        f"{API}/contacts",
        {"account_id": account_id, "first_name": "Hank", "last_name": "Scorpio"},
    )
    assert contact.status_code == 201

    opp = _call(
        client,
        "post",
        f"{API}/opportunities",
        {
            "name": "Globex rollout",
            "amount": "250000",
            "close_date": "2031-06-30",
            "account_id": account_id,
        },
    )
    assert opp.status_code == 201
    assert opp.json()["stage"]["key"] == "engage"
    assert opp.json()["owner_id"] == world.org.rep_solo.pk
    opp_id = opp.json()["id"]

    role = _call(
        client,
        "post",
        f"{API}/opportunities/{opp_id}/contacts",
        {"contact_id": contact.json()["id"], "buying_role": "economic_buyer", "notes": "signs"},
    )
    assert role.status_code == 201
    activity = _call(
        client,
        "post",
        f"{API}/opportunities/{opp_id}/activities",
        {
            "type": "meeting",
            "subject": "Kick-off",
            "occurred_at": "2026-05-01T09:00:00Z",  # logged once it happened
            "contact_ids": [contact.json()["id"]],
        },
    )
    assert activity.status_code == 201
    assert activity.json()["owner_id"] == world.org.rep_solo.pk
    assert activity.json()["contact_ids"] == [contact.json()["id"]]

    contacts = client.get(f"{API}/opportunities/{opp_id}/contacts").json()
    assert [(c["contact"]["last_name"], c["buying_role"]) for c in contacts] == [
        ("Scorpio", "economic_buyer")
    ]
    role_url = f"{API}/opportunities/{opp_id}/contacts/{role.json()['id']}"
    missing = client.delete(role_url)
    assert missing.status_code == 422
    assert "version" in missing.content.decode()
    assert client.delete(f"{role_url}?version=2").status_code == 409
    assert len(client.get(f"{API}/opportunities/{opp_id}/contacts").json()) == 1
    assert role.json()["version"] == 1
    removed = client.delete(f"{role_url}?version=1")
    assert removed.status_code == 204
    assert client.get(f"{API}/opportunities/{opp_id}/contacts").json() == []
    assert Contact.objects.filter(pk=contact.json()["id"]).exists()

    # The other rep cannot see any of it.
    other = _client(world, "rep_a1", "session")
    assert other.get(f"{API}/accounts/{account_id}").status_code == 404
    assert other.get(f"{API}/opportunities/{opp_id}").status_code == 404


def test_patch_sends_only_the_fields_given(world):
    deal = world.deals["rep_a1"]
    client = _client(world, "rep_a1", "session")
    response = _call(
        client,
        "patch",
        f"{API}/opportunities/{deal.opp.pk}",
        {"version": 1, "probability": 35, "next_step_date": "2030-03-01"},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["probability"], body["probability_overridden"]) == (35, True)
    assert body["next_step_date"] == "2030-03-01"
    assert body["amount"] == str(deal.opp.amount)
    assert body["name"] == deal.opp.name


def test_opportunity_list_filters_order_and_pages(world):
    client = _client(world, "admin", "session")
    everything = client.get(f"{API}/opportunities?status=all&ordering=-name").json()
    names = [row["name"] for row in everything["items"]]
    assert names == sorted(names, reverse=True)
    assert everything["count"] == len(OWNERS)

    with override_settings(MILEPOST_API_PAGE_SIZE_MAX=2):
        page = client.get(f"{API}/opportunities?status=all&ordering=name&limit=50&offset=2")
    body = page.json()
    assert (body["limit"], body["offset"], body["count"]) == (2, 2, len(OWNERS))
    assert [row["name"] for row in body["items"]] == sorted(names)[2:4]

    assert client.get(f"{API}/opportunities?q=rep_b1").json()["count"] == 1
    assert client.get(f"{API}/opportunities?stage=discover").json()["count"] == 0
    assert client.get(f"{API}/opportunities?status=won").json()["count"] == 0
    assert client.get(f"{API}/opportunities?process=new_business").json()["count"] == len(OWNERS)
    assert client.get(f"{API}/opportunities?close_to=2000-01-01").json()["count"] == 0
    account = world.deals["rep_a2"].account.pk
    assert client.get(f"{API}/opportunities?account_id={account}").json()["count"] == 1


# --- documentation -------------------------------------------------------------------------


def test_openapi_document_lists_the_pipeline_paths(world):
    response = _client(world, "rep_a1", "session").get(f"{API}/openapi.json")
    assert response.status_code == 200
    paths = set(response.json()["paths"])
    assert {
        "/api/v1/opportunities",
        "/api/v1/opportunities/{opportunity_id}",
        "/api/v1/opportunities/{opportunity_id}/move",
        "/api/v1/opportunities/{opportunity_id}/transitions",
        "/api/v1/opportunities/{opportunity_id}/contacts",
        "/api/v1/opportunities/{opportunity_id}/contacts/{link_id}",
        "/api/v1/opportunities/{opportunity_id}/activities",
        "/api/v1/accounts",
        "/api/v1/accounts/{account_id}",
        "/api/v1/contacts",
        "/api/v1/contacts/{contact_id}",
        "/api/v1/me",
        "/api/v1/me/tokens",
        "/api/v1/me/tokens/{token_id}",
    } <= paths


def test_docs_page_loads_with_local_assets_only(world):
    response = _client(world, "rep_a1", "session").get(f"{API}/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "cdn." not in html
    assert "https://" not in html
