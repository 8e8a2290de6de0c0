"""Builders for test data. Plain functions (no factory library magic): explicit and greppable.

``make_org`` builds a small sales organisation with every role and a two-level hierarchy:

    admin
    leader ── manager_a ── rep_a1, rep_a2
           └─ manager_b ── rep_b1
    rep_solo (reports to nobody)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from milepost.accounts.models import Account, Contact
from milepost.pipeline.models import Opportunity
from milepost.pipeline.services import opportunity_create
from milepost.process.models import MethodologyPack, ProcessVersion, SalesProcess
from milepost.process.services import process_load_defaults
from milepost.team.models import Role, User

PASSWORD = "correct-horse-battery-staple-42"
_seq = itertools.count(1)


def make_user(username: str, role: str = Role.REP, manager: User | None = None, **extra) -> User:
    user = User.objects.create_user(
        username=username,
        password=PASSWORD,
        role=role,
        manager=manager,
        first_name=extra.pop("first_name", username.split("_")[0].title()),
        last_name=extra.pop("last_name", username.title()),
        is_staff=role == Role.ADMIN,
        **extra,
    )
    return user


@dataclass
class Org:
    admin: User
    leader: User
    manager_a: User
    manager_b: User
    rep_a1: User
    rep_a2: User
    rep_b1: User
    rep_solo: User

    @property
    def everyone(self) -> list[User]:
        return [
            self.admin,
            self.leader,
            self.manager_a,
            self.manager_b,
            self.rep_a1,
            self.rep_a2,
            self.rep_b1,
            self.rep_solo,
        ]


def make_org() -> Org:
    admin = make_user("admin", Role.ADMIN)
    leader = make_user("leader", Role.LEADER)
    manager_a = make_user("manager_a", Role.MANAGER, leader)
    manager_b = make_user("manager_b", Role.MANAGER, leader)
    return Org(
        admin=admin,
        leader=leader,
        manager_a=manager_a,
        manager_b=manager_b,
        rep_a1=make_user("rep_a1", Role.REP, manager_a),
        rep_a2=make_user("rep_a2", Role.REP, manager_a),
        rep_b1=make_user("rep_b1", Role.REP, manager_b),
        rep_solo=make_user("rep_solo", Role.REP),
    )


def load_default_processes() -> None:
    process_load_defaults()


def remove_definitions() -> None:
    """No processes and no methodology packs: the database as before anything was loaded."""
    SalesProcess.objects.all().delete()
    MethodologyPack.objects.all().delete()


def ensure_default_processes() -> None:
    """The shipped processes and packs, loaded unless they already are (see conftest.py)."""
    if not ProcessVersion.objects.exists():
        process_load_defaults()


def make_account(name: str | None = None, owner: User | None = None) -> Account:
    return Account.objects.create(
        name=name or f"Account {next(_seq)}", sector="software", owner=owner
    )


def make_contact(
    account: Account, first: str = "Dana", last: str | None = None, **extra
) -> Contact:
    return Contact.objects.create(
        account=account, first_name=first, last_name=last or f"Buyer{next(_seq)}", **extra
    )


def make_opportunity(
    owner: User,
    *,
    account: Account | None = None,
    amount: str | Decimal = "10000",
    close_in_days: int = 30,
    stage_key: str | None = None,
    process_key: str = "new_business",
    name: str | None = None,
    at: datetime | None = None,
) -> Opportunity:
    """A deal owned by ``owner`` (created by an admin so any owner is allowed)."""
    creator = User.objects.filter(role=Role.ADMIN).first() or owner
    return opportunity_create(
        user=creator,
        name=name or f"Deal {next(_seq)}",
        amount=amount,
        close_date=date.today() + timedelta(days=close_in_days),
        process_key=process_key,
        stage_key=stage_key,
        account_id=(account or make_account(owner=owner)).pk,
        owner_id=owner.pk,
        at=at or timezone.now() - timedelta(days=10),
    )
