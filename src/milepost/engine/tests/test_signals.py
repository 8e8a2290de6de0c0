"""Inspection signals fire exactly at their thresholds, with readable reasons; risk adds up."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from milepost.engine.process_schema import SIGNALS, ProcessInvalid, parse_process
from milepost.engine.risk_model import FALLBACK_INTERCEPT, FALLBACK_SLOPE, RiskModel
from milepost.engine.signals import (
    DEAL_FACTS_SCHEMA,
    SIGNAL_ACTIONS,
    SignalSettings,
    compute_signals,
    next_actions,
    risk_scores,
)

AS_OF = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
TODAY = AS_OF.date()
DEFAULT = Path(__file__).resolve().parents[2] / "process" / "defaults" / "new_business.yaml"
PROCESS = parse_process(DEFAULT.read_text())
SETTINGS = SignalSettings.of(PROCESS)


def quiet_deal(**overrides: Any) -> dict[str, Any]:
    """A deal with no signal at all; each test changes one thing."""
    deal = {
        "opportunity_id": 1,
        "stage_key": "commit",
        "stage_entered_at": AS_OF - timedelta(days=5),
        "created_at": AS_OF - timedelta(days=40),
        "amount": 1000.0,
        "close_date": TODAY + timedelta(days=30),
        "next_step": "Meet the CFO",
        "next_step_date": TODAY + timedelta(days=3),
        "last_activity_at": AS_OF - timedelta(days=2),
        "engaged_recent": 3,
        "economic_buyers": 1,
        "skips": 0,
        "backs": 0,
        "pushes": 0,
        "pushed_days": 0,
        "original_amount": None,
        "under_control": True,
        "first_gap": None,
        "unmet_before": 0,
    }
    deal.update(overrides)
    return deal


def fired(**overrides: Any) -> dict[str, str]:
    facts = pl.DataFrame([quiet_deal(**overrides)], schema=DEAL_FACTS_SCHEMA, orient="row")
    signals = compute_signals(facts, SETTINGS, AS_OF)
    return dict(zip(signals["signal"], signals["reason"], strict=True))


def test_a_healthy_deal_has_no_signal() -> None:
    assert fired() == {}


@pytest.mark.parametrize(
    ("overrides", "signal", "reason"),
    [
        (
            {"under_control": False, "first_gap": "discover", "unmet_before": 2},
            "criteria_unmet",
            "2 exit criteria of earlier stages not met (first gap: Discover)",
        ),
        (
            {"stage_entered_at": AS_OF - timedelta(days=46)},
            "stalled_in_stage",
            "46 days in Commit to change (max 45)",
        ),
        (
            {"close_date": TODAY - timedelta(days=1)},
            "close_date_past",
            "close date Jun 14, 2026 is 1 day past",
        ),
        ({"pushes": 2, "pushed_days": 45}, "close_date_pushed", "close date pushed 2 times, 45"),
        ({"original_amount": 1500.0}, "amount_changed", "amount cut 33% (1500 → 1000)"),
        ({"original_amount": 800.0}, "amount_changed", "amount raised 25% (800 → 1000)"),
        ({"skips": 1}, "stage_skipped", "skipped over a stage 1 time"),
        ({"backs": 2}, "went_backwards", "moved back to an earlier stage 2 times"),
        ({"next_step": "  "}, "no_next_step", "no next step recorded"),
        (
            {"next_step_date": TODAY - timedelta(days=1)},
            "no_next_step",
            "next step overdue since Jun 14, 2026",
        ),
        ({"engaged_recent": 1}, "single_threaded", "1 contact engaged in the last 60 days"),
        (
            {"stage_key": "evaluate", "economic_buyers": 0},
            "no_economic_buyer",
            "no economic buyer attached",
        ),
        (
            {"last_activity_at": AS_OF - timedelta(days=15)},
            "no_recent_activity",
            "no activity in 15 days",
        ),
        (
            {"last_activity_at": None, "created_at": AS_OF - timedelta(days=20)},
            "no_recent_activity",
            "no activity since created 20 days ago",
        ),
    ],
)
def test_each_signal_fires_with_its_reason(
    overrides: dict[str, Any], signal: str, reason: str
) -> None:
    got = fired(**overrides)
    assert list(got) == [signal]
    assert reason in got[signal]


@pytest.mark.parametrize(
    "overrides",
    [
        {"stage_entered_at": AS_OF - timedelta(days=45)},  # at the max, not above it
        {"close_date": TODAY},  # closing today is not past
        {"original_amount": 1200.0},  # a 16.7% cut is under the 20% threshold
        {"original_amount": 1250.0},  # exactly 20% is not more than 20%
        {"next_step_date": TODAY},  # due today is not overdue
        {"stage_key": "engage", "engaged_recent": 0},  # single-threading starts at discover
        {"stage_key": "commit", "economic_buyers": 0},  # needed by commit's exit, not in it
        {"last_activity_at": AS_OF - timedelta(days=14)},  # 14 days is the threshold itself
        {"last_activity_at": None, "created_at": AS_OF - timedelta(days=10)},  # new deal
    ],
)
def test_thresholds_are_not_crossed(overrides: dict[str, Any]) -> None:
    assert fired(**overrides) == {}


@pytest.mark.parametrize(
    ("original", "amount", "expected"),
    [
        (0.0, 50_000.0, "amount set from 0 to 50000"),  # was a division by zero: a 500
        (0.0, 0.0, None),
        (1.0, 1e20, "amount raised 10000000000000000000000% (1 → 100000000000000000000)"),
    ],
)
def test_amount_changes_from_zero_and_to_huge_values_are_reasons_not_errors(
    original: float, amount: float, expected: str | None
) -> None:
    assert fired(original_amount=original, amount=amount).get("amount_changed") == expected


def test_thresholds_and_weights_come_from_the_process_file() -> None:
    text = DEFAULT.read_text() + (
        "inspection:\n"
        "  no_activity_days: 30\n"
        "  pushes_allowed: 1\n"
        "  single_threaded_from: evaluate\n"
        "  economic_buyer_by: discover\n"
        "  weights: {close_date_past: 40}\n"
    )
    settings = SignalSettings.of(parse_process(text))
    assert settings.no_activity_days == 30
    assert settings.weights["close_date_past"] == 40
    assert settings.weights["no_next_step"] == SETTINGS.weights["no_next_step"]
    facts = pl.DataFrame(
        [
            quiet_deal(
                last_activity_at=AS_OF - timedelta(days=20),
                pushes=1,
                engaged_recent=1,
                economic_buyers=0,
                close_date=TODAY - timedelta(days=2),
            )
        ],
        schema=DEAL_FACTS_SCHEMA,
        orient="row",
    )
    signals = compute_signals(facts, settings, AS_OF)
    # commit is past discover (economic buyer due) but before evaluate (single-threading)
    assert sorted(signals["signal"]) == ["close_date_past", "no_economic_buyer"]
    assert dict(zip(signals["signal"], signals["weight"], strict=True))["close_date_past"] == 40


def test_inspection_stages_must_be_open_stages() -> None:
    text = DEFAULT.read_text() + "inspection:\n  economic_buyer_by: won\n"
    with pytest.raises(ProcessInvalid, match="economic_buyer_by: 'won' is not an open stage"):
        parse_process(text)


def test_default_economic_buyer_stage_is_the_first_rule_that_asks_for_one() -> None:
    assert SETTINGS.economic_buyer_by == SETTINGS.stage_position["commit"]
    assert SETTINGS.single_threaded_from == SETTINGS.stage_position["discover"]


def test_risk_is_a_chance_never_capped_and_priority_is_money_at_risk() -> None:
    facts = pl.DataFrame(
        [
            quiet_deal(opportunity_id=1, amount=2000.0, next_step=""),
            quiet_deal(
                opportunity_id=2,
                under_control=False,
                first_gap="engage",
                unmet_before=3,
                close_date=date(2026, 1, 1),
                stage_entered_at=AS_OF - timedelta(days=90),
                next_step="",
                skips=1,
                pushes=1,
                pushed_days=10,
                last_activity_at=None,
                created_at=AS_OF - timedelta(days=200),
            ),
            quiet_deal(opportunity_id=3),
        ],
        schema=DEAL_FACTS_SCHEMA,
        orient="row",
    )
    signals = compute_signals(facts, SETTINGS, AS_OF)
    risk = {r["opportunity_id"]: r for r in risk_scores(facts, signals).to_dicts()}
    # Without a fitted model: the points through the fallback logistic mapping.
    one = 1 / (
        1 + math.exp(-(FALLBACK_INTERCEPT + FALLBACK_SLOPE * SETTINGS.weights["no_next_step"]))
    )
    assert risk[1]["risk_probability"] == pytest.approx(one)
    assert risk[1]["risk"] == round(one * 100)
    assert risk[1]["priority"] == pytest.approx(2000.0 * one)
    uncapped = int(signals.filter(pl.col("opportunity_id") == 2)["weight"].sum())
    assert uncapped > 100
    # Past 100 points the chance still grows, and is not 100%.
    assert risk[1]["risk"] < risk[2]["risk"] < 100
    assert risk[2]["signal_count"] == 7
    base = 1 / (1 + math.exp(-FALLBACK_INTERCEPT))
    assert risk[3]["risk_probability"] == pytest.approx(base)
    assert risk[3]["signal_count"] == 0
    assert risk[3]["priority"] == pytest.approx(1000.0 * base)


def test_risk_with_a_model_adds_its_coefficients() -> None:
    facts = pl.DataFrame(
        [quiet_deal(opportunity_id=1, amount=1000.0, next_step="")],
        schema=DEAL_FACTS_SCHEMA,
        orient="row",
    )
    signals = compute_signals(facts, SETTINGS, AS_OF)
    model = RiskModel(-1.0, {"no_next_step": 2.0}, "fitted")
    (row,) = risk_scores(facts, signals, model).to_dicts()
    assert row["risk_probability"] == pytest.approx(1 / (1 + math.exp(-1.0)))
    assert row["priority"] == pytest.approx(1000.0 * row["risk_probability"])


def test_next_actions_start_with_the_earliest_unmet_criteria() -> None:
    actions = next_actions(
        PROCESS, "commit", ["stakeholders_identified", "champion_identified"], ["no_next_step"]
    )
    assert actions[0].startswith("Discover: ")
    assert actions[1].startswith("Commit to change: ")
    assert PROCESS.stage("commit").suggested_actions[0] in actions
    assert len(actions) <= 6
    everything = next_actions(PROCESS, "commit", [], ["no_next_step"], limit=20)
    assert everything[-1] == SIGNAL_ACTIONS["no_next_step"]


def test_every_signal_has_a_label_weight_and_fires_somewhere() -> None:
    assert set(SETTINGS.weights) == set(SIGNALS)


def loud_deal(opportunity_id: int) -> dict[str, Any]:
    """A deal that fires every signal."""
    return quiet_deal(
        opportunity_id=opportunity_id,
        stage_key="evaluate",
        under_control=False,
        first_gap="engage",
        unmet_before=2,
        stage_entered_at=AS_OF - timedelta(days=200),
        close_date=TODAY - timedelta(days=3),
        pushes=3,
        pushed_days=40,
        original_amount=2000.0,
        skips=1,
        backs=1,
        next_step="",
        engaged_recent=1,
        economic_buyers=0,
        last_activity_at=None,
        created_at=AS_OF - timedelta(days=300),
    )


@pytest.mark.parametrize(
    "chunks",
    [
        pytest.param([("quiet", 3), ("loud", 5000)], id="quiet chunk first"),
        pytest.param([("loud", 100), ("quiet", 3), ("loud", 5000)], id="quiet chunk between"),
    ],
)
def test_signals_of_facts_in_several_chunks(chunks: list[tuple[str, int]]) -> None:
    """Deal facts come out of a join in several chunks. The streaming engine cuts its input
    into one morsel per thread, so a morsel can hold a short piece of one chunk none of whose
    deals fires a signal, then rows of the next: the signal's filter leaves a zero-length
    chunk there, on which Polars 2.1.0's ``pl.format`` panicked (``assertion failed:
    i < self.len()``; benchmarks from 30,000 deals). A chunk of 3 quiet deals before thousands
    of loud ones is inside the first morsel whatever the thread count. The signals must be
    those of the same facts in one chunk."""
    frames, next_id = [], 1
    for kind, count in chunks:
        deal = quiet_deal if kind == "quiet" else loud_deal
        rows = [deal(opportunity_id=i) for i in range(next_id, next_id + count)]
        frames.append(pl.DataFrame(rows, schema=DEAL_FACTS_SCHEMA, orient="row"))
        next_id += count
    facts = pl.concat(frames, rechunk=False)
    assert facts["opportunity_id"].chunk_lengths() == [count for _, count in chunks]

    signals = compute_signals(facts, SETTINGS, AS_OF)

    assert signals.equals(compute_signals(facts.rechunk(), SETTINGS, AS_OF))
    loud = sum(count for kind, count in chunks if kind == "loud")
    assert signals.height == loud * len(SIGNALS)
