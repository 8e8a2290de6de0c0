"""Every analytics figure on the real public dataset (../shared/data), computed again here.

The checks run in the demo's real-dataset module (``demo/tests/test_real_dataset.py`` collects
them), on its one import of the dataset as ``milepost demo`` does it (dated up to today, with
its synthesised stage history and close-date pushes): importing it costs most of a minute, so
it is done once per database, not once per app that checks it. Each figure the selectors return for
an admin is recomputed in the test from the database by hand-written SQL or a plain Python
replay of the rows (no Polars, none of the code under test), and the two must agree exactly.
The module runs on SQLite and on PostgreSQL (``DATABASE_URL``), so both databases give the
same figures; the all-time win rate is also pinned to the numbers of ../shared/data's
SOURCE.md (4,238 won, 2,473 lost, $10,005,534 won).
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from milepost.analytics.filters import AnalyticsFilters
from milepost.analytics.selectors import (
    conversion_report,
    effectiveness_report,
    figure_deal_ids,
    velocity_report,
    waterfall_report,
)
from milepost.team.models import Role, User


@pytest.fixture
def admin(real_run, db):
    """The demo's sales-ops admin; ``real_run`` is the collecting module's import."""
    return User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()


def _period(days: int = 180) -> AnalyticsFilters:
    today = date.today()
    return AnalyticsFilters(date_from=today - timedelta(days=days - 1), date_to=today)


def _moments(filters: AnalyticsFilters) -> tuple[datetime, datetime]:
    first, last = filters.period()
    return (
        datetime.combine(first, time.min, tzinfo=UTC),
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC),
    )


def _query(sql: str, params: list | tuple = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _aware(value) -> datetime:
    # Raw cursors return aware datetimes on PostgreSQL and naive UTC ones on SQLite.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


# Every transition of the new-business process, each deal's rows in order (by time, then id).
TRANSITIONS_SQL = """
    SELECT t.opportunity_id, t.id, t.moved_at, s.key, s.kind, s.position, t.amount,
           t.close_date
    FROM pipeline_stagetransition t
    JOIN process_stage s ON s.id = t.to_stage_id
    JOIN process_processversion v ON v.id = s.version_id
    JOIN process_salesprocess p ON p.id = v.process_id
    JOIN pipeline_opportunity o ON o.id = t.opportunity_id
    WHERE p.key = 'new_business' AND o.archived_at IS NULL
    ORDER BY t.opportunity_id, t.moved_at, t.id
"""


def _histories(now: datetime) -> dict[int, list[tuple]]:
    deals: dict[int, list[tuple]] = defaultdict(list)
    for deal, pk, at, key, kind, position, amount, close in _query(TRANSITIONS_SQL):
        at = _aware(at)
        if at <= now:
            deals[deal].append((at, pk, key, kind, position, _money(amount), close))
    return deals


def test_all_time_win_rate_is_the_source_md(admin):
    filters = AnalyticsFilters(date_from=date.today() - timedelta(days=366 * 5 - 1))
    rate = conversion_report(user=admin, filters=filters).win_rate
    assert (rate.won, rate.lost) == (4_238, 2_473)
    assert rate.won_amount == Decimal("10005534.00")
    assert round(rate.by_count.value, 4) == 0.6315


def test_win_rate_matches_hand_written_sql(admin):
    filters = _period()
    start, end = _moments(filters)
    # The last transition of each deal (no later one, ties by id) closed it in the period.
    rows = _query(
        """
        SELECT s.kind, COUNT(*), SUM(t.amount)
        FROM pipeline_stagetransition t
        JOIN process_stage s ON s.id = t.to_stage_id
        JOIN pipeline_opportunity o ON o.id = t.opportunity_id
        WHERE s.kind IN ('won', 'lost') AND o.archived_at IS NULL
          AND t.moved_at >= %s AND t.moved_at < %s
          AND NOT EXISTS (
            SELECT 1 FROM pipeline_stagetransition t2
            WHERE t2.opportunity_id = t.opportunity_id
              AND (t2.moved_at > t.moved_at OR (t2.moved_at = t.moved_at AND t2.id > t.id)))
        GROUP BY s.kind
        """,
        [start, end],
    )
    by_kind = {kind: (n, _money(total)) for kind, n, total in rows}
    rate = conversion_report(user=admin, filters=filters).win_rate
    assert by_kind["won"] == (rate.won, rate.won_amount)
    assert by_kind["lost"] == (rate.lost, rate.lost_amount)
    assert rate.won > 100
    assert rate.lost > 50


def test_lead_conversion_matches_hand_written_sql(admin):
    """The demo's synthetic leads give lead -> opportunity -> won a figure (docs/demo-data.md)."""
    filters = _period()
    start, end = _moments(filters)
    (row,) = _query(
        """
        SELECT COUNT(*),
               SUM(CASE WHEN l.converted_at IS NOT NULL THEN 1 ELSE 0 END),
               SUM(CASE WHEN s.kind = 'won' THEN 1 ELSE 0 END)
        FROM pipeline_lead l
        LEFT JOIN pipeline_opportunity o ON o.lead_id = l.id
        LEFT JOIN process_stage s ON s.id = o.stage_id
        WHERE l.created_at >= %s AND l.created_at < %s
        """,
        [start, end],
    )
    funnel = conversion_report(user=admin, filters=filters).leads
    assert (funnel.leads, funnel.converted, funnel.won) == tuple(int(v or 0) for v in row)
    assert funnel.leads > 1_000
    assert 0.2 < funnel.converted / funnel.leads < 0.4
    assert 0 < funnel.won < funnel.converted


