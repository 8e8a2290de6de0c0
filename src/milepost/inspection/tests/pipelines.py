"""Generated pipelines written to the database: the strategies and the writer the inspection
property tests share.

Deals are written with bulk inserts (no signals), so the writer refreshes the stored deal
facts itself, as the services that write deals do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from milepost.engine.criteria import ActivityFact, OpportunitySnapshot
from milepost.engine.tests.test_criteria_frames import LEVELS_SEEN, SCALES, ZONES
from milepost.engine.vocabulary import ACTIVITY_TYPES, BUYING_ROLES, FORECAST_CATEGORIES
from milepost.methodology.models import ElementAssessment
from milepost.pipeline.facts import deal_facts_refresh
from milepost.pipeline.models import Activity, Opportunity, OpportunityContact, Product
from milepost.process.models import ProcessVersion, Stage
from milepost.team.models import User
from milepost.testing.factories import Org, make_account, make_contact

AS_OF = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Pool:
    """Rows the generated deals point at; made once per module, kept across examples."""

    version: ProcessVersion
    stages: list[Stage]
    accounts: list[int]
    products: list[int]
    contacts: list[int]


def make_pool(org: Org) -> Pool:
    """Accounts, contacts and products for generated deals, on the default process."""
    version = ProcessVersion.objects.get(process__key="new_business", is_current=True)
    accounts = [make_account(owner=org.rep_a1), make_account(owner=org.rep_b1)]
    contacts = [make_contact(accounts[i % 2]).pk for i in range(4)]
    products = [
        Product.objects.create(name=f"Product {i}", list_price=Decimal("100.00")).pk
        for i in range(2)
    ]
    return Pool(
        version=version,
        stages=list(version.stages.order_by("position")),
        accounts=[a.pk for a in accounts],
        products=products,
        contacts=contacts,
    )


@dataclass(frozen=True)
class DealSpec:
    """One generated deal: fields as written, plus related rows by index into the pool."""

    owner: int  # index into the owners list of the test
    stage: int
    fields: dict[str, Any]
    account: int | None
    product: int | None
    roles: list[tuple[int, str]]
    activities: list[tuple[str, datetime, list[int]]]
    # (pack, element) -> level: methodology element scores (levels may be off the scale).
    elements: dict[tuple[str, str], str] = field(default_factory=dict)


def write_deals(pool: Pool, owners: list[User], specs: list[DealSpec]) -> list[Opportunity]:
    """Write deals, roles, activities and activity contacts with one bulk insert each."""
    now = AS_OF - timedelta(days=100)
    deals = Opportunity.objects.bulk_create(
        [
            Opportunity(
                name=f"Deal {i}",
                owner=owners[s.owner],
                stage=pool.stages[s.stage % len(pool.stages)],
                stage_entered_at=now,
                created_at=now,
                updated_at=now,
                account_id=None if s.account is None else pool.accounts[s.account],
                product_id=None if s.product is None else pool.products[s.product],
                **s.fields,
            )
            for i, s in enumerate(specs)
        ]
    )
    OpportunityContact.objects.bulk_create(
        [
            OpportunityContact(opportunity=d, contact_id=pool.contacts[c], buying_role=role)
            for d, s in zip(deals, specs, strict=True)
            for c, role in sorted(set(s.roles))
        ]
    )
    activity_specs = [(d, a) for d, s in zip(deals, specs, strict=True) for a in s.activities]
    activities = Activity.objects.bulk_create(
        [
            Activity(opportunity=d, type=kind, occurred_at=at, owner=d.owner, subject=kind)
            for d, (kind, at, _) in activity_specs
        ]
    )
    Activity.contacts.through.objects.bulk_create(
        [
            Activity.contacts.through(activity_id=a.pk, contact_id=pool.contacts[c])
            for a, (_, (_, _, who)) in zip(activities, activity_specs, strict=True)
            for c in sorted(set(who))
        ]
    )
    deal_facts_refresh([d.pk for d in deals])  # bulk inserts send no signals
    ElementAssessment.objects.bulk_create(
        [
            # The spec's level is the one that counts (``verified_level``). Every other
            # assessment scored higher is a rep's claim awaiting verification, which neither
            # form may count.
            ElementAssessment(
                opportunity=d,
                pack=pack,
                element=element,
                level=CLAIMED.get(level, level) if n % 2 else level,
                verified_level=level,
                updated_at=now,
            )
            for d, s in zip(deals, specs, strict=True)
            for n, ((pack, element), level) in enumerate(sorted(s.elements.items()))
        ]
    )
    return deals


# A rep's claim above the level that counts: MEDDPICC partial scored as confirmed, any level
# the scales do not know (a dropped level) claimed as one they do.
CLAIMED = {"not_started": "partial", "partial": "confirmed"}


# ---------------------------------------------------------------------------------------------
# Strategies: values the database can hold (no NUL; amounts fit max_digits=14, places=2).

BIG = Decimal("999999999999.99")
safe_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=4)
texts = st.sampled_from(["", " ", "\t\n", "\u00a0", "\u3000", "commit", "Z", "é"]) | safe_text
dates = st.dates(date(2026, 1, 1), date(2026, 12, 31)) | st.sampled_from([date(2026, 3, 31)])


@st.composite
def moments(draw: st.DrawFn) -> datetime:
    """Around AS_OF, often on window boundaries, in various zones (stored as UTC)."""
    days = draw(st.sampled_from([-1, 0, 1, 7, 8, 30, 31, 45, 46, 90, 91]) | st.integers(-3, 100))
    seconds = draw(st.sampled_from([0, 1, -1, 8 * 3600 + 1799]) | st.integers(0, 86_399))
    moment = AS_OF - timedelta(days=days) + timedelta(seconds=seconds - 15 * 3600 - 1800)
    return moment.astimezone(draw(st.sampled_from(ZONES)))


@st.composite
def deal_specs(draw: st.DrawFn, owners: int) -> DealSpec:
    fields = {
        "amount": draw(st.decimals(0, 10_000, places=2) | st.sampled_from([Decimal("0"), BIG])),
        "close_date": draw(dates),
        "next_step": draw(texts),
        "next_step_date": draw(st.none() | dates),
        "source": draw(texts),
        "probability": draw(st.integers(0, 100)),
        "forecast_category": draw(st.sampled_from(FORECAST_CATEGORIES)),
        "lost_reason": draw(texts),
    }
    return DealSpec(
        owner=draw(st.integers(0, owners - 1)),
        stage=draw(st.integers(0, 20)),
        fields=fields,
        account=draw(st.none() | st.integers(0, 1)),
        product=draw(st.none() | st.integers(0, 1)),
        roles=draw(
            st.lists(st.tuples(st.integers(0, 3), st.sampled_from(BUYING_ROLES[:4])), max_size=5)
        ),
        activities=draw(
            st.lists(
                st.tuples(
                    st.sampled_from(ACTIVITY_TYPES),
                    moments(),
                    st.lists(st.integers(0, 3), max_size=3),
                ),
                max_size=5,
            )
        ),
        elements=draw(
            st.dictionaries(
                st.sampled_from([*SCALES, ("meddpicc", "decision_process")]),
                st.sampled_from(LEVELS_SEEN),
                max_size=3,
            )
        ),
    )


def expected_snapshot(pool: Pool, deal: Opportunity, spec: DealSpec) -> OpportunitySnapshot:
    """What the loader must produce for a deal, built from the spec, not from the database."""
    return OpportunitySnapshot(
        id=deal.pk,
        account=None if spec.account is None else pool.accounts[spec.account],
        product=None if spec.product is None else pool.products[spec.product],
        contact_roles=tuple(sorted({(pool.contacts[c], r) for c, r in spec.roles})),
        activities=tuple(
            ActivityFact(kind, at, tuple(sorted({pool.contacts[c] for c in who})))
            for kind, at, who in spec.activities
        ),
        elements=tuple((p, e, level) for (p, e), level in sorted(spec.elements.items())),
        **spec.fields,
    )
