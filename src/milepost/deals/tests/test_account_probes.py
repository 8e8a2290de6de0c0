"""Account pages and the deal page's people and activity sections as each role, with every
other user's ids: a row the user may not see is a 404 (plain and HTMX) and nothing is written;
a visible one opens. An activity is edited or deleted only by its owner, a contact only through
its own account.

The world (the organisation; per seller an account with a contact, a deal on it with the
contact as champion and one activity of the seller's) is built once for the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.urls import reverse

from milepost.accounts.models import Account, Contact
from milepost.pipeline.models import Activity, OpportunityContact
from milepost.pipeline.services import activity_log, opportunity_contact_add
from milepost.testing.factories import (
    Org,
    ensure_default_processes,
    make_contact,
    make_opportunity,
    make_org,
)
from milepost.testing.probes import allowed_answers_probed, probed
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db

OWNERS = ["rep_a1", "rep_a2", "rep_b1", "rep_solo", "manager_a", "manager_b"]
VISIBLE = {
    "admin": set(OWNERS),
    "leader": {"rep_a1", "rep_a2", "rep_b1", "manager_a", "manager_b"},
    "manager_a": {"rep_a1", "rep_a2", "manager_a"},
    "manager_b": {"rep_b1", "manager_b"},
    "rep_a1": {"rep_a1"},
    "rep_b1": {"rep_b1"},
    "rep_solo": {"rep_solo"},
}


@dataclass(frozen=True)
class Ids:
    account: int
    contact: int
    deal: int
    link: int
    activity: int


@dataclass(frozen=True)
class World:
    org: Org
    ids: dict[str, Ids]  # by owner username


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    with shared_world(django_db_blocker):
        ensure_default_processes()
        org = make_org()
        ids = {}
        for name in OWNERS:
            owner = getattr(org, name)
            opp = make_opportunity(owner, name=f"Deal of {name}", stage_key="commit")
            opp.account.name = f"Account of {name}"
            opp.account.save()
            contact = make_contact(opp.account, first="Pat", last=f"Of{name}")
            link = opportunity_contact_add(
                user=owner, opportunity_id=opp.pk, contact_id=contact.pk, buying_role="champion"
            )
            act = activity_log(
                user=owner, opportunity_id=opp.pk, type="call", subject=f"Call of {name}"
            )
            ids[name] = Ids(opp.account_id, contact.pk, opp.pk, link.pk, act.pk)
        yield World(org=org, ids=ids)


@pytest.fixture
def org(world: World, db) -> Org:
    return world.org


# (method, URL name, the ids it takes, a valid form for a POST)
ROWS: list[tuple[str, str, tuple[str, ...], dict[str, str]]] = [
    ("get", "accounts:detail", ("account",), {}),
    ("get", "accounts:edit", ("account",), {}),
    ("post", "accounts:edit", ("account",), {"name": "Renamed", "version": "1"}),
    ("post", "accounts:archive", ("account",), {"version": "1", "archived": "on"}),
    ("get", "accounts:contact_create", ("account",), {}),
    ("post", "accounts:contact_create", ("account",), {"first_name": "A", "last_name": "B"}),
    ("get", "accounts:contact_edit", ("account", "contact"), {}),
    (
        "post",
        "accounts:contact_edit",
        ("account", "contact"),
        {"first_name": "A", "last_name": "B", "version": "1"},
    ),
    (
        "post",
        "accounts:activity_log",
        ("account",),
        {"activity-opportunity_id": "{deal}", "activity-type": "call", "activity-subject": "x"},
    ),
    ("get", "deal_people:contacts", ("deal",), {}),
    (
        "post",
        "deal_people:role_add",
        ("deal",),
        {"role-contact_id": "{contact}", "role-buying_role": "economic_buyer"},
    ),
    (
        "post",
        "deal_people:role_create",
        ("deal",),
        {"new-first_name": "N", "new-last_name": "M", "new-buying_role": "coach"},
    ),
    (
        "post",
        "deal_people:role_edit",
        ("deal", "link"),
        {"role{link}-buying_role": "coach", "role{link}-version": "1"},
    ),
    ("post", "deal_people:role_remove", ("deal", "link"), {"version": "1"}),
    ("get", "deal_people:activities", ("deal",), {}),
    (
        "post",
        "deal_people:activity_log",
        ("deal",),
        {"activity-type": "call", "activity-subject": "x"},
    ),
    ("get", "deal_people:activity_edit", ("deal", "activity"), {}),
    (
        "post",
        "deal_people:activity_edit",
        ("deal", "activity"),
        {"activity-type": "call", "activity-subject": "edited", "activity-version": "1"},
    ),
    ("post", "deal_people:activity_delete", ("deal", "activity"), {"version": "1"}),
]


def url_of(name: str, keys: tuple[str, ...], ids: Ids) -> str:
    return reverse(name, args=[getattr(ids, k) for k in keys])


def form_of(data: dict[str, str], ids: Ids) -> dict[str, str]:
    fill = {k: getattr(ids, k) for k in ("account", "contact", "deal", "link", "activity")}
    return {k.format(**fill): v.format(**fill) for k, v in data.items()}


PLACE = Ids(1, 1, 1, 1, 1)  # the declaration resolves paths only; any ids do
PROBED = probed(
    ("get", reverse("accounts:list")),
    ("get", reverse("accounts:create")),
    *((method, url_of(name, keys, PLACE)) for method, name, keys, _ in ROWS),
)


def snapshot() -> tuple:
    """Everything these pages may write, to show a refused request wrote nothing."""
    return (
        sorted(Account.objects.values_list("id", "name", "version", "archived_at")),
        sorted(Contact.objects.values_list("id", "first_name", "version")),
        sorted(OpportunityContact.objects.values_list("id", "contact_id", "buying_role")),
        sorted(Activity.objects.values_list("id", "subject", "type")),
    )


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_other_users_rows_are_404_and_nothing_is_written(role, world, org, client_for):
    client = client_for(getattr(org, role))
    before = snapshot()
    for owner, ids in world.ids.items():
        if owner in VISIBLE[role]:
            continue
        for method, name, keys, data in ROWS:
            url = url_of(name, keys, ids)
            # The deal sections answer HTMX and plain requests differently: probe both.
            variants = [{}, {"HTTP_HX_REQUEST": "true"}] if name.startswith("deal_") else [{}]
            for headers in variants:
                if method == "get":
                    response = client.get(url, **headers)
                else:
                    response = client.post(url, form_of(data, ids), **headers)
                assert response.status_code == 404, (role, owner, method, name, headers)
    assert snapshot() == before


@pytest.mark.parametrize("role", ["admin", "manager_a", "rep_a1"])  # one per kind of scope
def test_visible_rows_open(role, world, org, client_for):
    if not allowed_answers_probed():
        pytest.skip("allowed answers are probed on PostgreSQL (allowed_answers_probed)")
    client = client_for(getattr(org, role))
    for owner in VISIBLE[role]:
        ids = world.ids[owner]
        for method, name, keys, _ in ROWS:
            if method != "get" or name == "deal_people:activity_edit":
                continue
            response = client.get(url_of(name, keys, ids), HTTP_HX_REQUEST="true")
            assert response.status_code == 200, (role, owner, name)


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_account_list_shows_exactly_the_visible_accounts(role, world, org, client_for):
    html = client_for(getattr(org, role)).get(reverse("accounts:list")).content.decode()
    shown = {owner for owner in OWNERS if f"Account of {owner}<" in html}
    assert shown == VISIBLE[role]
    assert client_for(getattr(org, role)).get(reverse("accounts:create")).status_code == 200


def test_a_contact_is_only_reached_through_its_own_account(world, org, client_for):
    client = client_for(org.admin)
    mine, other = world.ids["rep_a1"], world.ids["rep_a2"]
    before = snapshot()
    url = reverse("accounts:contact_edit", args=[mine.account, other.contact])
    assert client.get(url).status_code == 404
    data = {"first_name": "X", "last_name": "Y", "version": "1"}
    assert client.post(url, data).status_code == 404
    assert snapshot() == before


def test_a_role_or_activity_is_only_reached_through_its_own_deal(world, org, client_for):
    client = client_for(org.admin)
    mine, other = world.ids["rep_a1"], world.ids["rep_a2"]
    before = snapshot()
    for name, key in (
        ("deal_people:role_edit", "link"),
        ("deal_people:role_remove", "link"),
        ("deal_people:activity_edit", "activity"),
        ("deal_people:activity_delete", "activity"),
    ):
        url = reverse(name, args=[mine.deal, getattr(other, key)])
        data = {
            f"role{other.link}-buying_role": "coach",
            f"role{other.link}-version": "1",
            "version": "1",
        }
        response = client.post(url, data)
        assert response.status_code == 404, name
    assert snapshot() == before


@pytest.mark.parametrize("role", ["manager_a", "admin"])
def test_only_the_owner_edits_or_deletes_an_activity(role, world, org, client_for):
    """A manager sees the rep's activity but may not change it: 404, nothing written."""
    client = client_for(getattr(org, role))
    ids = world.ids["rep_a1"]
    before = snapshot()
    edit = reverse("deal_people:activity_edit", args=[ids.deal, ids.activity])
    assert client.get(edit).status_code == 404
    data = {"activity-type": "demo", "activity-subject": "taken over", "activity-version": "1"}
    assert client.post(edit, data).status_code == 404
    delete = reverse("deal_people:activity_delete", args=[ids.deal, ids.activity])
    assert client.post(delete, {"version": "1"}, HTTP_HX_REQUEST="true").status_code == 404
    assert snapshot() == before
    html = client.get(reverse("pipeline:detail", args=[ids.deal])).content.decode()
    assert "Call of rep_a1" in html
    assert edit not in html  # no edit link offered on someone else's activity


