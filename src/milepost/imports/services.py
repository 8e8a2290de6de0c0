"""Writes for imports: load the Maven CRM dataset with a synthetic, dated stage history.

:func:`maven_import` turns the validated records of :mod:`milepost.imports.maven` into users,
accounts, contacts, products, opportunities, stage transitions (source ``synthetic``), contact
roles and activities, and records what it did in an :class:`ImportRun` with one
:class:`ImportIssue` per correction, warning or rejection.

- **Idempotent**: rows are matched by natural key (username, product / account name,
  ``external_id``) and compared; an unchanged row is counted as such and written nowhere. The
  synthetic history of a deal is generated once, when the deal is created.
- **Atomic**: everything happens in one transaction; an unexpected error leaves the database
  as it was (and raises).
- **Bulk**: ``bulk_create`` / ``bulk_update`` in batches, never a save per row.
- **Counts**: per file and in total, ``read = created + updated + unchanged + rejected``.

Not done here: deleting what disappeared from the source (an import only adds and updates), and
changing the process of existing deals.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.utils import timezone

from milepost.accounts.models import Account, Contact
from milepost.engine.history import HistoryParams, fit_histories, load_params
from milepost.engine.process_schema import ProcessDef
from milepost.evidence.models import Evidence
from milepost.imports import maven, synthetic_coaching, synthetic_evidence, synthetic_methodology
from milepost.imports.maven import CORRECTED, PIPELINE_FILE, WARNING, MavenData
from milepost.imports.models import ImportIssue, ImportRun
from milepost.methodology.models import (
    BuyingInfluence,
    BuyingInfluenceEvent,
    ElementAssessment,
    ElementAssessmentEvent,
    InfluenceAction,
)
from milepost.pipeline.choices import TransitionSource
from milepost.pipeline.facts import deal_facts_refresh, stage_steps
from milepost.pipeline.models import (
    Activity,
    Opportunity,
    OpportunityChange,
    OpportunityContact,
    Product,
    StageTransition,
)
from milepost.pipeline.services import stage_change
from milepost.process.models import ProcessVersion, Stage, StageKind
from milepost.process.selectors import pack_definitions
from milepost.team.models import Role, User

IMPORT_KIND = "maven_crm"
PROCESS_KEY = "new_business"
BATCH = 2_000
HISTORY_SEED = 2017
CURRENCY = "USD"
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
ACTIVITY_SUBJECTS = {
    "call": "Call with {contact}",
    "meeting": "Meeting with {contact}",
    "email": "Email to {contact}",
    "demo": "Product demo for {account}",
    "workshop": "Discovery workshop at {account}",
    "proposal_sent": "Proposal sent to {account}",
    "negotiation": "Negotiation call with {account}",
    "note": "Note on {account}",
}


class ImportRefused(RuntimeError):
    """The import cannot run as asked (no process loaded, or a different date shift)."""


@dataclass
class _Counts:
    """Per-file row outcomes."""

    created: Counter[str]
    updated: Counter[str]
    unchanged: Counter[str]

    @classmethod
    def empty(cls) -> _Counts:
        return cls(Counter(), Counter(), Counter())

    def add(self, file: str, outcome: str) -> None:
        getattr(self, outcome)[file] += 1


def _bulk_create(model: type[models.Model], objs: list[Any]) -> list[Any]:
    """Every insert of the importer goes through here (one place to batch, and to fail in tests)."""
    if not objs:
        return []
    return model.objects.bulk_create(objs, batch_size=BATCH)


def _bulk_update(model: type[models.Model], objs: list[Any], fields: list[str]) -> None:
    if objs:
        model.objects.bulk_update(objs, fields, batch_size=BATCH)


def username_for(name: str) -> str:
    """``Darcel Schlecht`` → ``darcel.schlecht`` (ASCII, lower case, dots between words)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9-]+", ".", ascii_name.lower()).strip(".")[:150] or "user"


