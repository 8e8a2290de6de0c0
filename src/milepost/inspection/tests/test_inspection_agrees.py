"""The set-based inspection (SQL aggregates + Polars) and the explained form agree, on data
written to whichever database the suite runs on, with evidence in every state.

Generated pipelines reuse the strategies of :mod:`test_frames_agree`; on top of them each deal
gets random evidence (none, active at each level, rejected, withdrawn) for random criteria, and
the property asserts, deal by deal: every criterion's final status, the verified stage, control
and first gap are the same in :func:`inspect_pipeline` and :func:`explain_criteria`. A second
property drives random *rules* through the SQL aggregate path, which is where the window and
distinct-count semantics could drift from the explained form.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milepost.engine.criteria import evaluate_criterion
from milepost.engine.criteria_frames import CriteriaPlan
from milepost.engine.tests.test_criteria_frames import SCALES, ZONES, rules
from milepost.evidence.models import Evidence
from milepost.inspection import services
from milepost.inspection.selectors import opportunity_snapshot
from milepost.inspection.services import explain_criteria, inspect_pipeline
from milepost.inspection.tests.test_frames_agree import AS_OF, Pool, _write, deal_specs, pool
from milepost.pipeline.models import Opportunity
from milepost.process.models import ExitCriterion, StageKind
from milepost.testing.factories import Org, make_contact, make_opportunity

pytestmark = pytest.mark.django_db
__all__ = ["pool"]  # the fixture, imported for its side effect on pytest's collection

EVIDENCE_CHOICES = [
    None,
    ("active", "rep"),
    ("active", "manager"),
    ("active", "buyer"),
    ("rejected", "rep"),
    ("rejected", "buyer"),
    ("withdrawn", "manager"),
]


def _write_evidence(deals: list[Opportunity], picks: list[list[Any]], keys: list[str]) -> None:
    now = timezone.now()
    Evidence.objects.bulk_create(
        [
            Evidence(
                opportunity=deal,
                criterion_key=key,
                state=pick[0],
                level=pick[1],
                note="seen",
                rejection_reason="not what the buyer said" if pick[0] == "rejected" else "",
                recorded_at=now,
                updated_at=now,
            )
            for deal, row in zip(deals, picks, strict=True)
            for key, pick in zip(keys, row, strict=True)
            if pick is not None
        ]
    )


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), as_of_zone=st.sampled_from(ZONES))
def test_inspection_and_explanation_agree_with_evidence(
    org: Org, pool: Pool, data: st.DataObject, as_of_zone: Any
) -> None:
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
    with transaction.atomic():
        deals = _write(pool, owners, specs)
        _write_evidence(deals, picks, keys)
        visible = {d.pk for d, s in zip(deals, specs, strict=True) if s.owner != 3}
        visible_open = {d.pk for d in deals if d.pk in visible and d.stage.kind == StageKind.OPEN}

        result = inspect_pipeline(user=user, as_of=as_of, include_closed=True, with_statuses=True)
        open_only = inspect_pipeline(user=user, as_of=as_of)

        assert set(result.deals["opportunity_id"]) == visible
        assert set(open_only.deals["opportunity_id"]) == visible_open
        assert set(result.signals["opportunity_id"]) <= visible_open
        statuses = {
            (r["opportunity_id"], r["criterion_id"]): r["status"]
            for r in result.statuses.to_dicts()
        }
        rows = {r["opportunity_id"]: r for r in result.deals.to_dicts()}
        for deal_id in visible:
            explained = explain_criteria(user=user, opportunity_id=deal_id, as_of=as_of)
            for stage in explained.stages:
                for view in stage.criteria:
                    assert statuses[(deal_id, view.criterion.id)] == view.status, view.reason
            row = rows[deal_id]
            assert (row["verified_stage"], row["under_control"], row["first_gap"]) == (
                explained.verified_stage,
                explained.under_control,
                explained.first_gap,
            )
            assert row["unmet_before"] == len(explained.unmet_ids(through_claimed=False))

        # The admin's whole-database read takes the unfiltered path; same answers for the deals
        # both can see.
        everyone = inspect_pipeline(
            user=org.admin, as_of=as_of, include_closed=True, with_statuses=True
        )
        assert set(everyone.deals["opportunity_id"]) == {d.pk for d in deals}
        mine = everyone.statuses.filter(pl.col("opportunity_id").is_in(list(visible)))
        assert mine.sort("opportunity_id", "criterion_id").equals(
            result.statuses.sort("opportunity_id", "criterion_id")
        )
        transaction.set_rollback(True)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), extra_rules=st.lists(rules(2), min_size=1, max_size=4))
def test_sql_aggregates_agree_with_the_explained_rules(
    org: Org, pool: Pool, data: st.DataObject, extra_rules: list[dict[str, Any]]
) -> None:
    owners = [org.rep_a1, org.rep_a2]
    specs = data.draw(st.lists(deal_specs(len(owners)), min_size=1, max_size=6))
    criteria = [(f"r{i}", rule) for i, rule in enumerate(extra_rules)]
    with transaction.atomic():
        deals = _write(pool, owners, specs)
        scope = Opportunity.objects.filter(pk__in=[d.pk for d in deals])
        opportunities = services._opportunity_frame(scope, {})
        plan = CriteriaPlan(criteria, AS_OF, opportunities.schema, SCALES)
        # The raw aggregates (every row read) and the stored-facts path inspection takes.
        raw = opportunities
        for frame in services._aggregate_frames(plan, scope.values("id"), AS_OF):
            raw = raw.join(frame, on="opportunity_id", how="left")
        paths = {
            "raw": plan.statuses(plan.fill_counts(raw.lazy())),
            "facts": plan.statuses(services.aggregate_wide(plan, scope, AS_OF)),
        }
        for path, statuses in paths.items():
            got = {
                (r["opportunity_id"], r["criterion_id"]): r["status"] for r in statuses.to_dicts()
            }
            for deal in deals:
                snapshot = opportunity_snapshot(user=org.admin, opportunity_id=deal.pk)
                for cid, rule in criteria:
                    expected = evaluate_criterion({"rule": rule}, snapshot, AS_OF, SCALES).status
                    assert got[(deal.pk, cid)] == expected, (path, rule, deal.pk)
        transaction.set_rollback(True)


def test_query_count_does_not_grow_with_the_pipeline(org: Org, pool: Pool) -> None:
    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            result = inspect_pipeline(user=org.manager_a, as_of=AS_OF)
        return len(queries.captured_queries), result.deals.height

    for _ in range(3):
        make_opportunity(owner=org.rep_a1)
    few_queries, few = count()
    for _ in range(12):
        make_opportunity(owner=org.rep_a2)
    many_queries, many = count()
    assert (few, many) == (3, 15)
    assert few_queries == many_queries


def test_rep_inspects_only_own_deals_and_probing_ids_yields_nothing(org: Org, pool: Pool) -> None:
    mine = make_opportunity(owner=org.rep_a1)
    other = make_opportunity(owner=org.rep_b1)
    result = inspect_pipeline(user=org.rep_a1, as_of=AS_OF)
    assert result.deals["opportunity_id"].to_list() == [mine.pk]
    probed = inspect_pipeline(user=org.rep_a1, as_of=AS_OF, opportunity_ids=[other.pk])
    assert probed.deals.is_empty()
    assert probed.signals.is_empty()
    assert probed.statuses.is_empty()
    everyone = inspect_pipeline(user=org.admin, as_of=AS_OF)
    assert set(everyone.deals["opportunity_id"]) == {mine.pk, other.pk}
    assert everyone.deals.schema == pl.Schema(services.DEALS_SCHEMA)


def test_signals_and_risk_for_one_deal(org: Org, pool: Pool) -> None:
    deal = make_opportunity(owner=org.rep_a1)
    Opportunity.objects.filter(pk=deal.pk).update(
        next_step="",
        close_date=(AS_OF - timedelta(days=3)).date(),
        stage_entered_at=AS_OF - timedelta(days=100),
        created_at=AS_OF - timedelta(days=120),
    )
    result = inspect_pipeline(user=org.rep_a1, as_of=AS_OF)
    fired = dict(zip(result.signals["signal"], result.signals["reason"], strict=True))
    assert fired["close_date_past"] == "close date 2026-03-28 is 3 days past"
    assert fired["no_next_step"] == "no next step recorded"
    assert fired["no_recent_activity"] == "no activity since created 120 days ago"
    assert fired["stalled_in_stage"].startswith("100 days in ")
    assert "close_date_pushed" not in fired
    expected_risk = min(100, int(result.signals["weight"].sum()))
    assert result.deals["risk"].to_list() == [expected_risk]


@pytest.mark.parametrize(
    ("offset", "counts"),
    [
        (timedelta(0), True),  # exactly as_of: happened
        (timedelta(microseconds=1), False),  # just after as_of: planned, not happened
        (-timedelta(days=30, hours=15, minutes=30), True),  # midnight UTC of the window start
        (-timedelta(days=30, hours=15, minutes=30, microseconds=1), False),  # just before it
    ],
)
def test_sql_window_bounds_match_the_explained_form(
    org: Org, pool: Pool, offset: timedelta, counts: bool
) -> None:
    # AS_OF is 15:30 UTC, so AS_OF - 30 days 15:30 is midnight of the window's first day.
    deal = make_opportunity(owner=org.rep_a1)
    deal.activities.create(type="call", occurred_at=AS_OF + offset, owner=org.rep_a1, subject="x")
    rule = {"activity": {"type": ["call"], "within_days": 30}}
    scope = Opportunity.objects.filter(pk=deal.pk)
    opportunities = services._opportunity_frame(scope, {})
    plan = CriteriaPlan([("r", rule)], AS_OF, opportunities.schema)
    (aggregates,) = [
        f for f in services._aggregate_frames(plan, scope.values("id"), AS_OF) if f.height
    ]
    snapshot = opportunity_snapshot(user=org.admin, opportunity_id=deal.pk)
    explained = evaluate_criterion({"rule": rule}, snapshot, AS_OF).status
    column = plan.activity_column(("call",), 30)
    assert aggregates[column].to_list() == [1 if counts else 0]
    # The stored summary answers the same (or, for the activity after as_of, hands the deal
    # to the raw read).
    assert services.aggregate_wide(plan, scope, AS_OF)[column].to_list() == [1 if counts else 0]
    assert explained == ("met" if counts else "unmet")


@pytest.mark.parametrize(
    ("offset", "counts"),
    [
        (timedelta(0), True),
        (timedelta(microseconds=1), False),
        (-timedelta(days=30, hours=15, minutes=30), True),
        (-timedelta(days=30, hours=15, minutes=30, microseconds=1), False),
    ],
)
def test_sql_engaged_window_bounds_match_the_explained_form(
    org: Org, pool: Pool, offset: timedelta, counts: bool
) -> None:
    deal = make_opportunity(owner=org.rep_a1)
    contact = make_contact(deal.account)
    activity = deal.activities.create(
        type="call", occurred_at=AS_OF + offset, owner=org.rep_a1, subject="x"
    )
    activity.contacts.set([contact])
    rule = {"contacts_engaged": {"min": 1, "within_days": 30}}
    scope = Opportunity.objects.filter(pk=deal.pk)
    plan = CriteriaPlan([("r", rule)], AS_OF, services._opportunity_frame(scope, {}).schema)
    raw = services._raw_engaged_frame(plan, scope.values("id"))
    column = plan.engaged_column(30)
    assert raw.filter(pl.col("opportunity_id") == deal.pk)[column].to_list() == (
        [1] if counts else ([0] if raw.height else [])
    )
    assert services.aggregate_wide(plan, scope, AS_OF)[column].to_list() == [1 if counts else 0]
    snapshot = opportunity_snapshot(user=org.admin, opportunity_id=deal.pk)
    explained = evaluate_criterion({"rule": rule}, snapshot, AS_OF).status
    assert explained == ("met" if counts else "unmet")
