"""Account and contact writes: who may create, and bad input named and not written."""

from __future__ import annotations

import pytest

from milepost.accounts.models import Account, Contact
from milepost.accounts.services import account_create, contact_create
from milepost.core.errors import InvalidChange
from milepost.testing.factories import make_account

pytestmark = pytest.mark.django_db


def test_any_user_creates_an_account_they_own(org):
    account = account_create(user=org.rep_solo, name="  Initech ", employees=120)
    assert (account.name, account.owner, account.employees) == ("Initech", org.rep_solo, 120)


def test_manager_may_give_an_account_to_their_rep_but_not_to_another_team(org):
    account = account_create(user=org.manager_a, name="Umbrella", owner_id=org.rep_a2.pk)
    assert account.owner == org.rep_a2
    with pytest.raises(InvalidChange) as err:
        account_create(user=org.manager_a, name="Cyberdyne", owner_id=org.rep_b1.pk)
    assert err.value.field == "owner_id"
    assert not Account.objects.filter(name="Cyberdyne").exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": " "}, "name"),
        ({"annual_revenue_musd": "-1"}, "annual_revenue_musd"),
        ({"annual_revenue_musd": "a lot"}, "annual_revenue_musd"),
        ({"year_established": -3}, "year_established"),
        ({"sector": "x" * 65}, "sector"),
    ],
)
def test_bad_account_input_names_the_field(org, changes, field):
    with pytest.raises(InvalidChange) as err:
        account_create(user=org.rep_a1, **{"name": "Vandelay", **changes})
    assert err.value.field == field
    assert not Account.objects.exists()


def test_contact_only_on_a_visible_account(org):
    mine = make_account(owner=org.rep_a1)
    theirs = make_account(owner=org.rep_b1)
    contact = contact_create(
        user=org.manager_a, account_id=mine.pk, first_name="Ada", last_name="Byron"
    )
    assert contact.account == mine
    for account_id in (theirs.pk, 999_999):  # hidden and missing answer the same
        with pytest.raises(InvalidChange) as err:
            contact_create(user=org.rep_a1, account_id=account_id, first_name="A", last_name="B")
        assert err.value.field == "account_id"
        assert str(err.value) == f"account {account_id} not found"
    assert Contact.objects.count() == 1
