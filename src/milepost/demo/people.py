"""The demo's people: users from the dataset's teams (plus invented leaders and an admin),
and synthetic buyer contacts for accounts that have none.

Usernames come from names (:func:`username_for`); invented names are fixed so the demo is the
same everywhere. Users are created without a usable password (``milepost demo`` sets one).
Not done here: accounts (:mod:`.accounts`) or deals (:mod:`.deals`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import make_password

from milepost.accounts.models import Account, Contact
from milepost.demo import bulk, maven
from milepost.demo.maven import MavenData
from milepost.engine.history import HistoryParams
from milepost.imports.services import RowCounts
from milepost.team.models import Role, User

USER_EMAIL_DOMAIN = "demo.milepost.example"

# Leadership the dataset does not contain (it has agents, managers and offices only). Names are
# invented and fixed so the demo is the same everywhere.
ADMIN_PERSON = ("admin", "Sam", "Ortega", "Sales-ops admin")
VP_PERSON = ("Jordan", "Whitfield", "VP of sales")
DIRECTOR_NAMES = [("Morgan", "Reyes"), ("Priya", "Natarajan"), ("Tomas", "Lindqvist")]

FIRST_NAMES = [
    "Avery",
    "Blake",
    "Carmen",
    "Dara",
    "Elliot",
    "Farah",
    "Gideon",
    "Hana",
    "Ines",
    "Jonas",
    "Kiran",
    "Lena",
    "Marco",
    "Nadia",
    "Omar",
    "Paula",
    "Quinn",
    "Rafael",
    "Sofia",
    "Tariq",
    "Uma",
    "Victor",
    "Wanda",
    "Xavier",
    "Yara",
    "Zoltan",
    "Amara",
    "Bruno",
    "Chloe",
    "Diego",
    "Esther",
    "Felix",
    "Greta",
    "Hugo",
    "Ivy",
    "Jamal",
    "Keiko",
    "Luca",
    "Maya",
    "Nils",
]
LAST_NAMES = [
    "Abbott",
    "Bauer",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quintero",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ueda",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmer",
    "Andersen",
    "Brennan",
    "Costa",
    "Delgado",
    "Evans",
    "Fontaine",
    "Gupta",
    "Horvat",
    "Ibarra",
    "Janssen",
    "Keller",
    "Lindgren",
    "Mendes",
    "Novak",
]
CONTACT_TITLES = (
    "Chief Financial Officer",
    "VP Operations",
    "IT Director",
    "Head of Procurement",
    "Operations Manager",
    "Systems Engineer",
)


def username_for(name: str) -> str:
    """``Darcel Schlecht`` → ``darcel.schlecht`` (ASCII, lower case, dots between words)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9-]+", ".", ascii_name.lower()).strip(".")[:150] or "user"


@dataclass
class Users:
    """The dataset's agents as users, and how many invented leaders were created."""

    by_agent: dict[str, User]
    synthetic_created: int


def _person(first: str, last: str) -> tuple[str, str, str]:
    return username_for(f"{first} {last}"), first, last


