"""The dataset's deals, matched by ``external_id``.

New deals are built here but written with their synthetic history (:mod:`.histories`); an
existing deal gets its plain fields updated and, if the source now reports another outcome, one
new transition to it. The rest of an existing deal's history is never rewritten.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from milepost.accounts.models import Account
from milepost.demo import bulk, maven
from milepost.demo.maven import CURRENCY, PIPELINE_FILE, MavenData
from milepost.demo.people import Users
from milepost.demo.prospects import PROSPECT_SOURCE
from milepost.imports.services import RowCounts
from milepost.pipeline.choices import TransitionSource
from milepost.pipeline.models import Opportunity, Product, StageTransition
from milepost.pipeline.services import stage_change
from milepost.process.models import Stage, StageKind


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


@dataclass
class NewDeal:
    """A deal new to the database, not yet written: :mod:`.histories` writes it."""

    row: maven.DealRow
    opportunity: Opportunity


def _deal_amount(row: maven.DealRow, products: dict[str, Product]) -> Decimal:
    if row.outcome == "won" and row.close_value is not None:
        return row.close_value.quantize(Decimal("0.01"))
    return products[row.product].list_price


def _deal_names(data: MavenData, prospects: dict[str, Account]) -> dict[str, str]:
    """Buyer — product; a name several deals would share ends with the opportunity id, so
    deals can be told apart."""
    names = {
        d.external_id: f"{d.account or prospects[d.external_id].name} — {d.product}"
        for d in data.deals
    }
    repeated = Counter(names.values())
    return {
        ext: (f"{name} ({ext})" if repeated[name] > 1 else name)[:200]
        for ext, name in names.items()
    }


def import_deals(
    data: MavenData,
    counts: RowCounts,
    users: Users,
    products: dict[str, Product],
    accounts: dict[str, Account],
    stages: dict[str, Stage],
    first_stage: Stage,
    *,
    shift: int,
    prospects: dict[str, Account],
) -> list[NewDeal]:
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
    names = _deal_names(data, prospects)
    new: list[NewDeal] = []
    changed: list[Opportunity] = []
    moves: list[StageTransition] = []
    plain = [
        "name",
        "account_id",
        "owner_id",
        "product_id",
        "amount",
        "currency",
        "close_date",
        "source",
    ]
    for row in data.deals:
        fields = {
            "name": names[row.external_id],
            "account_id": (accounts[row.account] if row.account else prospects[row.external_id]).pk,
            "owner_id": users.by_agent[row.agent].pk,
            "product_id": products[row.product].pk,
            "amount": _deal_amount(row, products),
            "currency": CURRENCY,
            "source": PROSPECT_SOURCE if row.external_id in prospects else "",
        }
        opp = existing.get(row.external_id)
        if opp is None:
            opp = Opportunity(external_id=row.external_id, **fields)
            new.append(NewDeal(row, opp))
            counts.add(PIPELINE_FILE, "created")
            continue
        if row.close_date is not None:
            fields["close_date"] = row.close_date + delta
        else:  # an open deal keeps the close date synthesised with its history
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
    bulk.bulk_update(
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
    bulk.bulk_create(StageTransition, moves)
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
