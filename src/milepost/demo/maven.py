"""Read and validate the Maven Analytics "CRM Sales Opportunities" dataset (four CSV files).

This module only *reads*: every row becomes a clean record or a rejection, and every correction
or doubt becomes an :class:`Issue` naming the file, the row number (the line in the CSV file,
header = line 1), the field, the value and the reason. Writing to the database is
:func:`milepost.demo.importer.maven_import`'s job.

Known flaws of the dataset and what is done about them (see docs/demo-data.md):

- product ``GTXPro`` in the pipeline vs ``GTX Pro`` in products: corrected, reported per row;
- sector ``technolgy``: corrected to ``technology``, reported per row;
- open deals without an account: imported with a synthetic prospect account, reported as a
  warning per row;
- agents in ``sales_teams.csv`` without any deal: imported, reported as a warning per row;
- Prospecting rows without an engage date, open deals without close date or value, lost deals
  with ``close_value`` 0: reported as aggregated corrections by the import service, which
  synthesises what is missing.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from milepost.core.errors import InvalidChange
from milepost.imports.services import Issue
from milepost.pipeline.validation import clean_deal_fields

DATASET_HORIZON = date(2017, 12, 31)
"""The last date in the dataset (latest close date); "today" of the data."""

CURRENCY = "USD"
"""The currency of the dataset's prices and close values."""

DATA_ENV_VAR = "MILEPOST_DEMO_DATA"
REPO_ROOT = Path(__file__).resolve().parents[3]

TEAMS_FILE = "sales_teams.csv"
PRODUCTS_FILE = "products.csv"
ACCOUNTS_FILE = "accounts.csv"
PIPELINE_FILE = "sales_pipeline.csv"
FILES = (TEAMS_FILE, PRODUCTS_FILE, ACCOUNTS_FILE, PIPELINE_FILE)
COLUMNS = {
    TEAMS_FILE: ("sales_agent", "manager", "regional_office"),
    PRODUCTS_FILE: ("product", "series", "sales_price"),
    ACCOUNTS_FILE: (
        "account",
        "sector",
        "year_established",
        "revenue",
        "employees",
        "office_location",
        "subsidiary_of",
    ),
    PIPELINE_FILE: (
        "opportunity_id",
        "sales_agent",
        "product",
        "account",
        "deal_stage",
        "engage_date",
        "close_date",
        "close_value",
    ),
}

SECTOR_FIXES = {"technolgy": "technology"}
PRODUCT_ALIASES = {"GTXPro": "GTX Pro"}
DEAL_STAGES = {"Won": "won", "Lost": "lost", "Engaging": "open", "Prospecting": "prospecting"}

CORRECTED, WARNING, REJECTED = "corrected", "warning", "rejected"


class MavenSourceError(ValueError):
    """The source as a whole is unusable (missing file or column); nothing is imported."""


def default_data_dir() -> Path:
    """``$MILEPOST_DEMO_DATA`` or ``../shared/data/maven-crm-sales-opportunities`` next to the
    repository (the dataset is never copied into the repository)."""
    env = os.environ.get(DATA_ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    return (REPO_ROOT / ".." / "shared" / "data" / "maven-crm-sales-opportunities").resolve()


@dataclass(frozen=True)
class AgentRow:
    row: int
    name: str
    manager: str
    office: str


@dataclass(frozen=True)
class ProductRow:
    row: int
    name: str
    series: str
    price: Decimal


@dataclass(frozen=True)
class AccountRow:
    row: int
    name: str
    sector: str
    year_established: int | None
    revenue_musd: Decimal | None
    employees: int | None
    headquarters: str
    parent: str | None


@dataclass(frozen=True)
class DealRow:
    row: int
    external_id: str
    agent: str
    product: str
    account: str | None
    outcome: str  # won / lost / open / prospecting
    engage_date: date | None
    close_date: date | None
    close_value: Decimal | None


@dataclass
class MavenData:
    """Validated records of the four files plus every issue found while reading."""

    directory: Path
    agents: list[AgentRow] = field(default_factory=list)
    products: list[ProductRow] = field(default_factory=list)
    accounts: list[AccountRow] = field(default_factory=list)
    deals: list[DealRow] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    read: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)

    def reject(self, file: str, row: int, column: str, message: str, value: str) -> None:
        self.issues.append(Issue(file, row, column, REJECTED, message, value[:300]))
        self.rejected[file] += 1

    def note(
        self, file: str, row: int | None, column: str, severity: str, message: str, value: str = ""
    ) -> None:
        self.issues.append(Issue(file, row, column, severity, message, value[:300]))