def test_funnel_and_cohorts_match_a_plain_replay(admin):
    filters = _period()
    report = conversion_report(user=admin, filters=filters)
    start, end = _moments(filters)
    deals = _histories(report.inputs.as_of)
    open_keys = [c.stage for c in report.cohorts]
    position = {key: i for i, key in enumerate(open_keys)}

    def pos(row) -> int | None:
        _, _, key, kind, _, _, _ = row
        return len(open_keys) if kind == "won" else position.get(key)

    # Funnel: deals created (first row) in the period, by the furthest position reached.
    created = {d: rows for d, rows in deals.items() if start <= rows[0][0] < end}
    reached = [0] * (len(open_keys) + 1)
    for rows in created.values():
        furthest = max((p for p in map(pos, rows) if p is not None), default=-1)
        for step in range(furthest + 1):
            reached[step] += 1
    assert [s.deals for s in report.funnel] == reached
    assert reached[0] == len(created) > 100

    # Cohorts: first entry into each open stage in the period, followed to now.
    for cohort in report.cohorts:
        entered = advanced = won = lost = still_open = 0
        won_amount = Decimal("0.00")
        for rows in deals.values():
            entry = next(
                (i for i, r in enumerate(rows) if r[2] == cohort.stage and start <= r[0] < end),
                None,
            )
            if entry is None:
                continue
            entered += 1
            here = position[cohort.stage]
            later = [pos(r) for r in rows[entry + 1 :]]
            advanced += any(p is not None and p > here for p in later)
            final = rows[-1]
            won += final[3] == "won"
            lost += final[3] == "lost"
            still_open += final[3] == "open"
            if final[3] == "won":
                won_amount += final[5]
        got = (cohort.entered, cohort.advanced, cohort.won, cohort.lost, cohort.open)
        assert got == (entered, advanced, won, lost, still_open), cohort.stage
        assert cohort.won_amount == won_amount, cohort.stage
    assert report.cohorts[0].entered > 100