def shift_for(as_of: date | None) -> int:
    """Whole weeks (in days) that move the dataset horizon into the week before ``as_of``.

    Whole weeks keep weekdays (a deal engaged on a Tuesday is still engaged on a Tuesday), and
    landing strictly before ``as_of`` keeps every event of the horizon day in the past.
    """
    if as_of is None:
        return 0
    return max(0, (as_of - timedelta(days=1) - maven.DATASET_HORIZON).days // 7) * 7


def maven_previous_shift() -> int | None:
    """The date shift of the last completed Maven import, or None if there was none."""
    run = ImportRun.objects.filter(kind=IMPORT_KIND, finished_at__isnull=False).first()
    return None if run is None else int(run.summary.get("shift_days", 0))


def maven_import(
    *,
    directory: Path | str | None = None,
    as_of: date | None = None,
    shift_days: int | None = None,
    user: User | None = None,
    params: HistoryParams | None = None,
    seed: int = HISTORY_SEED,
) -> ImportRun:
    """Import the dataset in ``directory`` (default :func:`maven.default_data_dir`).

    Dates move forward by ``shift_days`` (or by the whole weeks that bring the dataset's horizon,
    2017-12-31, to ``as_of``); the default is no shift. A later run must use the same shift as
    the data already imported, otherwise :class:`ImportRefused` is raised.
    Raises :class:`maven.MavenSourceError` for a missing file or column, before writing anything.
    """
    data = maven.read_maven(directory)
    shift = shift_days if shift_days is not None else shift_for(as_of)
    if shift < 0 or shift % 1:
        raise ImportRefused("the date shift must be zero or more whole days")
    previous = maven_previous_shift()
    if previous is not None and previous != shift and Opportunity.objects.exists():
        raise ImportRefused(
            f"the data was imported shifted by {previous} days; this run asks for {shift}. "
            "Start from an empty database to change the shift."
        )
    return _import(data, shift=shift, user=user, params=params or load_params(), seed=seed)


@transaction.atomic
def _import(
    data: MavenData, *, shift: int, user: User | None, params: HistoryParams, seed: int
) -> ImportRun:
    started = timezone.now()
    version = ProcessVersion.objects.filter(process__key=PROCESS_KEY, is_current=True).first()
    if version is None:
        raise ImportRefused(f"process {PROCESS_KEY!r} is not loaded (run process_load_defaults)")
    stages = {s.key: s for s in Stage.objects.filter(version=version)}
    missing = [k for k in params.stage_keys if k not in stages]
    if missing:
        raise ImportRefused(f"process {PROCESS_KEY!r} has no stages {missing}")
    run = ImportRun.objects.create(kind=IMPORT_KIND, source=str(data.directory), started_by=user)
    counts = _Counts.empty()
    aggregated: list[maven.Issue] = []

    users = _import_users(data, counts)
    products = _import_products(data, counts)
    accounts = _import_accounts(data, counts, users)
    contacts = _ensure_contacts(accounts, params)
    cycle_days = sum(stages[k].expected_days or 0 for k in params.stages)
    new_deals = _import_deals(
        data,
        counts,
        users,
        products,
        accounts,
        stages,
        stages[params.stages[0]],
        shift=shift,
        cycle_days=cycle_days,
    )
    history_counts = _write_histories(
        new_deals, params, stages, contacts, shift=shift, seed=seed, cycle_days=cycle_days
    )
    history_counts |= synthetic_coaching.write_coaching_history(
        today=maven.DATASET_HORIZON + timedelta(days=shift + 1), seed=seed + 6
    )
    aggregated += _aggregated_issues(data, cycle_days, histories=len(new_deals))

    issues = [*data.issues, *aggregated]
    _bulk_create(
        ImportIssue,
        [
            ImportIssue(
                run=run,
                file=i.file,
                row_number=i.row,
                field=i.field,
                severity=i.severity,
                message=i.message[:500],
                value=i.value[:300],
            )
            for i in issues
        ],
    )
    files: dict[str, dict[str, int]] = {}
    for name in maven.FILES:
        files[name] = {
            "read": data.read[name],
            "created": counts.created[name],
            "updated": counts.updated[name],
            "unchanged": counts.unchanged[name],
            "rejected": data.rejected[name],
        }
        accounted = sum(v for k, v in files[name].items() if k != "read")
        if accounted != files[name]["read"]:  # pragma: no cover - a bug, never data
            raise AssertionError(f"{name}: {files[name]} does not add up")
    run.rows_read = sum(f["read"] for f in files.values())
    run.rows_created = sum(f["created"] for f in files.values())
    run.rows_updated = sum(f["updated"] for f in files.values())
    run.rows_unchanged = sum(f["unchanged"] for f in files.values())
    run.rows_rejected = sum(f["rejected"] for f in files.values())
    by_severity = Counter(i.severity for i in issues)
    run.summary = {
        "files": files,
        "shift_days": shift,
        "as_of": (maven.DATASET_HORIZON + timedelta(days=shift)).isoformat(),
        "dataset_horizon": maven.DATASET_HORIZON.isoformat(),
        "issues": dict(by_severity),
        "synthetic": {
            "leaders_and_admin": users.synthetic_created,
            "contacts": contacts.created,
            **history_counts,
        },
        "expected_cycle_days": cycle_days,
        "seconds": round((timezone.now() - started).total_seconds(), 2),
    }
    run.finished_at = timezone.now()
    run.save()
    return run


# ---------------------------------------------------------------------------------------------
# Users


@dataclass
class _Users:
    by_agent: dict[str, User]
    synthetic_created: int


def _person(first: str, last: str) -> tuple[str, str, str]:
    return username_for(f"{first} {last}"), first, last


def _import_users(data: MavenData, counts: _Counts) -> _Users:
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
    for user in _bulk_create(User, new):
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
    _bulk_update(User, changed, fields)
    for agent in data.agents:
        counts.add(maven.TEAMS_FILE, outcome[agent_username[agent.name]])
    return _Users(
        by_agent={name: existing[u] for name, u in agent_username.items()},
        synthetic_created=len(created & synthetic),
    )


def _unique(username: str, taken: dict[str, Any]) -> str:
    candidate, n = username, 2
    while candidate in taken:
        candidate, n = f"{username}{n}", n + 1
    return candidate


# ---------------------------------------------------------------------------------------------
# Products and accounts


def _import_products(data: MavenData, counts: _Counts) -> dict[str, Product]:
    existing = {p.name: p for p in Product.objects.filter(name__in=[r.name for r in data.products])}
    new, changed = [], []
    for row in data.products:
        price = row.price.quantize(Decimal("0.01"))
        product = existing.get(row.name)
        if product is None:
            new.append(
                Product(name=row.name, series=row.series, list_price=price, currency=CURRENCY)
            )
            counts.add(maven.PRODUCTS_FILE, "created")
        elif (product.series, product.list_price, product.currency) != (
            row.series,
            price,
            CURRENCY,
        ):
            product.series, product.list_price, product.currency = row.series, price, CURRENCY
            changed.append(product)
            counts.add(maven.PRODUCTS_FILE, "updated")
        else:
            counts.add(maven.PRODUCTS_FILE, "unchanged")
    _bulk_create(Product, new)
    _bulk_update(Product, changed, ["series", "list_price", "currency"])
    return {p.name: p for p in Product.objects.filter(name__in=[r.name for r in data.products])}


def _account_owners(data: MavenData, users: _Users) -> dict[str, int]:
    """Each account's owner: the agent with the most deals on it (ties: by name)."""
    per_account: dict[str, Counter[str]] = defaultdict(Counter)
    for deal in data.deals:
        if deal.account:
            per_account[deal.account][deal.agent] += 1
    return {
        account: users.by_agent[sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]].pk
        for account, c in per_account.items()
    }


