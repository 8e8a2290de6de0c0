"""Editing and archiving accounts and contacts: optimistic locking, visibility, no cycles of
parents, admins-only archiving, archived rows read-only; every refusal writes nothing."""

from __future__ import annotations

import pytest

from milepost.accounts.models import Account, Contact
from milepost.accounts.services import account_archive, account_update, contact_update
from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.testing.factories import make_account, make_contact

pytestmark = pytest.mark.django_db


def state() -> list:
    return sorted(Account.objects.values_list("id", "name", "version", "parent_id", "archived_at"))


def test_update_bumps_the_version_and_refuses_a_stale_one(org):
    acc = make_account("Acme", owner=org.rep_a1)
    updated = account_update(
        user=org.rep_a1, account_id=acc.pk, expected_version=1, name="Acme SA", sector="retail"
    )
    assert (updated.name, updated.sector, updated.version, updated.owner) == (
        "Acme SA",
        "retail",
        2,
        org.rep_a1,
    )
    before = state()
    with pytest.raises(VersionConflict):
        account_update(user=org.rep_a1, account_id=acc.pk, expected_version=1, name="Other")
    assert state() == before


def test_update_of_a_hidden_account_is_not_found(org):
    acc = make_account("Hidden", owner=org.rep_b1)
    before = state()
    with pytest.raises(NotFound):
        account_update(user=org.rep_a1, account_id=acc.pk, expected_version=1, name="Mine now")
    assert state() == before


def test_parents_form_no_cycle(org):
    top = make_account("Top", owner=org.rep_a1)
    sub = make_account("Sub", owner=org.rep_a1)
    account_update(
        user=org.rep_a1, account_id=sub.pk, expected_version=1, name="Sub", parent_id=top.pk
    )
    before = state()
    with pytest.raises(InvalidChange) as exc:
        account_update(
            user=org.rep_a1, account_id=top.pk, expected_version=1, name="Top", parent_id=sub.pk
        )
    assert exc.value.field == "parent_id"
    assert state() == before


def test_owner_must_be_someone_the_editor_may_see(org):
    acc = make_account("Acme", owner=org.rep_a1)
    before = state()
    with pytest.raises(InvalidChange) as exc:
        account_update(
            user=org.rep_a1,
            account_id=acc.pk,
            expected_version=1,
            name="Acme",
            owner_id=org.rep_b1.pk,
        )
    assert exc.value.field == "owner_id"
    assert state() == before
    moved = account_update(
        user=org.manager_a,
        account_id=acc.pk,
        expected_version=1,
        name="Acme",
        owner_id=org.rep_a2.pk,
    )
    assert moved.owner == org.rep_a2


@pytest.mark.parametrize("role", ["rep_a1", "manager_a", "leader"])
def test_only_admins_archive(org, role):
    acc = make_account("Acme", owner=org.rep_a1)
    before = state()
    with pytest.raises(InvalidChange):
        account_archive(user=getattr(org, role), account_id=acc.pk, expected_version=1)
    assert state() == before


def test_archived_account_and_its_contacts_are_read_only_until_restored(org):
    acc = make_account("Acme", owner=org.rep_a1)
    ann = make_contact(acc, first="Ann")
    archived = account_archive(user=org.admin, account_id=acc.pk, expected_version=1)
    assert archived.archived_at is not None
    before = (state(), sorted(Contact.objects.values_list("id", "last_name", "version")))
    with pytest.raises(InvalidChange):
        account_update(user=org.rep_a1, account_id=acc.pk, expected_version=2, name="Renamed")
    with pytest.raises(InvalidChange):
        contact_update(
            user=org.rep_a1,
            contact_id=ann.pk,
            expected_version=1,
            first_name="Ann",
            last_name="Changed",
        )
    assert before == (state(), sorted(Contact.objects.values_list("id", "last_name", "version")))
    restored = account_archive(
        user=org.admin, account_id=acc.pk, expected_version=2, archived=False
    )
    assert restored.archived_at is None
    assert restored.version == 3


def test_contact_update_checks_version_and_email(org):
    acc = make_account("Acme", owner=org.rep_a1)
    ann = make_contact(acc, first="Ann", last="Lee")
    with pytest.raises(InvalidChange) as exc:
        contact_update(
            user=org.rep_a1,
            contact_id=ann.pk,
            expected_version=1,
            first_name="Ann",
            last_name="Lee",
            email="nope",
        )
    assert exc.value.field == "email"
    done = contact_update(
        user=org.rep_a1,
        contact_id=ann.pk,
        expected_version=1,
        first_name="Ann",
        last_name="Leigh",
        email="ann@example.com",
    )
    assert (done.last_name, done.email, done.version) == ("Leigh", "ann@example.com", 2)
    with pytest.raises(VersionConflict):
        contact_update(
            user=org.rep_a1, contact_id=ann.pk, expected_version=1, first_name="X", last_name="Y"
        )
    with pytest.raises(NotFound):
        contact_update(
            user=org.rep_b1, contact_id=ann.pk, expected_version=2, first_name="X", last_name="Y"
        )
    ann.refresh_from_db()
    assert ann.last_name == "Leigh"