def _rows(directory: Path, name: str) -> list[tuple[int, dict[str, str]]]:
    path = directory / name
    if not path.is_file():
        raise MavenSourceError(f"{path} not found")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS[name] if c not in (reader.fieldnames or ())]
        if missing:
            raise MavenSourceError(f"{name}: missing columns {', '.join(missing)}")
        # Line numbers of the file (header is line 1), so people can find the row in an editor.
        return [
            (reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}) for row in reader
        ]


def _decimal(text: str) -> Decimal:
    value = Decimal(text)
    if not value.is_finite():
        raise InvalidOperation(text)
    return value


def _optional_number(
    data: MavenData, file: str, row: int, column: str, text: str, *, integer: bool
) -> Decimal | int | None:
    if not text:
        return None
    try:
        value = int(text) if integer else _decimal(text)
    except (ValueError, InvalidOperation):
        data.note(file, row, column, WARNING, "not a number; left blank", text)
        return None
    if value < 0:
        data.note(file, row, column, WARNING, "negative; left blank", text)
        return None
    return value


def _date(text: str) -> date:
    return date.fromisoformat(text)


def read_maven(
    directory: Path | str | None = None, *, horizon: date = DATASET_HORIZON
) -> MavenData:
    """Read and validate the four files; rows that cannot be imported are rejected with a reason.

    Raises :class:`MavenSourceError` only when a file or a column is missing.
    """
    directory = Path(directory) if directory is not None else default_data_dir()
    raw = {name: _rows(directory, name) for name in FILES}
    data = MavenData(directory=directory)
    for name, rows in raw.items():
        data.read[name] = len(rows)
    _read_teams(data, raw[TEAMS_FILE])
    _read_products(data, raw[PRODUCTS_FILE])
    _read_accounts(data, raw[ACCOUNTS_FILE])
    _read_pipeline(data, raw[PIPELINE_FILE], horizon)
    with_deals = {d.agent for d in data.deals}
    for agent in data.agents:
        if agent.name not in with_deals:
            data.note(
                TEAMS_FILE, agent.row, "sales_agent", WARNING, "agent has no deals", agent.name
            )
    return data


def _read_teams(data: MavenData, rows: list[tuple[int, dict[str, str]]]) -> None:
    seen: set[str] = set()
    for n, r in rows:
        name, manager, office = r["sales_agent"], r["manager"], r["regional_office"]
        if not name:
            data.reject(TEAMS_FILE, n, "sales_agent", "agent name is blank", name)
        elif name in seen:
            data.reject(TEAMS_FILE, n, "sales_agent", "duplicate agent", name)
        elif not manager:
            data.reject(TEAMS_FILE, n, "manager", "manager is blank", manager)
        elif not office:
            data.reject(TEAMS_FILE, n, "regional_office", "regional office is blank", office)
        else:
            seen.add(name)
            data.agents.append(AgentRow(n, name, manager, office))


def _read_products(data: MavenData, rows: list[tuple[int, dict[str, str]]]) -> None:
    seen: set[str] = set()
    for n, r in rows:
        name, price_text = r["product"], r["sales_price"]
        if not name:
            data.reject(PRODUCTS_FILE, n, "product", "product name is blank", name)
            continue
        if name in seen:
            data.reject(PRODUCTS_FILE, n, "product", "duplicate product", name)
            continue
        try:
            price = _decimal(price_text)
        except InvalidOperation:
            data.reject(PRODUCTS_FILE, n, "sales_price", "price is not a number", price_text)
            continue
        if price < 0:
            data.reject(PRODUCTS_FILE, n, "sales_price", "price is negative", price_text)
            continue
        seen.add(name)
        data.products.append(ProductRow(n, name, r["series"], price))


def _read_accounts(data: MavenData, rows: list[tuple[int, dict[str, str]]]) -> None:
    seen: set[str] = set()
    pending: list[AccountRow] = []
    for n, r in rows:
        name = r["account"]
        if not name:
            data.reject(ACCOUNTS_FILE, n, "account", "account name is blank", name)
            continue
        if name in seen:
            data.reject(ACCOUNTS_FILE, n, "account", "duplicate account", name)
            continue
        seen.add(name)
        sector = r["sector"]
        if sector in SECTOR_FIXES:
            data.note(
                ACCOUNTS_FILE,
                n,
                "sector",
                CORRECTED,
                f"sector typo corrected to {SECTOR_FIXES[sector]!r}",
                sector,
            )
            sector = SECTOR_FIXES[sector]
        year = _optional_number(
            data, ACCOUNTS_FILE, n, "year_established", r["year_established"], integer=True
        )
        revenue = _optional_number(data, ACCOUNTS_FILE, n, "revenue", r["revenue"], integer=False)
        employees = _optional_number(
            data, ACCOUNTS_FILE, n, "employees", r["employees"], integer=True
        )
        pending.append(
            AccountRow(
                n,
                name,
                sector,
                int(year) if year is not None else None,
                Decimal(revenue) if revenue is not None else None,
                int(employees) if employees is not None else None,
                r["office_location"],
                r["subsidiary_of"] or None,
            )
        )
    for account in pending:
        parent = account.parent
        if parent is not None and (parent not in seen or parent == account.name):
            data.note(
                ACCOUNTS_FILE,
                account.row,
                "subsidiary_of",
                WARNING,
                "parent account is not in accounts.csv; left blank",
                parent,
            )
            account = AccountRow(**{**account.__dict__, "parent": None})
        data.accounts.append(account)


