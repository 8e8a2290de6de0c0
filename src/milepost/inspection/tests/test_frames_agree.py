"""The pipeline read from the database gives the same statuses in both evaluation forms.

Data is written to the database (not built as snapshots), so these tests also hold the loading
together: decimals, UTC datetimes, blank text, foreign-key ids and the row-level rule, on
whichever database the suite runs against (SQLite by default, PostgreSQL with DATABASE_URL).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milepost.core.errors import NotFound
from milepost.engine.criteria import (
    ActivityFact,
    OpportunitySnapshot,
    evaluate_criterion,
    verified_stage,
)
from milepost.engine.criteria_frames import (
    ACTIVITIES_SCHEMA,
    ACTIVITY_CONTACTS_SCHEMA,
    CONTACT_ROLES_SCHEMA,
    evaluate_criteria_frame,
    opportunity_schema,
    verified_stage_frame,
)
from milepost.engine.tests.test_criteria_frames import LEVELS_SEEN, SCALES, ZONES, rules
from milepost.engine.vocabulary import (
    ACTIVITY_TYPES,
    BUYING_ROLES,
    FORECAST_CATEGORIES,
    OPPORTUNITY_FIELDS,
)
from milepost.inspection.selectors import (
    PipelineFrames,
    criterion_stages,
    open_stage_keys,
    opportunity_snapshot,
    pipeline_frames,
    stage_criteria,
)
from milepost.methodology.models import ElementAssessment
from milepost.pipeline.facts import deal_facts_refresh
from milepost.pipeline.models import Activity, Opportunity, OpportunityContact, Product
from milepost.process.models import ProcessVersion, Stage
from milepost.process.selectors import scales as methodology_scales
from milepost.team.models import User
from milepost.testing.factories import Org, make_account, make_contact

pytestmark = pytest.mark.django_db

AS_OF = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Pool:
    """Rows the generated deals point at; made once per test, kept across examples."""

    version: ProcessVersion
    stages: list[Stage]
    accounts: list[int]
    products: list[int]
    contacts: list[int]


@pytest.fixture
def pool(org: Org, processes: None) -> Pool:
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


def _write(pool: Pool, owners: list[User], specs: list[DealSpec]) -> list[Opportunity]:
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
            ElementAssessment(
                opportunity=d, pack=pack, element=element, level=level, updated_at=now
            )
            for d, s in zip(deals, specs, strict=True)
            for (pack, element), level in sorted(s.elements.items())
        ]
    )
    return deals


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


def _expected_snapshot(pool: Pool, deal: Opportunity, spec: DealSpec) -> OpportunitySnapshot:
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


def _snapshots_in_frames(frames: PipelineFrames) -> dict[int, OpportunitySnapshot]:
    """The frames read back as snapshots, to compare the set-based loader with what was written."""
    contacts: dict[int, list[int]] = {}
    for row in frames.activity_contacts.iter_rows():
        contacts.setdefault(row[0], []).append(row[1])
    roles: dict[int, list[tuple[int, str]]] = {}
    for opportunity_id, contact_id, role in frames.contact_roles.iter_rows():
        roles.setdefault(opportunity_id, []).append((contact_id, role))
    facts: dict[int, list[ActivityFact]] = {}
    for opportunity_id, activity_id, kind, at in frames.activities.sort("activity_id").iter_rows():
        who = tuple(sorted(contacts.get(activity_id, [])))
        facts.setdefault(opportunity_id, []).append(ActivityFact(kind, at, who))
    elements: dict[int, list[tuple[str, str, str]]] = {}
    for opportunity_id, pack, element, level in frames.element_levels.iter_rows():
        elements.setdefault(opportunity_id, []).append((pack, element, level))
    return {
        row["opportunity_id"]: OpportunitySnapshot(
            id=row["opportunity_id"],
            contact_roles=tuple(sorted(roles.get(row["opportunity_id"], []))),
            activities=tuple(facts.get(row["opportunity_id"], [])),
            elements=tuple(sorted(elements.get(row["opportunity_id"], []))),
            **{f: row[f] for f in OPPORTUNITY_FIELDS},
        )
        for row in frames.opportunities.iter_rows(named=True)
    }


# ---------------------------------------------------------------------------------------------
# Property: random pipelines in the database, default criteria plus random rules.


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.data(),
    extra_rules=st.lists(rules(2), max_size=4),
    as_of_zone=st.sampled_from(ZONES),
)
def test_database_pipeline_agrees_in_both_forms(
    org: Org, pool: Pool, data: st.DataObject, extra_rules: list[dict[str, Any]], as_of_zone: Any
) -> None:
    # Given manager_a's team plus rep_b1, whose deals manager_a may not see
    owners = [org.rep_a1, org.rep_a2, org.manager_a, org.rep_b1]
    specs = data.draw(st.lists(deal_specs(len(owners)), min_size=1, max_size=6))
    as_of = AS_OF.astimezone(as_of_zone)
    version_id = pool.version.pk
    criteria = stage_criteria(version_id=version_id)
    criteria += [(f"extra_{i}", rule) for i, rule in enumerate(extra_rules)]
    stage_of = criterion_stages(version_id=version_id)
    open_keys = open_stage_keys(version_id=version_id)
    user = org.manager_a
    # The loaded packs' scales (the default process checks MEDDPICC) plus the generator's.
    all_scales = {**methodology_scales(), **SCALES}

    with transaction.atomic():  # a savepoint, rolled back after each example
        deals = _write(pool, owners, specs)
        visible = {d.pk: s for d, s in zip(deals, specs, strict=True) if s.owner != 3}

        # When both forms read the pipeline from the database
        frames = pipeline_frames(user=user, process_version_id=version_id)
        set_based = evaluate_criteria_frame(
            *frames.inputs,
            criteria,
            as_of,
            element_levels=frames.element_levels,
            scales=all_scales,
        )
        frame_status = {
            (r["opportunity_id"], r["criterion_id"]): r["status"] for r in set_based.to_dicts()
        }
        verified_rows = verified_stage_frame(set_based, stage_of, open_keys, frames.claims)
        frame_verified = {
            r["opportunity_id"]: (r["verified_stage"], r["under_control"], r["first_gap"])
            for r in verified_rows.to_dicts()
        }

        # Then the frames hold exactly the visible deals, with the engine's dtypes
        assert sorted(frames.opportunities["opportunity_id"]) == sorted(visible)
        assert frames.opportunities.schema["amount"] == pl.Decimal(38, 2)
        assert frames.activities.schema["occurred_at"] == pl.Datetime("us", "UTC")
        assert set(frames.contact_roles["opportunity_id"]) <= set(visible)
        assert set(frames.activities["opportunity_id"]) <= set(visible)

        in_frames = _snapshots_in_frames(frames)
        for deal in (d for d in deals if d.pk in visible):
            snapshot = opportunity_snapshot(user=user, opportunity_id=deal.pk)
            # both loaders are faithful to what was written (so agreement is not vacuous) ...
            expected = _expected_snapshot(pool, deal, visible[deal.pk])
            assert snapshot == expected
            assert in_frames[deal.pk] == expected
            # ... and every criterion has the same status in both forms
            explained = {
                cid: evaluate_criterion({"rule": rule}, snapshot, as_of, all_scales).status
                for cid, rule in criteria
            }
            assert {cid: frame_status[(deal.pk, cid)] for cid, _ in criteria} == explained
            by_stage: dict[str, list[str]] = {}
            for cid, status in explained.items():
                if cid in stage_of:
                    by_stage.setdefault(stage_of[cid], []).append(status)
            stage = deal.stage
            claimed = verified_stage(open_keys, stage.key, by_stage, claimed_kind=stage.kind)
            assert frame_verified[deal.pk] == tuple(claimed)
        transaction.set_rollback(True)


# ---------------------------------------------------------------------------------------------
# Row-level scoping.


@pytest.fixture
def team_deals(org: Org, pool: Pool) -> dict[str, Opportunity]:
    owners = [org.rep_a1, org.rep_a2, org.rep_b1]
    specs = [
        DealSpec(
            owner=i,
            stage=0,
            fields={
                "amount": Decimal("1000.00"),
                "close_date": date(2026, 4, 30),
                "probability": 10,
                "forecast_category": "pipeline",
            },
            account=0,
            product=None,
            roles=[(i, "champion"), (3, "economic_buyer")],
            activities=[("call", AS_OF - timedelta(days=i), [i, 3])],
        )
        for i in range(3)
    ]
    deals = _write(pool, owners, specs)
    return {"a1": deals[0], "a2": deals[1], "b1": deals[2]}


def _activity_ids(deals: list[Opportunity]) -> set[int]:
    return set(Activity.objects.filter(opportunity__in=deals).values_list("id", flat=True))


def _assert_holds_exactly(user: User, deals: list[Opportunity]) -> None:
    frames = pipeline_frames(user=user)
    ids = {d.pk for d in deals}
    assert set(frames.opportunities["opportunity_id"]) == ids
    assert set(frames.contact_roles["opportunity_id"]) == ids
    assert frames.contact_roles.height == 2 * len(deals)
    assert set(frames.activities["activity_id"]) == _activity_ids(deals)
    assert set(frames.activity_contacts["activity_id"]) == _activity_ids(deals)


def test_rep_sees_only_own_deals_and_their_rows(org: Org, team_deals: dict[str, Opportunity]):
    _assert_holds_exactly(org.rep_a1, [team_deals["a1"]])
    _assert_holds_exactly(org.rep_b1, [team_deals["b1"]])


def test_manager_sees_the_team(org: Org, team_deals: dict[str, Opportunity]) -> None:
    _assert_holds_exactly(org.manager_a, [team_deals["a1"], team_deals["a2"]])
    _assert_holds_exactly(org.manager_b, [team_deals["b1"]])
    _assert_holds_exactly(org.admin, list(team_deals.values()))
    _assert_holds_exactly(org.rep_solo, [])


def test_probing_other_users_ids_yields_nothing(
    org: Org, team_deals: dict[str, Opportunity]
) -> None:
    hidden = [team_deals["b1"].pk, team_deals["a2"].pk]
    frames = pipeline_frames(user=org.rep_a1, opportunity_ids=hidden)
    assert all(frame.height == 0 for frame in frames.inputs)
    mixed = pipeline_frames(user=org.rep_a1, opportunity_ids=[*hidden, team_deals["a1"].pk])
    assert mixed.opportunities["opportunity_id"].to_list() == [team_deals["a1"].pk]
    with pytest.raises(NotFound):
        opportunity_snapshot(user=org.rep_a1, opportunity_id=team_deals["b1"].pk)
    with pytest.raises(NotFound):
        opportunity_snapshot(user=org.manager_b, opportunity_id=team_deals["a1"].pk)
    assert opportunity_snapshot(user=org.manager_a, opportunity_id=team_deals["a2"].pk).id == (
        team_deals["a2"].pk
    )


def test_empty_pipeline_has_the_engine_schemas(org: Org, pool: Pool) -> None:
    frames = pipeline_frames(user=org.rep_solo)
    assert frames.opportunities.select(list(opportunity_schema(2))).schema == pl.Schema(
        opportunity_schema(2)
    )
    assert frames.contact_roles.schema == pl.Schema(CONTACT_ROLES_SCHEMA)
    assert frames.activities.schema == pl.Schema(ACTIVITIES_SCHEMA)
    assert frames.activity_contacts.schema == pl.Schema(ACTIVITY_CONTACTS_SCHEMA)


# ---------------------------------------------------------------------------------------------
# Query count: fixed, whatever the pipeline's size.


def _count_queries(user: User) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        frames = pipeline_frames(user=user)
    return len(queries.captured_queries), frames.opportunities.height


def test_query_count_does_not_grow_with_the_pipeline(org: Org, pool: Pool) -> None:
    def add(n: int) -> None:
        spec = DealSpec(
            owner=0,
            stage=0,
            fields={
                "amount": Decimal("5.00"),
                "close_date": date(2026, 4, 1),
                "probability": 10,
                "forecast_category": "pipeline",
            },
            account=1,
            product=0,
            roles=[(0, "champion"), (1, "coach")],
            activities=[("call", AS_OF, [0, 1]), ("email", AS_OF, [2])],
        )
        _write(pool, [org.rep_a1], [spec] * n)

    add(3)
    rep_small, manager_small = _count_queries(org.rep_a1), _count_queries(org.manager_a)
    add(27)
    rep_large, manager_large = _count_queries(org.rep_a1), _count_queries(org.manager_a)
    assert (rep_small, rep_large) == ((5, 3), (5, 30))  # one query per frame
    # a manager adds the scope's look-up of the reporting line, once per level, not per deal
    assert manager_small == (manager_large[0], 3)
    assert manager_large[1] == 30
    deal_id = Opportunity.objects.filter(owner=org.rep_a1).values_list("id", flat=True)[0]
    with CaptureQueriesContext(connection) as queries:
        opportunity_snapshot(user=org.rep_a1, opportunity_id=deal_id)
    assert len(queries.captured_queries) == 5