_ACCOUNT_FIELDS = [
    "sector",
    "year_established",
    "annual_revenue_musd",
    "employees",
    "headquarters",
    "parent_id",
    "owner_id",
]


def _import_accounts(data: MavenData, counts: _Counts, users: _Users) -> dict[str, Account]:
    names = [r.name for r in data.accounts]
    owners = _account_owners(data, users)
    existing = {a.name: a for a in Account.objects.filter(name__in=names)}
    created = [
        Account(name=r.name, sector=r.sector) for r in data.accounts if r.name not in existing
    ]
    created_names = {a.name for a in created}
    _bulk_create(Account, created)
    existing = {a.name: a for a in Account.objects.filter(name__in=names)}
    changed = []
    for row in data.accounts:
        account = existing[row.name]
        target = {
            "sector": row.sector,
            "year_established": row.year_established,
            "annual_revenue_musd": (
                row.revenue_musd.quantize(Decimal("0.01")) if row.revenue_musd is not None else None
            ),
            "employees": row.employees,
            "headquarters": row.headquarters[:100],
            "parent_id": existing[row.parent].pk if row.parent else None,
            "owner_id": owners.get(row.name),
        }
        diff = {f: v for f, v in target.items() if getattr(account, f) != v}
        for f, v in diff.items():
            setattr(account, f, v)
        if diff:
            changed.append(account)
        if row.name in created_names:
            counts.add(maven.ACCOUNTS_FILE, "created")
        else:
            counts.add(maven.ACCOUNTS_FILE, "updated" if diff else "unchanged")
    _bulk_update(Account, changed, _ACCOUNT_FIELDS)
    return existing


@dataclass
class _Contacts:
    by_account: dict[int, list[Contact]]
    created: int


def _pick(seq: list[str] | tuple[str, ...], key: str) -> str:
    digest = hashlib.blake2b(key.encode(), digest_size=4).digest()
    return seq[int.from_bytes(digest, "big") % len(seq)]