def test_velocity_matches_a_plain_replay(admin):
    filters = _period()
    report = velocity_report(user=admin, filters=filters)
    start, end = _moments(filters)
    end = min(end, report.inputs.as_of)
    deals = _histories(report.inputs.as_of)
    # Time in stage: visits of open stages that ended in the period.
    days: dict[str, list[float]] = defaultdict(list)
    for rows in deals.values():
        for here, after in itertools.pairwise(rows):
            if here[3] == "open" and start <= after[0] < end:
                days[here[2]].append((after[0] - here[0]).total_seconds() / 86_400)
    for stage, spread in report.time_in_stage.items():
        values = sorted(days[stage])
        assert spread.n == len(values), stage
        if len(values) >= 2:
            assert spread.median == pytest.approx(statistics.median(values)), stage
            cuts = statistics.quantiles(values, n=20, method="inclusive")
            assert spread.p80 == pytest.approx(cuts[15]), stage
            assert spread.p95 == pytest.approx(cuts[18]), stage
    # Open deals at the end of the period: the last row before it is an open stage.
    open_at_end = 0
    for rows in deals.values():
        before = [r for r in rows if r[0] <= end]
        open_at_end += bool(before) and before[-1][3] == "open"
    assert report.velocity.open_deals == open_at_end
    # Won cycle: creation to the closing row, for deals won in the period.
    cycles = [
        (rows[-1][0] - rows[0][0]).total_seconds() / 86_400
        for rows in deals.values()
        if rows[-1][3] == "won" and start <= rows[-1][0] < end
    ]
    assert report.velocity.won_cycle.n == len(cycles)
    assert report.velocity.won_cycle.mean == pytest.approx(statistics.fmean(cycles))
    won_amounts = [
        rows[-1][5]
        for rows in deals.values()
        if rows[-1][3] == "won" and start <= rows[-1][0] < end
    ]
    average = (sum(won_amounts) / len(won_amounts)).quantize(Decimal("0.01"))
    assert report.velocity.average_won_amount == average
    rate = report.velocity.win_rate.by_count.value
    assert report.velocity.per_day == pytest.approx(
        open_at_end * rate * float(average) / statistics.fmean(cycles)
    )


def test_waterfall_matches_a_plain_replay_and_reconciles(admin):
    filters = AnalyticsFilters(
        date_from=date.today() - timedelta(days=89),
        date_to=date.today(),
        scope_from=date.today() - timedelta(days=200),
        scope_to=date.today() + timedelta(days=60),
    )
    report = waterfall_report(user=admin, filters=filters)
    w = report.waterfall
    assert w.reconciles
    start, end = _moments(filters)
    now = report.inputs.as_of
    lo, hi = filters.scope()
    events: dict[int, list[tuple]] = defaultdict(list)
    for deal, rows in _histories(now).items():
        for at, pk, _, kind, _, amount, close in rows:
            events[deal].append((at, 0, pk, kind, amount, close))
    for deal, at, pk, amount, close in _query(
        """
        SELECT c.opportunity_id, c.changed_at, c.id, c.amount_to, c.close_date_to
        FROM pipeline_opportunitychange c
        JOIN pipeline_opportunity o ON o.id = c.opportunity_id
        WHERE o.archived_at IS NULL
        """
    ):
        at = _aware(at)
        if deal in events and at <= now:
            close = date.fromisoformat(close) if isinstance(close, str) else close
            events[deal].append(
                (at, 1, pk, None, None if amount is None else _money(amount), close)
            )
    totals: dict[str, list] = defaultdict(lambda: [0, Decimal("0.00")])
    for rows in events.values():
        state = [None, None, None]  # kind, amount, close date
        inside = False
        first = True
        for at, source, _, kind, amount, close in sorted(rows, key=lambda r: r[:3]):
            was_inside, was_amount = inside, state[1]
            for slot, value in enumerate((kind, amount, close)):
                if value is not None:
                    state[slot] = value
            inside = state[0] == "open" and state[2] is not None and lo <= state[2] <= hi
            creation = first and source == 0
            first = first and source != 0
            if at < start:
                continue
            if at >= end:
                break
            if was_inside and state[1] != was_amount:
                key = "increased" if state[1] > was_amount else "decreased"
                totals[key][1] += state[1] - was_amount
            if inside and not was_inside:
                key = "created" if creation else "pulled_in"
                totals[key][0] += 1
                totals[key][1] += state[1]
            elif was_inside and not inside:
                if state[0] in ("won", "lost"):
                    key = state[0]
                elif state[0] == "open" and state[2] > hi:
                    key = "pushed_out"
                else:
                    key = "moved_out"
                totals[key][0] -= 1
                totals[key][1] -= state[1]
    for key in ("created", "pulled_in", "pushed_out", "increased", "decreased", "won", "lost"):
        bar = w.bar(key)
        assert (bar.count, bar.amount) == tuple(totals[key]), key
    assert (w.bar("moved_out").count, w.bar("moved_out").amount) == tuple(totals["moved_out"])
    assert w.bar("opening").count > 0
    assert w.bar("won").count < 0
    assert w.bar("created").count > 0


