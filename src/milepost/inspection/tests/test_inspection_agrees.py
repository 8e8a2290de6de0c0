"""The set-based inspection users get and the explained form agree, deal by deal, on data
committed to whichever database the suite runs on, read the way a request reads it.

Generated pipelines (:mod:`milepost.inspection.tests.pipelines`) get random evidence (none,
active at each level, rejected, withdrawn) for random criteria, and the property asserts, deal
by deal: every criterion's final status, the verified stage, control and first gap are the
same in :func:`inspect_pipeline` and :func:`explain_criteria` (the reference). A second
property drives random *rules* through the same SQL aggregate reads, which is where the window
and distinct-count semantics could drift from the explained form.

The world (an organisation, accounts, contacts, products) is committed once per module; each
example commits its deals and deletes them afterwards. Inspection runs outside any transaction,
as a request does, so it takes the production read path (PostgreSQL: the native Arrow reader
on the exported snapshot; SQLite: Django's connection to the database file), and every test
that reads the pipeline asserts which reader served the reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import polars as pl
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milepost.core.errors import NotFound
from milepost.engine.control_frames import StageCriteria, control_frame, evidence_codes
from milepost.engine.criteria import evaluate_criterion
from milepost.engine.criteria_frames import CriteriaPlan, opportunity_schema
from milepost.engine.evidence import EVIDENCE_SCHEMA, CriterionMeta
from milepost.engine.risk_model import RISK_SIGNALS_SCHEMA, RiskModel
from milepost.engine.tests.test_criteria_frames import SCALES, ZONES, rules
from milepost.evidence.models import Evidence
from milepost.inspection import pipeline as inspection
from milepost.inspection.deal import explain_criteria, inspect_opportunity
from milepost.inspection.pipeline import inspect_pipeline
from milepost.inspection.selectors import opportunity_snapshot
from milepost.inspection.snoozes.services import snooze_create
from milepost.inspection.sql_frames import consistent_reads
from milepost.inspection.tests.pipelines import (
    AS_OF,
    Pool,
    deal_specs,
    expected_snapshot,
    make_pool,
    write_deals,
)
from milepost.pipeline.models import Opportunity
from milepost.process.models import ExitCriterion, StageKind
from milepost.testing.factories import Org, make_contact, make_opportunity, make_org
from milepost.testing.reads import (
    DJANGO,
    committed_world,
    deals_removed_after,
    production_reader,
    recorded_reads,
)

EXAMPLES = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# (state, level that counts, buyer claim, source): claims pending, rejected and accepted too.
EVIDENCE_CHOICES = [
    None,
    ("active", "rep", "", "rep_claim"),
    ("active", "manager", "", "manager"),
    ("active", "buyer", "accepted", "artefact"),
    ("active", "buyer", "accepted", "buyer_action"),
    ("active", "rep", "pending", "artefact"),
    ("active", "manager", "pending", "manager"),
    ("active", "rep", "rejected", "artefact"),
    ("rejected", "rep", "", "rep_claim"),
    ("rejected", "buyer", "accepted", "artefact"),
    ("rejected", "rep", "pending", "artefact"),
    ("withdrawn", "manager", "", "manager"),
]


# The mark makes pytest-django create the test database; the override below keeps it from
# wrapping each test in a transaction, which would hide the committed world from the native
# reader and send every read down the in-transaction fallback (if pytest-django stops
# honouring the override, the reader assertions fail rather than the tests passing there).
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _django_db_marker() -> None:
    """No per-test transaction in this module: tests run as requests do (see ``live``)."""


@dataclass(frozen=True)
class World:
    org: Org
    pool: Pool


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    with committed_world(django_db_blocker):
        org = make_org()
        yield World(org, make_pool(org))


@pytest.fixture
def live(world: World, django_db_blocker: Any) -> Iterator[World]:
    """The world, with database access outside any transaction (as a request has); the deals
    a test creates are deleted after it."""
    with django_db_blocker.unblock(), deals_removed_after():
        yield world


def _assert_production_reader(served: list[str]) -> None:
    assert served, "no read went through read_frame"
    assert set(served) == {production_reader()}, served


def _write_evidence(deals: list[Opportunity], picks: list[list[Any]], keys: list[str]) -> None:
    now = timezone.now()
    Evidence.objects.bulk_create(
        [
            Evidence(
                opportunity=deal,
                criterion_key=key,
                state=pick[0],
                level=pick[1],
                buyer_claim=pick[2],
                source=pick[3],
                note="seen",
                rejection_reason="not what the buyer said"
                if pick[0] == "rejected" or pick[2] == "rejected"
                else "",
                recorded_at=now,
                updated_at=now,
            )
            for deal, row in zip(deals, picks, strict=True)
            for key, pick in zip(keys, row, strict=True)
            if pick is not None
        ]
    )


@EXAMPLES
@given(data=st.data(), as_of_zone=st.sampled_from(ZONES))
def test_inspection_and_explanation_agree_with_evidence(
    live: World, data: st.DataObject, as_of_zone: Any
) -> None:
    org, pool = live.org, live.pool
    # Given manager_a's team plus rep_b1, whose deals manager_a may not see
    owners = [org.rep_a1, org.rep_a2, org.manager_a, org.rep_b1]
    specs = data.draw(st.lists(deal_specs(len(owners)), min_size=1, max_size=6))
    keys = list(
        ExitCriterion.objects.filter(stage__version=pool.version)
        .order_by("stage__position", "position")
        .values_list("key", flat=True)
    )
    picks = data.draw(
        st.lists(
            st.lists(st.sampled_from(EVIDENCE_CHOICES), min_size=len(keys), max_size=len(keys)),
            min_size=len(specs),
            max_size=len(specs),
        )
    )
    as_of = AS_OF.astimezone(as_of_zone)
    user = org.manager_a
    with deals_removed_after():
        with transaction.atomic():  # committed: the native reader sees committed rows only
            deals = write_deals(pool, owners, specs)
            _write_evidence(deals, picks, keys)
        by_id = dict(zip((d.pk for d in deals), specs, strict=True))
        visible = {pk for pk, s in by_id.items() if s.owner != 3}
        visible_open = {d.pk for d in deals if d.pk in visible and d.stage.kind == StageKind.OPEN}

        # When the pipeline is inspected as the inspection page does
        with recorded_reads() as served:
            result = inspect_pipeline(
                user=user, as_of=as_of, include_closed=True, with_statuses=True
            )
            open_only = inspect_pipeline(user=user, as_of=as_of)
            # The admin's whole-database read takes the unfiltered path.
            everyone = inspect_pipeline(
                user=org.admin, as_of=as_of, include_closed=True, with_statuses=True
            )
        _assert_production_reader(served)

        # Then it holds exactly the deals the user may see ...
        assert set(result.deals["opportunity_id"]) == visible
        assert set(open_only.deals["opportunity_id"]) == visible_open
        assert set(result.signals["opportunity_id"]) <= visible_open
        statuses = {
            (r["opportunity_id"], r["criterion_id"]): r["status"]
            for r in result.statuses.to_dicts()
        }
        rows = {r["opportunity_id"]: r for r in result.deals.to_dicts()}
        for deal in (d for d in deals if d.pk in visible):
            # ... the explained form's loader is faithful to what was written (so agreement
            # is not vacuous) ...
            snapshot = opportunity_snapshot(user=user, opportunity_id=deal.pk)
            assert snapshot == expected_snapshot(pool, deal, by_id[deal.pk])
            # ... and every criterion, the verified stage and control agree with it
            explained = explain_criteria(user=user, opportunity_id=deal.pk, as_of=as_of)
            for stage in explained.stages:
                for view in stage.criteria:
                    assert statuses[(deal.pk, view.criterion.id)] == view.status, view.reason
            row = rows[deal.pk]
            assert (row["verified_stage"], row["under_control"], row["first_gap"]) == (
                explained.verified_stage,
                explained.under_control,
                explained.first_gap,
            )
            assert row["unmet_before"] == len(explained.unmet_ids(through_claimed=False))

        # The admin sees every deal, with the same answers for those both can see.
        assert set(everyone.deals["opportunity_id"]) == set(by_id)
        mine = everyone.statuses.filter(pl.col("opportunity_id").is_in(list(visible)))
        assert mine.sort("opportunity_id", "criterion_id").equals(
            result.statuses.sort("opportunity_id", "criterion_id")
        )


def _rule_statuses(
    criteria: list[tuple[str, Any]], scope: Any, as_of: Any
) -> dict[tuple[int, str], str]:
    """Statuses of ``criteria`` on the deals of ``scope``: the aggregates read as inspection
    reads them (:func:`inspection.deal_aggregates`, production reader), evaluated as inspection
    evaluates them (:func:`control_frame`)."""
    plan = CriteriaPlan(criteria, as_of, opportunity_schema(inspection.AMOUNT_SCALE), SCALES)
    with consistent_reads() as reads:
        wide, _ = inspection.deal_aggregates(plan, scope, as_of, reads, visible=scope.values("id"))
    metas = [CriterionMeta(cid, "rep", needs_evidence=False, has_rule=True) for cid, _ in criteria]
    # One open stage holding every rule: only the statuses matter here.
    wide = wide.with_columns(stage_key=pl.lit("s"), stage_kind=pl.lit("open"))
    codes = evidence_codes(pl.DataFrame(schema=EVIDENCE_SCHEMA), [cid for cid, _ in criteria])
    _, statuses = control_frame(
        wide, plan, StageCriteria(["s"], [metas]), codes, with_statuses=True
    )
    assert statuses is not None
    return {(r["opportunity_id"], r["criterion_id"]): r["status"] for r in statuses.to_dicts()}


@EXAMPLES
@given(data=st.data(), extra_rules=st.lists(rules(2), min_size=1, max_size=4))
def test_sql_aggregates_agree_with_the_explained_rules(
    live: World, data: st.DataObject, extra_rules: list[dict[str, Any]]
) -> None:
    org, pool = live.org, live.pool
    owners = [org.rep_a1, org.rep_a2]
    specs = data.draw(st.lists(deal_specs(len(owners)), min_size=1, max_size=6))
    criteria = [(f"r{i}", rule) for i, rule in enumerate(extra_rules)]
    with deals_removed_after():
        with transaction.atomic():
            deals = write_deals(pool, owners, specs)
        scope = Opportunity.objects.filter(pk__in=[d.pk for d in deals])
        with recorded_reads() as served:
            got = _rule_statuses(criteria, scope, AS_OF)
        _assert_production_reader(served)
        for deal in deals:
            snapshot = opportunity_snapshot(user=org.admin, opportunity_id=deal.pk)
            for cid, rule in criteria:
                expected = evaluate_criterion({"rule": rule}, snapshot, AS_OF, SCALES).status
                assert got[(deal.pk, cid)] == expected, (rule, deal.pk)


def test_query_count_does_not_grow_with_the_pipeline(live: World) -> None:
    org = live.org

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries, recorded_reads() as served:
            result = inspect_pipeline(user=org.manager_a, as_of=AS_OF)
        _assert_production_reader(served)
        # Statements on Django's connection plus reads on the native one.
        native = [r for r in served if r != DJANGO]
        return len(queries.captured_queries) + len(native), result.deals.height

    for _ in range(3):
        make_opportunity(owner=org.rep_a1)
    few_queries, few = count()
    for _ in range(12):
        make_opportunity(owner=org.rep_a2)
    many_queries, many = count()
    assert (few, many) == (3, 15)
    assert few_queries == many_queries


def test_each_user_inspects_only_the_deals_they_may_see(live: World) -> None:
    org = live.org
    deals = {
        name: make_opportunity(owner=getattr(org, name)) for name in ("rep_a1", "rep_a2", "rep_b1")
    }
    expected = {
        org.rep_a1: {"rep_a1"},
        org.rep_b1: {"rep_b1"},
        org.manager_a: {"rep_a1", "rep_a2"},
        org.manager_b: {"rep_b1"},
        org.admin: {"rep_a1", "rep_a2", "rep_b1"},
        org.rep_solo: set(),
    }
    with recorded_reads() as served:
        seen = {user: inspect_pipeline(user=user, as_of=AS_OF) for user in expected}
    _assert_production_reader(served)
    for user, names in expected.items():
        assert set(seen[user].deals["opportunity_id"]) == {deals[n].pk for n in names}, user
    # An empty pipeline still has the result's schemas.
    nothing = seen[org.rep_solo]
    assert nothing.deals.schema == pl.Schema(inspection.DEALS_SCHEMA)
    assert nothing.statuses.schema == pl.Schema(inspection.STATUSES_SCHEMA)
    assert nothing.signals.schema == pl.Schema(RISK_SIGNALS_SCHEMA)


def test_rep_inspects_only_own_deals_and_probing_ids_yields_nothing(live: World) -> None:
    org = live.org
    mine = make_opportunity(owner=org.rep_a1)
    other = make_opportunity(owner=org.rep_b1)
    result = inspect_pipeline(user=org.rep_a1, as_of=AS_OF)
    assert result.deals["opportunity_id"].to_list() == [mine.pk]
    # A few named deals read on Django's connection (quicker than opening the native one);
    # none the user may see here, so nothing is read past the scope's first query.
    with recorded_reads() as served:
        probed = inspect_pipeline(user=org.rep_a1, as_of=AS_OF, opportunity_ids=[other.pk])
        named = inspect_pipeline(user=org.rep_a1, as_of=AS_OF, opportunity_ids=[mine.pk])
    assert set(served) == {DJANGO}
    assert named.deals["opportunity_id"].to_list() == [mine.pk]
    assert probed.deals.is_empty()
    assert probed.signals.is_empty()
    assert probed.statuses.is_empty()
    everyone = inspect_pipeline(user=org.admin, as_of=AS_OF)
    assert set(everyone.deals["opportunity_id"]) == {mine.pk, other.pk}
    assert everyone.deals.schema == pl.Schema(inspection.DEALS_SCHEMA)
    # The explained form's loader applies the same rule.
    with pytest.raises(NotFound):
        opportunity_snapshot(user=org.rep_a1, opportunity_id=other.pk)
    with pytest.raises(NotFound):
        opportunity_snapshot(user=org.manager_a, opportunity_id=other.pk)
    assert opportunity_snapshot(user=org.manager_b, opportunity_id=other.pk).id == other.pk
    with CaptureQueriesContext(connection) as queries:
        opportunity_snapshot(user=org.rep_a1, opportunity_id=mine.pk)
    assert len(queries.captured_queries) == 5


def test_signals_and_risk_for_one_deal(live: World) -> None:
    org = live.org
    deal = make_opportunity(owner=org.rep_a1)
    Opportunity.objects.filter(pk=deal.pk).update(
        next_step="",
        close_date=(AS_OF - timedelta(days=3)).date(),
        stage_entered_at=AS_OF - timedelta(days=100),
        created_at=AS_OF - timedelta(days=120),
    )
    with recorded_reads() as served:
        result = inspect_pipeline(user=org.rep_a1, as_of=AS_OF)
    _assert_production_reader(served)
    fired = dict(zip(result.signals["signal"], result.signals["reason"], strict=True))
    assert fired["close_date_past"] == "close date Mar 28, 2026 is 3 days past"
    assert fired["no_next_step"] == "no next step recorded"
    assert fired["no_recent_activity"] == "no activity since created 120 days ago"
    assert fired["stalled_in_stage"].startswith("100 days in ")
    assert "close_date_pushed" not in fired
    # No fitted model: the process weights through the fallback mapping, not capped.
    expected = RiskModel.fallback(
        dict(zip(result.signals["signal"], result.signals["weight"], strict=True))
    ).probability(result.signals["signal"])
    assert result.deals["risk_probability"].to_list() == [pytest.approx(expected)]
    assert result.deals["risk"].to_list() == [round(expected * 100)]
    assert result.deals["risk"][0] < 100


def test_snoozes_apply_alike_in_both_forms(live: World) -> None:
    """The golden rule with snoozes: a snoozed signal adds nothing in either form, a snoozed deal
    keeps its risk, an expired snooze does nothing; deal by deal, on committed data read the
    production way."""
    org = live.org
    deals = [make_opportunity(owner=org.rep_a1) for _ in range(2)]
    Opportunity.objects.filter(pk__in=[d.pk for d in deals]).update(
        next_step="",
        close_date=(AS_OF - timedelta(days=3)).date(),
        stage_entered_at=AS_OF - timedelta(days=100),
        created_at=AS_OF - timedelta(days=120),
    )
    until = (AS_OF + timedelta(days=10)).date()
    snooze = partial(snooze_create, user=org.manager_a, reason="Fiscal year in March")
    snooze(opportunity_id=deals[0].pk, signal="no_next_step", until=until, now=AS_OF)
    snooze(opportunity_id=deals[1].pk, until=until, now=AS_OF)
    snooze(  # expired five days before AS_OF
        opportunity_id=deals[1].pk,
        signal="close_date_past",
        until=(AS_OF - timedelta(days=5)).date(),
        now=AS_OF - timedelta(days=20),
    )
    with recorded_reads() as served:
        result = inspect_pipeline(user=org.manager_a, as_of=AS_OF)
    _assert_production_reader(served)
    fired = {
        d.pk: set(result.signals.filter(opportunity_id=d.pk)["signal"].to_list()) for d in deals
    }
    assert fired[deals[1].pk] >= {"close_date_past", "no_next_step"}
    assert fired[deals[0].pk] == fired[deals[1].pk] - {"no_next_step"}
    weights = dict(zip(result.signals["signal"], result.signals["weight"], strict=True))
    for deal in deals:
        row = result.deals.filter(opportunity_id=deal.pk).row(0, named=True)
        expected = RiskModel.fallback(weights).probability(fired[deal.pk])
        assert row["risk_probability"] == pytest.approx(expected)
        one = inspect_opportunity(user=org.manager_a, opportunity_id=deal.pk, as_of=AS_OF)
        assert {s["signal"] for s in one.signals} == fired[deal.pk]
        assert (one.risk, one.risk_probability) == (row["risk"], pytest.approx(expected))
        assert sorted(z.pk for z in one.snoozes) == sorted(
            result.snoozes.filter(opportunity_id=deal.pk)["snooze_id"]
        )
    assert result.snoozes.filter(signal="")["opportunity_id"].to_list() == [deals[1].pk]


WINDOW_EDGES = [
    (timedelta(0), True),  # exactly as_of: happened
    (timedelta(microseconds=1), False),  # just after as_of: planned, not happened
    (-timedelta(days=30, hours=15, minutes=30), True),  # midnight UTC of the window start
    (-timedelta(days=30, hours=15, minutes=30, microseconds=1), False),  # just before it
]


@pytest.mark.parametrize(("offset", "counts"), WINDOW_EDGES)
def test_sql_window_bounds_match_the_explained_form(
    live: World, offset: timedelta, counts: bool
) -> None:
    # AS_OF is 15:30 UTC, so AS_OF - 30 days 15:30 is midnight of the window's first day.
    org = live.org
    deal = make_opportunity(owner=org.rep_a1)
    deal.activities.create(type="call", occurred_at=AS_OF + offset, owner=org.rep_a1, subject="x")
    rule = {"activity": {"type": ["call"], "within_days": 30}}
    scope = Opportunity.objects.filter(pk=deal.pk)
    plan = CriteriaPlan([("r", rule)], AS_OF)
    column = plan.activity_column(("call",), 30)
    # The raw count (what a deal with an activity after as_of is re-read with) ...
    with consistent_reads():
        raw = inspection._raw_activity_frame(plan, scope.values("id"), AS_OF, [(("call",), 30)])
    assert raw[column].to_list() == [1 if counts else 0]
    # ... and the stored summary, as inspection reads it, answer the same (for the activity
    # after as_of, the summary hands the deal to the raw read).
    with consistent_reads() as reads:
        wide, _ = inspection.deal_aggregates(plan, scope, AS_OF, reads, visible=scope.values("id"))
    assert wide[column].to_list() == [1 if counts else 0]
    snapshot = opportunity_snapshot(user=org.admin, opportunity_id=deal.pk)
    explained = evaluate_criterion({"rule": rule}, snapshot, AS_OF).status
    assert explained == ("met" if counts else "unmet")
    assert _rule_statuses([("r", rule)], scope, AS_OF) == {(deal.pk, "r"): explained}


@pytest.mark.parametrize(("offset", "counts"), WINDOW_EDGES)
def test_sql_engaged_window_bounds_match_the_explained_form(
    live: World, offset: timedelta, counts: bool
) -> None:
    org = live.org
    deal = make_opportunity(owner=org.rep_a1)
    contact = make_contact(deal.account)
    activity = deal.activities.create(
        type="call", occurred_at=AS_OF + offset, owner=org.rep_a1, subject="x"
    )
    activity.contacts.set([contact])
    rule = {"contacts_engaged": {"min": 1, "within_days": 30}}
    scope = Opportunity.objects.filter(pk=deal.pk)
    plan = CriteriaPlan([("r", rule)], AS_OF)
    column = plan.engaged_column(30)
    with consistent_reads():
        raw = inspection._raw_engaged_frame(plan, scope.values("id"))
    assert raw.filter(pl.col("opportunity_id") == deal.pk)[column].to_list() == (
        [1] if counts else ([0] if raw.height else [])
    )
    with consistent_reads() as reads:
        wide, _ = inspection.deal_aggregates(plan, scope, AS_OF, reads, visible=scope.values("id"))
    assert wide[column].to_list() == [1 if counts else 0]
    snapshot = opportunity_snapshot(user=org.admin, opportunity_id=deal.pk)
    explained = evaluate_criterion({"rule": rule}, snapshot, AS_OF).status
    assert explained == ("met" if counts else "unmet")
    assert _rule_statuses([("r", rule)], scope, AS_OF) == {(deal.pk, "r"): explained}