def import_users(data: MavenData, counts: RowCounts) -> Users:
    """Agents (reps) and managers from the file; directors, a VP and an admin invented."""
    offices = sorted({a.office for a in data.agents})
    office_of_manager: dict[str, str] = {}
    for manager in sorted({a.manager for a in data.agents}):
        offices_seen = Counter(a.office for a in data.agents if a.manager == manager)
        office_of_manager[manager] = sorted(offices_seen.items(), key=lambda kv: (-kv[1], kv[0]))[
            0
        ][0]
    # username -> (first, last, role, manager username, region, title, is_admin)
    wanted: dict[str, tuple[str, str, str, str | None, str, str, bool]] = {}
    admin_username, first, last, title = ADMIN_PERSON
    wanted[admin_username] = (first, last, Role.ADMIN, None, "", title, True)
    vp_username, vp_first, vp_last = _person(*VP_PERSON[:2])
    wanted[vp_username] = (vp_first, vp_last, Role.LEADER, None, "", VP_PERSON[2], False)
    director_of: dict[str, str] = {}
    for i, office in enumerate(offices):
        first, last = DIRECTOR_NAMES[i] if i < len(DIRECTOR_NAMES) else (office, "Director")
        username = username_for(f"{first} {last}")
        director_of[office] = username
        wanted[username] = (
            first,
            last,
            Role.LEADER,
            vp_username,
            office,
            f"{office} sales director",
            False,
        )
    synthetic = set(wanted)
    manager_username: dict[str, str] = {}
    for manager, office in office_of_manager.items():
        username = _unique(username_for(manager), wanted)
        manager_username[manager] = username
        first, _, last = manager.partition(" ")
        wanted[username] = (
            first,
            last,
            Role.MANAGER,
            director_of[office],
            office,
            "Sales manager",
            False,
        )
    agent_username: dict[str, str] = {}
    for agent in data.agents:
        username = _unique(username_for(agent.name), wanted)
        agent_username[agent.name] = username
        first, _, last = agent.name.partition(" ")
        wanted[username] = (
            first,
            last,
            Role.REP,
            manager_username[agent.manager],
            agent.office,
            "Account executive",
            False,
        )

    existing = {u.username: u for u in User.objects.filter(username__in=list(wanted))}
    new = [
        User(
            username=username,
            first_name=spec[0][:150],
            last_name=spec[1][:150],
            email=f"{username}@{USER_EMAIL_DOMAIN}",
            role=spec[2],
            region=spec[4],
            title=spec[5],
            is_staff=spec[6],
            is_superuser=spec[6],
            password=make_password(None),  # unusable until someone sets one (the demo does)
        )
        for username, spec in wanted.items()
        if username not in existing
    ]
    created = {u.username for u in new}
    for user in bulk.bulk_create(User, new):
        existing[user.username] = user
    if any(u.pk is None for u in existing.values()):  # backends without RETURNING
        existing = {u.username: u for u in User.objects.filter(username__in=list(wanted))}

    fields = ["first_name", "last_name", "role", "manager_id", "region", "title"]
    changed: list[User] = []
    outcome: dict[str, str] = {}
    for username, spec in wanted.items():
        user = existing[username]
        manager = existing[spec[3]].pk if spec[3] else None
        target = dict(
            zip(fields, [spec[0], spec[1], spec[2], manager, spec[4], spec[5]], strict=True)
        )
        diff = {f: v for f, v in target.items() if getattr(user, f) != v}
        if diff:
            for f, v in diff.items():
                setattr(user, f, v)
            changed.append(user)
        if username in created:
            outcome[username] = "created"
        else:
            outcome[username] = "updated" if diff else "unchanged"
    bulk.bulk_update(User, changed, fields)
    for agent in data.agents:
        counts.add(maven.TEAMS_FILE, outcome[agent_username[agent.name]])
    return Users(
        by_agent={name: existing[u] for name, u in agent_username.items()},
        synthetic_created=len(created & synthetic),
    )


def _unique(username: str, taken: dict[str, Any]) -> str:
    candidate, n = username, 2
    while candidate in taken:
        candidate, n = f"{username}{n}", n + 1
    return candidate


@dataclass
class Contacts:
    """Every account's contacts in id order (a deal's contact slot j is the j-th one)."""

    by_account: dict[int, list[Contact]]
    created: int


def _pick(seq: list[str] | tuple[str, ...], key: str) -> str:
    digest = hashlib.blake2b(key.encode(), digest_size=4).digest()
    return seq[int.from_bytes(digest, "big") % len(seq)]


def ensure_contacts(accounts: dict[str, Account], params: HistoryParams) -> Contacts:
    """Synthetic contacts (deterministic names) for every account that has none yet."""
    by_account: dict[int, list[Contact]] = defaultdict(list)
    for contact in Contact.objects.filter(account__in=list(accounts.values())).order_by("pk"):
        by_account[contact.account_id].append(contact)
    new = []
    for name, account in sorted(accounts.items()):
        if by_account.get(account.pk):
            continue
        domain = re.sub(r"[^a-z0-9]+", "", name.lower()) or "account"
        used: set[tuple[str, str]] = set()
        for i in range(params.contacts_per_account):
            first, last = _pick(FIRST_NAMES, f"{name}:{i}:f"), _pick(LAST_NAMES, f"{name}:{i}:l")
            j = 0
            while (first, last) in used:
                j += 1
                last = _pick(LAST_NAMES, f"{name}:{i}:l{j}")
            used.add((first, last))
            new.append(
                Contact(
                    account=account,
                    first_name=first,
                    last_name=last,
                    title=CONTACT_TITLES[i % len(CONTACT_TITLES)],
                    email=f"{first}.{last}@{domain}.example".lower(),
                )
            )
    bulk.bulk_create(Contact, new)
    if new:
        by_account = defaultdict(list)
        for contact in Contact.objects.filter(account__in=list(accounts.values())).order_by("pk"):
            by_account[contact.account_id].append(contact)
    return Contacts(by_account=dict(by_account), created=len(new))