def _ensure_contacts(accounts: dict[str, Account], params: HistoryParams) -> _Contacts:
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
    _bulk_create(Contact, new)
    if new:
        by_account = defaultdict(list)
        for contact in Contact.objects.filter(account__in=list(accounts.values())).order_by("pk"):
            by_account[contact.account_id].append(contact)
    return _Contacts(by_account=dict(by_account), created=len(new))


# ---------------------------------------------------------------------------------------------
# Opportunities


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


@dataclass
class _NewDeal:
    row: maven.DealRow
    opportunity: Opportunity


def _deal_amount(row: maven.DealRow, products: dict[str, Product]) -> Decimal:
    if row.outcome == "won" and row.close_value is not None:
        return row.close_value.quantize(Decimal("0.01"))
    return products[row.product].list_price


def _deal_name(row: maven.DealRow) -> str:
    return f"{row.account or 'Unknown account'} — {row.product}"[:200]


def _import_deals(
    data: MavenData,
    counts: _Counts,
    users: _Users,
    products: dict[str, Product],
    accounts: dict[str, Account],
    stages: dict[str, Stage],
    first_stage: Stage,
    *,
    shift: int,
    cycle_days: int,
) -> list[_NewDeal]:
    """Create new deals (their stage fields are set from the history later) and update the
    plain fields of existing ones. A closed outcome on a deal that is open here is applied as a
    new synthetic transition; the rest of an existing deal's history is never rewritten."""
    delta = timedelta(days=shift)
    existing = {
        o.external_id: o
        for o in Opportunity.objects.filter(
            external_id__in=[d.external_id for d in data.deals]
        ).select_related("stage")
    }
    new: list[_NewDeal] = []
    changed: list[Opportunity] = []
    moves: list[StageTransition] = []
    plain = ["name", "account_id", "owner_id", "product_id", "amount", "currency", "close_date"]
    for row in data.deals:
        fields = {
            "name": _deal_name(row),
            "account_id": accounts[row.account].pk if row.account else None,
            "owner_id": users.by_agent[row.agent].pk,
            "product_id": products[row.product].pk,
            "amount": _deal_amount(row, products),
            "currency": CURRENCY,
        }
        opp = existing.get(row.external_id)
        if opp is None:
            opp = Opportunity(external_id=row.external_id, **fields)
            new.append(_NewDeal(row, opp))
            counts.add(PIPELINE_FILE, "created")
            continue
        if row.close_date is not None:
            fields["close_date"] = row.close_date + delta
        elif row.engage_date is not None:
            fields["close_date"] = row.engage_date + delta + timedelta(days=cycle_days)
        else:
            fields["close_date"] = opp.close_date
        diff = {f: v for f, v in fields.items() if getattr(opp, f) != v}
        for f, v in diff.items():
            setattr(opp, f, v)
        move = _outcome_move(opp, row, stages, first_stage, delta)
        if move is not None:
            moves.append(move)
        if diff or move is not None:
            opp.updated_at = timezone.now()
            opp.version += 1
            changed.append(opp)
            counts.add(PIPELINE_FILE, "updated")
        else:
            counts.add(PIPELINE_FILE, "unchanged")
    _bulk_update(
        Opportunity,
        changed,
        [
            *plain,
            "stage",
            "stage_entered_at",
            "probability",
            "probability_overridden",
            "probability_set_by",
            "probability_set_at",
            "forecast_category",
            "closed_at",
            "updated_at",
            "version",
        ],
    )
    _bulk_create(StageTransition, moves)
    return new


def _outcome_move(
    opp: Opportunity,
    row: maven.DealRow,
    stages: dict[str, Stage],
    first_stage: Stage,
    delta: timedelta,
) -> StageTransition | None:
    """A transition that brings an existing deal to the outcome the source now reports."""
    kind = opp.stage.kind
    if row.outcome in ("won", "lost"):
        if kind == row.outcome:
            return None
        target = stages[row.outcome]
        assert row.close_date is not None
        at = max(_at(row.close_date + delta, 16), opp.stage_entered_at)
    elif kind == StageKind.OPEN:
        return None
    else:  # reopened: back to the first stage, as of now
        target, at = first_stage, max(timezone.now(), opp.stage_entered_at)
    return stage_change(
        opportunity=opp,
        target=target,
        at=at,
        moved_by=None,
        source=TransitionSource.IMPORT,
        note="outcome changed in the source data",
    )