def test_the_deals_behind_a_figure_are_the_figure(admin):
    filters = _period()
    report = conversion_report(user=admin, filters=filters)
    engage = report.cohorts[0]
    ids = figure_deal_ids(
        user=admin, filters=filters, figure="cohort", part="won", stage=engage.stage
    )
    assert len(ids) == engage.won
    won = figure_deal_ids(user=admin, filters=filters, figure="closed", part="won")
    assert len(won) == report.win_rate.won


def test_a_managers_figures_are_their_teams(admin):
    """Scoping on real data: a manager's funnel counts the deals of their reps only."""
    from milepost.team.selectors import subordinate_ids

    manager = User.objects.filter(role=Role.MANAGER).order_by("pk").first()
    team = subordinate_ids(manager.pk) | {manager.pk}
    filters = _period()
    start, end = _moments(filters)
    placeholders = ", ".join(["%s"] * len(team))
    ((created,),) = _query(
        f"""
        SELECT COUNT(*) FROM pipeline_opportunity o
        WHERE o.archived_at IS NULL AND o.owner_id IN ({placeholders})
          AND (SELECT MIN(t.moved_at) FROM pipeline_stagetransition t
               WHERE t.opportunity_id = o.id) >= %s
          AND (SELECT MIN(t.moved_at) FROM pipeline_stagetransition t
               WHERE t.opportunity_id = o.id) < %s
        """,
        [*team, start, end],
    )
    mine = conversion_report(user=manager, filters=filters)
    everyone = conversion_report(user=admin, filters=filters)
    assert mine.funnel[0].deals == created
    assert 0 < created < everyone.funnel[0].deals
    as_filter = AnalyticsFilters(**{**filters.model_dump(), "team": manager.pk})
    assert conversion_report(user=admin, filters=as_filter).funnel[0].deals == created


def test_pages_render_the_real_dataset(admin, client):
    client.force_login(admin)
    query = {"date_from": (date.today() - timedelta(days=179)).isoformat()}
    for name in ("conversion", "velocity", "waterfall"):
        response = client.get(f"/analytics/{name}/", query)
        assert response.status_code == 200, name
        html = response.content.decode()
        assert "style=" not in html
        assert "<svg" in html
        assert "/analytics/deals/?" in html


def test_effectiveness_on_the_real_dataset_invents_no_history(admin, client):
    """The imported history went through no gate and has no evidence: every criterion exit is
    unrecorded (never met or not met), and the deals are those created in the period."""
    filters = _period(366 * 5)
    start, end = _moments(filters)
    report = effectiveness_report(user=admin, filters=filters)
    gated = _query(
        "SELECT count(*) FROM pipeline_stagetransition WHERE criteria_result IS NOT NULL"
    )[0][0]
    events = _query("SELECT count(*) FROM evidence_evidenceevent")[0][0]
    assert (gated, events) == (0, 0)
    assert report.frames.exits > 0
    assert report.frames.unrecorded == report.frames.exits
    assert report.frames.criteria.height == 0
    assert report.result is not None
    assert all(c.met == c.not_met == 0 for c in report.result.criteria)
    created = _query(
        """
        SELECT count(*) FROM (
            SELECT t.opportunity_id, min(t.moved_at) AS first
            FROM pipeline_stagetransition t
            JOIN pipeline_opportunity o ON o.id = t.opportunity_id
            WHERE o.archived_at IS NULL
            GROUP BY t.opportunity_id
        ) f WHERE f.first >= %s AND f.first < %s
        """,
        [start, end],
    )[0][0]
    assert report.frames.deals.height == created
    client.force_login(admin)
    response = client.get("/analytics/effectiveness/", filters.query())
    assert response.status_code == 200
    assert "have no recorded criteria result" in response.content.decode()
