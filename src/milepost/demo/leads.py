"""Synthetic leads for the demo, so lead -> opportunity -> won conversion shows a figure.

The dataset has deals but no leads. Every new deal comes from a lead (converted when the deal
was created, some days after the lead came in: lognormal, median :data:`MEDIAN_DAYS_TO_DEAL`),
and for every converted lead there are unconverted ones, so that about :data:`CONVERSION` of
the leads become deals, a usual rate for qualified B2B leads: older ones disqualified, those of
the last :data:`WORKING_DAYS` days new or being worked. They belong to the deal owners, in the
proportion of their deals, and come in over the same span as the deals. Every lead's source is
:data:`LEAD_SOURCE` (marked synthetic); unconverted leads are named after synthetic companies.
Seeded, like the rest of the demo.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from django.db import connection

from milepost.demo import bulk
from milepost.demo.deals import NewDeal
from milepost.demo.prospects import company_names
from milepost.pipeline.choices import LeadStatus
from milepost.pipeline.models import Lead

LEAD_SOURCE = "synthetic demo lead"
CONVERSION = 0.3  # share of leads that become a deal
MEDIAN_DAYS_TO_DEAL = 12.0
WORKING_DAYS = 30  # leads younger than this are still new or being worked
LEAD_COLUMNS = [
    "owner",
    "company",
    "contact_name",
    "email",
    "source",
    "status",
    "created_at",
    "converted_at",
]


def write_leads(new: list[NewDeal], names: dict[int, str], *, today: datetime, seed: int) -> int:
    """A converted lead for each new deal (linked as the deal's ``lead``, before the deals are
    written) and the unconverted leads beside them. ``names``: account id -> name (the lead's
    company). Returns the number of leads written."""
    if not new:
        return 0
    rng = np.random.default_rng(seed)
    opps = [d.opportunity for d in new]
    waits = rng.lognormal(np.log(MEDIAN_DAYS_TO_DEAL), 0.8, size=len(opps))
    others = round(len(opps) * (1 - CONVERSION) / CONVERSION)
    first = min(o.created_at for o in opps)
    span = max((today - first).total_seconds(), 1.0)
    came_in = [first + timedelta(seconds=float(s)) for s in rng.uniform(0, span, size=others)]
    owners = rng.choice([o.owner_id for o in opps], size=others)
    fresh = rng.random(others)
    companies = company_names(others, seed=seed + 1)
    adapt = connection.ops.adapt_datetimefield_value
    before = Lead.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    # Rows without a model instance each (bulk.insert_rows): the converted leads first, in the
    # deals' order, so their ids (increasing in one transaction) pair with the deals below.
    bulk.insert_rows(
        Lead,
        LEAD_COLUMNS,
        [
            (
                o.owner_id,
                (names.get(o.account_id, "") if o.account_id else o.name)[:200],
                "",
                "",
                LEAD_SOURCE,
                LeadStatus.CONVERTED.value,
                adapt(o.created_at - timedelta(days=float(w))),
                adapt(o.created_at),
            )
            for o, w in zip(opps, waits, strict=True)
        ]
        + [
            (
                int(owner),
                company,
                "",
                "",
                LEAD_SOURCE,
                _open_status(at, today, float(f)),
                adapt(at),
                None,
            )
            for owner, company, at, f in zip(owners, companies, came_in, fresh, strict=True)
        ],
    )
    ids = list(
        Lead.objects.filter(pk__gt=before, status=LeadStatus.CONVERTED)
        .order_by("pk")
        .values_list("pk", flat=True)[: len(opps)]
    )
    if len(ids) != len(opps):  # pragma: no cover - would be a bug
        raise AssertionError("lead ids do not match the deals")
    for opp, lead_id in zip(opps, ids, strict=True):
        opp.lead_id = lead_id
    return len(opps) + others


def _open_status(at: datetime, today: datetime, draw: float) -> str:
    if today - at > timedelta(days=WORKING_DAYS):
        return LeadStatus.DISQUALIFIED.value
    return (LeadStatus.WORKING if draw < 0.6 else LeadStatus.NEW).value