def _read_pipeline(data: MavenData, rows: list[tuple[int, dict[str, str]]], horizon: date) -> None:
    agents = {a.name for a in data.agents}
    products = {p.name for p in data.products}
    accounts = {a.name for a in data.accounts}
    seen: set[str] = set()
    f = PIPELINE_FILE
    for n, r in rows:
        oid, agent, product, account = (
            r["opportunity_id"],
            r["sales_agent"],
            r["product"],
            r["account"],
        )
        stage, engage_text, close_text, value_text = (
            r["deal_stage"],
            r["engage_date"],
            r["close_date"],
            r["close_value"],
        )
        if not oid:
            data.reject(f, n, "opportunity_id", "opportunity id is blank", oid)
            continue
        if oid in seen:
            data.reject(f, n, "opportunity_id", "duplicate opportunity id", oid)
            continue
        if agent not in agents:
            data.reject(f, n, "sales_agent", "unknown sales agent", agent)
            continue
        if product in PRODUCT_ALIASES:
            canonical = PRODUCT_ALIASES[product]
            if canonical not in products:
                data.reject(f, n, "product", "unknown product", product)
                continue
            data.note(
                f, n, "product", CORRECTED, f"product name corrected to {canonical!r}", product
            )
            product = canonical
        elif product not in products:
            data.reject(f, n, "product", "unknown product", product)
            continue
        if account and account not in accounts:
            data.reject(f, n, "account", "unknown account", account)
            continue
        if stage not in DEAL_STAGES:
            data.reject(f, n, "deal_stage", "unknown deal stage", stage)
            continue
        outcome = DEAL_STAGES[stage]
        closed = outcome in ("won", "lost")
        try:
            engage = _date(engage_text) if engage_text else None
        except ValueError:
            data.reject(f, n, "engage_date", "not a date (YYYY-MM-DD)", engage_text)
            continue
        if engage is None and outcome != "prospecting":
            data.reject(f, n, "engage_date", f"engage date is required for {stage} deals", "")
            continue
        if engage is not None and engage > horizon:
            data.reject(f, n, "engage_date", f"after the data horizon {horizon}", engage_text)
            continue
        try:
            close = _date(close_text) if close_text else None
        except ValueError:
            data.reject(f, n, "close_date", "not a date (YYYY-MM-DD)", close_text)
            continue
        if closed and close is None:
            data.reject(f, n, "close_date", f"close date is required for {stage} deals", "")
            continue
        if close is not None and engage is not None and close < engage:
            data.reject(f, n, "close_date", "close date is before the engage date", close_text)
            continue
        if close is not None and close > horizon:
            data.reject(f, n, "close_date", f"after the data horizon {horizon}", close_text)
            continue
        if close is not None and not closed:
            data.note(
                f, n, "close_date", WARNING, "open deal has a close date; ignored", close_text
            )
            close = None
        try:
            value = _decimal(value_text) if value_text else None
        except InvalidOperation:
            data.reject(f, n, "close_value", "not a number", value_text)
            continue
        if value is not None and value < 0:
            data.reject(f, n, "close_value", "negative value", value_text)
            continue
        if value is not None:
            # The bounds every deal amount meets (the API's and the pages'): past the column's
            # size or finer than a cent is refused, not cut or rounded into the database.
            try:
                clean_deal_fields({"amount": value})
            except InvalidChange as exc:
                data.reject(f, n, "close_value", str(exc), value_text)
                continue
        if outcome == "won" and value is None:
            data.reject(f, n, "close_value", "won deal without a value", "")
            continue
        if value is not None and not closed:
            data.note(f, n, "close_value", WARNING, "open deal has a value; ignored", value_text)
            value = None
        if outcome == "lost" and value:
            data.note(
                f,
                n,
                "close_value",
                WARNING,
                "lost deal has a value; amount uses the list price",
                value_text,
            )
        if not account:
            message = "no account; imported with a synthetic prospect account"
            data.note(f, n, "account", WARNING, message, "")
        seen.add(oid)
        data.deals.append(
            DealRow(n, oid, agent, product, account or None, outcome, engage, close, value)
        )