def test_the_owner_edits_and_deletes_their_activity(world, org, client_for):
    client = client_for(org.rep_a1)
    ids = world.ids["rep_a1"]
    edit = reverse("deal_people:activity_edit", args=[ids.deal, ids.activity])
    assert client.get(edit).status_code == 200
    data = {
        "activity-type": "demo",
        "activity-subject": "Demo instead",
        "activity-contact_ids": [str(ids.contact)],
        "activity-version": "1",
    }
    response = client.post(edit, data)
    assert response.status_code == 302
    activity = Activity.objects.get(pk=ids.activity)
    assert (activity.type, activity.subject) == ("demo", "Demo instead")
    assert [c.pk for c in activity.contacts.all()] == [ids.contact]
    delete = reverse("deal_people:activity_delete", args=[ids.deal, ids.activity])
    response = client.post(delete, {"version": "2"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Trigger"] == "deal-changed"
    assert not Activity.objects.filter(pk=ids.activity).exists()


@pytest.mark.parametrize("role", ["manager_a", "rep_a1", "leader"])
def test_only_admins_archive(role, world, org, client_for):
    client = client_for(getattr(org, role))
    ids = world.ids["rep_a1"]
    before = snapshot()
    url = reverse("accounts:archive", args=[ids.account])
    response = client.post(url, {"version": "1", "archived": "on"})
    assert response.status_code == 403
    assert snapshot() == before


def test_anonymous_is_sent_to_login_everywhere(world, client):
    ids = world.ids["rep_a1"]
    before = snapshot()
    urls = [("get", reverse("accounts:list")), ("get", reverse("accounts:create"))]
    urls += [(method, url_of(name, keys, ids)) for method, name, keys, _ in ROWS]
    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))
    assert snapshot() == before


def test_a_stale_or_missing_activity_version_changes_nothing(world, org, client_for):
    client = client_for(org.rep_a1)
    ids = world.ids["rep_a1"]
    before = snapshot()
    edit = reverse("deal_people:activity_edit", args=[ids.deal, ids.activity])
    assert 'name="activity-version" value="1"' in client.get(edit).content.decode()
    data = {"activity-type": "demo", "activity-subject": "Late"}
    stale = client.post(edit, {**data, "activity-version": "9"})
    assert stale.status_code == 409
    assert "Someone changed this activity" in stale.content.decode()
    missing = client.post(edit, data)
    assert missing.status_code == 422
    assert "version" in missing.content.decode()
    delete = reverse("deal_people:activity_delete", args=[ids.deal, ids.activity])
    assert client.post(delete, {"version": "9"}, HTTP_HX_REQUEST="true").status_code == 409
    missing = client.post(delete, HTTP_HX_REQUEST="true")
    assert missing.status_code == 422
    assert "version" in missing.content.decode()
    assert snapshot() == before