def _write_histories(
    new: list[_NewDeal],
    params: HistoryParams,
    stages: dict[str, Stage],
    contacts: _Contacts,
    *,
    shift: int,
    seed: int,
    cycle_days: int,
) -> dict[str, int]:
    """Fit a synthetic history to every new deal, then write deals, transitions, contact roles
    and activities in bulk."""
    if not new:
        return {
            "transitions": 0,
            "activities": 0,
            "contact_roles": 0,
            "evidence": 0,
            "close_date_pushes": 0,
            "methodology_assessments": 0,
            "buying_influences": 0,
        }
    rows = [d.row for d in new]
    history = fit_histories(
        [r.outcome for r in rows],
        np.array([r.engage_date or "NaT" for r in rows], dtype="datetime64[D]"),
        np.array([r.close_date or "NaT" for r in rows], dtype="datetime64[D]"),
        maven.DATASET_HORIZON,
        seed=seed,
        params=params,
    )
    offset = shift * 86_400
    stage_by_index = [stages[k] for k in history.stage_keys]

    def when(values: np.ndarray) -> list[datetime]:
        secs = values.astype("datetime64[s]").astype(np.int64) + offset
        return [datetime.fromtimestamp(int(s), tz=UTC) for s in secs]

    created_at = when(history.created_at)
    entered_at = when(history.stage_entered_at)
    delta = timedelta(days=shift)
    for i, deal in enumerate(new):
        opp, row = deal.opportunity, deal.row
        stage = stage_by_index[int(history.final_stage[i])]
        opp.stage = stage
        opp.stage_entered_at = entered_at[i]
        opp.probability = stage.default_probability
        opp.forecast_category = stage.default_forecast_category
        opp.created_at = created_at[i]
        opp.updated_at = entered_at[i]
        opp.closed_at = entered_at[i] if stage.kind != StageKind.OPEN else None
        opp.close_date = (
            row.close_date + delta
            if row.close_date is not None
            else created_at[i].date() + timedelta(days=cycle_days)
        )
    # The dataset has no next steps; most open deals get one (see synthetic_evidence).
    process = ProcessDef.model_validate(stage_by_index[0].version.definition)
    open_keys = [
        d.opportunity.stage.key if d.opportunity.stage.kind == StageKind.OPEN else None for d in new
    ]
    today = (maven.DATASET_HORIZON + delta) + timedelta(days=1)
    habits = _rep_habits([d.opportunity.owner_id for d in new], seed=seed)
    skips = [habits.get(d.opportunity.owner_id) == "skips_next_steps" for d in new]
    steps = synthetic_evidence.next_steps(process, open_keys, today, seed=seed + 3, skips=skips)
    for deal, step in zip(new, steps, strict=True):
        if step is not None:
            deal.opportunity.next_step, deal.opportunity.next_step_date = step
    opps = _bulk_create(Opportunity, [d.opportunity for d in new])
    if any(o.pk is None for o in opps):  # pragma: no cover - backends without RETURNING
        ids = dict(
            Opportunity.objects.filter(external_id__in=[o.external_id for o in opps]).values_list(
                "external_id", "pk"
            )
        )
        for o in opps:
            o.pk = ids[o.external_id]

    adapt_dt = connection.ops.adapt_datetimefield_value
    adapt_date = connection.ops.adapt_datefield_value
    stage_ids = [s.pk for s in stage_by_index]
    opp_ids = [o.pk for o in opps]
    opp_amount = [str(o.amount) for o in opps]
    opp_close = [adapt_date(o.close_date) for o in opps]
    moved_at = [adapt_dt(d) for d in when(history.t_at)]
    source = TransitionSource.SYNTHETIC.value

    def steps(f: int, t: int) -> int | None:
        if f < 0:
            return None
        a, b = stage_by_index[f], stage_by_index[t]
        return stage_steps(a.kind, a.position, b.kind, b.position, source)

    transitions = [
        (
            opp_ids[o],
            stage_ids[f] if f >= 0 else None,
            stage_ids[t],
            moved_at[j],
            opp_amount[o],
            CURRENCY,
            opp_close[o],
            s if s >= 0 else None,
            source,
            "",
            steps(f, t),
        )
        for j, (o, f, t, s) in enumerate(
            zip(
                history.t_opp.tolist(),
                history.t_from.tolist(),
                history.t_to.tolist(),
                history.t_seconds.tolist(),
                strict=True,
            )
        )
    ]
    _insert_rows(
        StageTransition,
        [
            "opportunity",
            "from_stage",
            "to_stage",
            "moved_at",
            "amount",
            "currency",
            "close_date",
            "seconds_in_from_stage",
            "source",
            "note",
            "stage_steps",
        ],
        transitions,
    )

    # Contact roles: slot j of a deal is the account's j-th contact.
    now = adapt_dt(timezone.now())
    deal_contacts: dict[int, list[Contact]] = defaultdict(list)
    roles = []
    for o, slot, role in zip(
        history.c_opp.tolist(), history.c_slot.tolist(), history.c_role.tolist(), strict=True
    ):
        pool = contacts.by_account.get(opps[o].account_id or 0, [])
        if slot >= len(pool):
            continue
        deal_contacts[o].append(pool[slot])
        roles.append((opp_ids[o], pool[slot].pk, history.roles[role], "", now))
    _insert_rows(
        OpportunityContact,
        ["opportunity", "contact", "buying_role", "notes", "added_at"],
        roles,
    )

    # Activities, each with one of the deal's contacts (the one engaged), if it has any.
    occurred = [adapt_dt(d) for d in when(history.a_at)]
    activities, links = [], []
    for j, (o, kind) in enumerate(
        zip(history.a_opp.tolist(), history.a_type.tolist(), strict=True)
    ):
        people = deal_contacts.get(o, [])
        contact = people[j % len(people)] if people else None
        type_name = history.activity_types[kind]
        subject = ACTIVITY_SUBJECTS[type_name].format(
            contact=contact.full_name if contact else "the buyer",
            account=new[o].row.account or "the buyer",
        )
        activities.append(
            (opp_ids[o], type_name, occurred[j], opps[o].owner_id, subject[:200], "", now)
        )
        links.append(contact.pk if contact else None)
    _insert_rows(
        Activity,
        ["opportunity", "type", "occurred_at", "owner", "subject", "outcome", "created_at"],
        activities,
    )
    # Rows inserted in one transaction get increasing ids; the new deals' activities are ours.
    activity_ids = list(
        Activity.objects.filter(opportunity_id__in=opp_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if len(activity_ids) != len(activities):  # pragma: no cover - would be a bug
        raise AssertionError("activity ids do not match the inserted rows")
    _insert_rows(
        Activity.contacts.through,
        ["activity", "contact"],
        [(a, c) for a, c in zip(activity_ids, links, strict=True) if c is not None],
    )
    deal_facts_refresh(opp_ids)  # raw inserts send no signals
    evidence, pushes = _write_synthetic_evidence(
        new,
        opps,
        history,
        stage_by_index,
        deal_contacts,
        entered_at=entered_at,
        created_at=created_at,
        seed=seed,
    )
    assessments, influences = _write_synthetic_methodology(
        opps,
        history,
        stage_by_index,
        roles,
        created_at=created_at,
        entered_at=entered_at,
        seed=seed,
    )
    return {
        "transitions": len(transitions),
        "activities": len(activities),
        "contact_roles": len(roles),
        "evidence": evidence,
        "close_date_pushes": pushes,
        "methodology_assessments": assessments,
        "buying_influences": influences,
    }


def _rep_habits(owner_ids: list[int], *, seed: int) -> dict[int, str]:
    """The reps' coachable habits (see :func:`.synthetic_evidence.rep_habits`), by team."""
    teams = dict(User.objects.filter(pk__in=set(owner_ids)).values_list("pk", "manager_id"))
    return synthetic_evidence.rep_habits(owner_ids, seed=seed + 5, teams=teams)


def _write_synthetic_evidence(
    new: list[_NewDeal],
    opps: list[Opportunity],
    history: Any,
    stage_by_index: list[Stage],
    deal_contacts: dict[int, list[Contact]],
    *,
    entered_at: list[datetime],
    created_at: list[datetime],
    seed: int,
) -> tuple[int, int]:
    """Evidence for passed stages and close-date pushes (see :mod:`.synthetic_evidence`)."""
    version = stage_by_index[0].version
    process = ProcessDef.model_validate(version.definition)
    k = len(process.open_stages)
    kinds = [stage_by_index[int(f)].kind for f in history.final_stage.tolist()]
    passed = [
        int(f) if kind == StageKind.OPEN else (k if kind == StageKind.WON else 0)
        for f, kind in zip(history.final_stage.tolist(), kinds, strict=True)
    ]
    first_contact = [
        deal_contacts[i][0].pk if deal_contacts.get(i) else None for i in range(len(opps))
    ]
    managers = dict(
        User.objects.filter(pk__in={o.owner_id for o in opps}).values_list("pk", "manager_id")
    )
    adapt_dt = connection.ops.adapt_datetimefield_value
    adapt_date = connection.ops.adapt_datefield_value
    habits = _rep_habits([o.owner_id for o in opps], seed=seed)
    rows = synthetic_evidence.evidence_rows(
        process,
        passed,
        first_contact,
        entered_at,
        seed=seed + 1,
        shallow=[habits.get(o.owner_id) == "shallow_discovery" for o in opps],
    )
    evidence = []
    for r in rows:
        opp = opps[r["deal"]]
        at = adapt_dt(r["recorded_at"])
        manager = managers.get(opp.owner_id) if r["level"] == "manager" else None
        rejected = r["state"] == "rejected"
        evidence.append(
            (
                opp.pk,
                r["criterion_key"],
                r["state"],
                r["level"],
                r["note"],
                "",
                adapt_date(r["evidence_date"]) if r["evidence_date"] else None,
                r["confirmed_by"],
                opp.owner_id,
                at,
                manager,
                at if manager else None,
                managers.get(opp.owner_id) if rejected else None,
                at if rejected else None,
                r["rejection_reason"],
                at,
                1,
            )
        )
    _insert_rows(
        Evidence,
        [
            "opportunity",
            "criterion_key",
            "state",
            "level",
            "note",
            "link",
            "evidence_date",
            "confirmed_by",
            "recorded_by",
            "recorded_at",
            "verified_by",
            "verified_at",
            "rejected_by",
            "rejected_at",
            "rejection_reason",
            "updated_at",
            "version",
        ],
        evidence,
    )
    open_deals = [i for i, kind in enumerate(kinds) if kind == StageKind.OPEN]
    pushes = synthetic_evidence.push_rows(
        open_deals,
        created_at,
        [o.close_date for o in opps],
        timezone.now(),
        seed=seed + 2,
    )
    _insert_rows(
        OpportunityChange,
        [
            "opportunity",
            "changed_at",
            "changed_by",
            "source",
            "close_date_from",
            "close_date_to",
            "close_date_shift_days",
        ],
        [
            (
                opps[r["deal"]].pk,
                adapt_dt(r["changed_at"]),
                opps[r["deal"]].owner_id,
                TransitionSource.SYNTHETIC.value,
                adapt_date(r["close_date_from"]),
                adapt_date(r["close_date_to"]),
                r["close_date_shift_days"],
            )
            for r in pushes
        ],
    )
    return len(evidence), len(pushes)


def _write_synthetic_methodology(
    opps: list[Opportunity],
    history: Any,
    stage_by_index: list[Stage],
    roles: list[tuple[Any, ...]],
    *,
    created_at: list[datetime],
    entered_at: list[datetime],
    seed: int,
) -> tuple[int, int]:
    """Element scores with their history, and buying influences, for the new deals, by the
    same per-deal diligence as their evidence (see :mod:`.synthetic_methodology`)."""
    process = ProcessDef.model_validate(stage_by_index[0].version.definition)
    packs = {
        k: v
        for k, v in pack_definitions().items()
        if k in {use.pack for use in process.methodologies}
    }
    if not packs:
        return 0, 0
    k = len(process.open_stages)
    kinds = [stage_by_index[int(f)].kind for f in history.final_stage.tolist()]
    finals = history.final_stage.tolist()
    current = [
        int(f) if kind == StageKind.OPEN else None for f, kind in zip(finals, kinds, strict=True)
    ]
    passed = [
        int(f) if kind == StageKind.OPEN else (k if kind == StageKind.WON else 0)
        for f, kind in zip(finals, kinds, strict=True)
    ]
    index = {o.pk: i for i, o in enumerate(opps)}
    deal_roles: list[list[tuple[int, str]]] = [[] for _ in opps]
    for opp_id, contact_id, role, *_ in roles:
        deal_roles[index[opp_id]].append((contact_id, role))
    diligence = synthetic_evidence.deal_diligence(len(opps), seed=seed + 1)  # as the evidence
    now = timezone.now()
    args = (process, packs, passed, current, diligence, deal_roles, created_at, entered_at, now)
    rows = synthetic_methodology.assessment_rows(*args, seed=seed + 4)
    adapt_dt = connection.ops.adapt_datetimefield_value

    def adapt_json(value: Any) -> Any:
        return connection.ops.adapt_json_value(value, None)

    def deal(r: dict[str, Any]) -> Opportunity:
        return opps[r["deal"]]

    _insert_rows(
        ElementAssessment,
        [
            "opportunity",
            "pack",
            "element",
            "level",
            "notes",
            "answers",
            "updated_by",
            "updated_at",
            "version",
        ],
        [
            (
                deal(r).pk,
                r["pack"],
                r["element"],
                r["level"],
                r["notes"],
                adapt_json(r["answers"]),
                deal(r).owner_id,
                adapt_dt(r["events"][-1][2]),
                len(r["events"]),
            )
            for r in rows
        ],
    )
    # Rows inserted in one transaction get increasing ids: match them to ``rows`` in order.
    ids = list(
        ElementAssessment.objects.filter(opportunity_id__in=list(index))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if len(ids) != len(rows):  # pragma: no cover - would be a bug
        raise AssertionError("assessment ids do not match the inserted rows")
    _insert_rows(
        ElementAssessment.contacts.through,
        ["elementassessment", "contact"],
        [(a, c) for a, r in zip(ids, rows, strict=True) for c in r["contact_ids"]],
    )
    _insert_rows(
        ElementAssessmentEvent,
        [
            "assessment",
            "opportunity",
            "pack",
            "element",
            "level",
            "previous_level",
            "notes",
            "answers",
            "contact_ids",
            "actor",
            "at",
        ],
        [
            (
                a,
                deal(r).pk,
                r["pack"],
                r["element"],
                level,
                previous,
                r["notes"],
                adapt_json(r["answers"]),
                adapt_json(r["contact_ids"]),
                deal(r).owner_id,
                adapt_dt(at),
            )
            for a, r in zip(ids, rows, strict=True)
            for level, previous, at in r["events"]
        ],
    )
    influences = synthetic_methodology.influence_rows(*args, seed=seed + 5)
    _insert_rows(
        BuyingInfluence,
        [
            "opportunity",
            "contact",
            "pack",
            "role",
            "degree",
            "response_mode",
            "rating",
            "notes",
            "win_results",
            "updated_by",
            "updated_at",
            "version",
        ],
        [
            (
                deal(r).pk,
                r["contact"],
                r["pack"],
                r["role"],
                r["degree"],
                r["response_mode"],
                r["rating"],
                r["notes"],
                "",
                deal(r).owner_id,
                adapt_dt(r["at"]),
                1,
            )
            for r in influences
        ],
    )
    _insert_rows(
        BuyingInfluenceEvent,
        [
            "opportunity",
            "action",
            "contact",
            "role",
            "degree",
            "response_mode",
            "rating",
            "win_results",
            "notes",
            "actor",
            "at",
        ],
        [
            (
                deal(r).pk,
                InfluenceAction.ADDED.value,
                r["contact"],
                r["role"],
                r["degree"],
                r["response_mode"],
                r["rating"],
                "",
                r["notes"],
                deal(r).owner_id,
                adapt_dt(r["at"]),
            )
            for r in influences
        ],
    )
    return len(rows), len(influences)


def _insert_rows(model: type[models.Model], fields: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Plain ``INSERT … VALUES`` with ``executemany`` for the large synthetic tables.

    ``bulk_create`` builds and prepares a model instance per row, which made the history most
    of the demo's load time; here values arrive already adapted for the database.
    """
    if not rows:
        return
    meta = model._meta
    qn = connection.ops.quote_name
    columns = ", ".join(qn(meta.get_field(f).column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # Identifiers come from model metadata, values are parameters: nothing from the input.
    sql = f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    with connection.cursor() as cursor:
        for i in range(0, len(rows), 10_000):
            cursor.executemany(sql, rows[i : i + 10_000])


def _aggregated_issues(data: MavenData, cycle_days: int, histories: int) -> list[maven.Issue]:
    """One issue per systematic gap of the dataset, with the count and the first rows."""
    out = []

    def rows_of(deals: list[maven.DealRow]) -> str:
        numbers = [str(d.row) for d in deals[:20]]
        return "rows " + ", ".join(numbers) + (" …" if len(deals) > 20 else "")

    lost_zero = [d for d in data.deals if d.outcome == "lost" and not d.close_value]
    open_deals = [d for d in data.deals if d.outcome in ("open", "prospecting")]
    no_engage = [d for d in data.deals if d.engage_date is None]
    specs = [
        (
            lost_zero,
            "close_value",
            "{n} lost deals have close_value 0 (the dataset's convention); "
            "amount set to the product's list price",
        ),
        (
            open_deals,
            "close_value",
            "{n} open deals have no value; amount set to the product's list price",
        ),
        (
            open_deals,
            "close_date",
            "{n} open deals have no close date; synthesised as the created date + the "
            f"process's expected cycle ({cycle_days} days)",
        ),
        (
            no_engage,
            "engage_date",
            "{n} Prospecting deals have no engage date; the created date is synthesised "
            "(a sampled time in the first stage before the data horizon)",
        ),
    ]
    for deals, column, message in specs:
        if deals:
            out.append(
                maven.Issue(
                    PIPELINE_FILE,
                    None,
                    column,
                    CORRECTED,
                    message.format(n=len(deals)),
                    rows_of(deals),
                )
            )
    if histories:
        out.append(
            maven.Issue(
                PIPELINE_FILE,
                None,
                "deal_stage",
                WARNING,
                f"{histories} new deals have no stage history; a synthetic history "
                "(source 'synthetic') was generated from the parameter file",
                "engine/params/history_new_business.yaml",
            )
        )
    return out
