"""Synthetic prospects for the dataset's open deals that have no account.

The dataset leaves 1,425 open deals without an account; named "Unknown account — <product>"
they cannot be told apart, and with no contacts none could have buyer-confirmed evidence (so
all were "not under control"). Each gets a prospect account with a generated company name,
distinct and deterministic (a seeded permutation of word combinations, assigned in
``opportunity_id`` order), and synthetic contacts like every account; the deal is marked with
:data:`PROSPECT_SOURCE` (its ``source``), the account with :data:`PROSPECT_SECTOR`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from milepost.accounts.models import Account
from milepost.demo import bulk
from milepost.demo.maven import MavenData
from milepost.demo.people import Users

PROSPECT_SOURCE = "synthetic demo prospect"
PROSPECT_SECTOR = "prospect (synthetic)"
_FIRST = (
    "Amber", "Apex", "Arbor", "Atlas", "Beacon", "Birch", "Blue Fern", "Bright", "Cedar",
    "Cobalt", "Copper", "Crest", "Delta", "Ember", "Evergreen", "Falcon", "Granite", "Harbor",
    "Horizon", "Iron Gate", "Juniper", "Keystone", "Lakeside", "Lumen", "Maple", "Meridian",
    "Northwind", "Oakridge", "Orchid", "Pinnacle", "Quarry", "Redwood", "Ridgeline", "Sable",
    "Silver Birch", "Summit", "Tidewater", "Upland", "Vantage", "Willow",
)  # fmt: skip
_SECOND = (
    "Analytics", "Biotech", "Logistics", "Foods", "Health", "Labs", "Energy", "Robotics",
    "Textiles", "Media", "Outfitters", "Freight", "Dental", "Aerospace", "Brewing",
    "Software", "Engineering", "Pharma", "Retail", "Studios",
)  # fmt: skip
_FORM = ("Inc.", "LLC", "Group", "Co.", "Partners")


def prospect_names(external_ids: Sequence[str], *, seed: int) -> dict[str, str]:
    """A distinct company name per external id (deterministic from the seed and the ids)."""
    combos = list(itertools.product(_FIRST, _SECOND, _FORM))
    if len(external_ids) > len(combos):  # pragma: no cover - 4,000 names; the data has 1,425
        raise ValueError(f"more prospects ({len(external_ids)}) than names ({len(combos)})")
    order = np.random.default_rng(seed).permutation(len(combos))
    return {ext: " ".join(combos[int(order[i])]) for i, ext in enumerate(sorted(set(external_ids)))}


def company_names(n: int, *, seed: int) -> list[str]:
    """``n`` synthetic company names (drawn with replacement: several leads may come from one
    company), deterministic from the seed."""
    combos = list(itertools.product(_FIRST, _SECOND, _FORM))
    picks = np.random.default_rng(seed).integers(0, len(combos), size=n)
    return [" ".join(combos[int(i)]) for i in picks]


def import_prospects(data: MavenData, users: Users, *, seed: int) -> dict[str, Account]:
    """A prospect account per open deal without one (by external id), owned by the deal's
    owner; created once, found by name on a later import."""
    rows = [d for d in data.deals if not d.account]
    names = prospect_names([d.external_id for d in rows], seed=seed)
    existing = {a.name: a for a in Account.objects.filter(name__in=names.values())}
    bulk.bulk_create(
        Account,
        [
            Account(
                name=names[d.external_id],
                sector=PROSPECT_SECTOR,
                owner_id=users.by_agent[d.agent].pk,
            )
            for d in rows
            if names[d.external_id] not in existing
        ],
    )
    by_name = {a.name: a for a in Account.objects.filter(name__in=names.values())}
    return {ext: by_name[name] for ext, name in names.items()}
