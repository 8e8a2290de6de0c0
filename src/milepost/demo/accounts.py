"""The dataset's products and accounts, matched by name: created, updated or left unchanged.

An account's owner is the agent with the most deals on it. Not done here: the accounts'
contacts (:func:`.people.ensure_contacts`) and deals (:mod:`.deals`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

from milepost.accounts.models import Account
from milepost.demo import bulk, maven
from milepost.demo.maven import CURRENCY, MavenData
from milepost.demo.people import Users
from milepost.imports.services import RowCounts
from milepost.pipeline.models import Product


def import_products(data: MavenData, counts: RowCounts) -> dict[str, Product]:
    """Products by name, priced in the dataset's currency."""
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
    bulk.bulk_create(Product, new)
    bulk.bulk_update(Product, changed, ["series", "list_price", "currency"])
    return {p.name: p for p in Product.objects.filter(name__in=[r.name for r in data.products])}


def _account_owners(data: MavenData, users: Users) -> dict[str, int]:
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


def import_accounts(data: MavenData, counts: RowCounts, users: Users) -> dict[str, Account]:
    """Accounts by name with their parent and owner (created first, so parents resolve)."""
    names = [r.name for r in data.accounts]
    owners = _account_owners(data, users)
    existing = {a.name: a for a in Account.objects.filter(name__in=names)}
    created = [
        Account(name=r.name, sector=r.sector) for r in data.accounts if r.name not in existing
    ]
    created_names = {a.name for a in created}
    bulk.bulk_create(Account, created)
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
    bulk.bulk_update(Account, changed, _ACCOUNT_FIELDS)
    return existing
