"""Inspection signals, risk score and suggested next actions, set-based over a whole pipeline.

A signal is one reason a manager should look at a deal, with the evidence in its reason
("close date pushed 3 times, 74 days in total"). Signals are computed for open deals only, as
Polars expressions over one frame of *deal facts* (one row per deal, see
:data:`DEAL_FACTS_SCHEMA`); the database reader fills that frame with set-based queries. The
same code serves the whole-team list and one deal's page (a frame of one row), so the two can
never disagree.

Risk is a chance, 0-1: a logistic model of the signals that fire (:mod:`.risk_model`), fitted
on closed history per process version, or, without enough history, the process file's
``inspection.weights`` (defaults in :data:`~milepost.engine.process_schema.DEFAULT_WEIGHTS`)
through a fixed logistic mapping; the breakdown is the signal rows themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from milepost.engine.criteria import plain_rule, utc
from milepost.engine.frames import collect, rows_of
from milepost.engine.process_schema import SIGNALS, ProcessDef, StageDef
from milepost.engine.risk_model import (
    FALLBACK_INTERCEPT,
    FALLBACK_SLOPE,
    RiskModel,
    risk_percent,
)
from milepost.engine.stage_time import days_in_stage_expr

DEAL_FACTS_SCHEMA: dict[str, Any] = {
    "opportunity_id": pl.Int64,
    "stage_key": pl.String,
    "stage_entered_at": pl.Datetime("us", "UTC"),
    "created_at": pl.Datetime("us", "UTC"),
    "amount": pl.Float64,
    "close_date": pl.Date,
    "next_step": pl.String,
    "next_step_date": pl.Date,
    "last_activity_at": pl.Datetime("us", "UTC"),
    "engaged_recent": pl.Int64,  # distinct contacts engaged in the last engaged_within_days
    "economic_buyers": pl.Int64,  # contacts attached as economic buyer
    "skips": pl.Int64,  # forward moves that jumped over at least one stage
    "backs": pl.Int64,  # moves back to an earlier open stage
    "pushes": pl.Int64,  # close-date changes to a later date
    "pushed_days": pl.Int64,  # total days of those pushes
    "original_amount": pl.Float64,  # the amount before its first change (null: never changed)
    "under_control": pl.Boolean,
    "first_gap": pl.String,  # first stage with an exit criterion not met
    "unmet_before": pl.Int64,  # exit criteria not met in stages before the claimed one
}
SIGNALS_SCHEMA: dict[str, Any] = {
    "opportunity_id": pl.Int64,
    "signal": pl.String,
    "weight": pl.Int64,
    "reason": pl.String,
}
SIGNAL_LABELS: dict[str, str] = {
    "criteria_unmet": "Exit criteria unmet",
    "stalled_in_stage": "Too long in stage",
    "close_date_past": "Close date past",
    "close_date_pushed": "Close date pushed",
    "amount_changed": "Amount changed",
    "stage_skipped": "Stage skipped",
    "went_backwards": "Went backwards",
    "no_next_step": "No next step",
    "single_threaded": "Single-threaded",
    "no_economic_buyer": "No economic buyer",
    "no_recent_activity": "No recent activity",
}
# What to do about a signal, shown with the next actions of a deal that has it.
SIGNAL_ACTIONS: dict[str, str] = {
    "stalled_in_stage": "Ask the buyer what must happen for them to move on, and by when.",
    "close_date_past": "Re-confirm the decision date with the buyer and update the close date.",
    "close_date_pushed": "Find out what keeps slipping; test the compelling event with the buyer.",
    "amount_changed": "Re-confirm scope and budget with the economic buyer.",
    "stage_skipped": "Go back over the skipped stage's exit criteria with the buyer.",
    "went_backwards": "Agree with the buyer what changed and reset the plan.",
    "no_next_step": "Agree a dated next step with the buyer.",
    "single_threaded": "Engage a second contact: ask your contact who else is affected.",
    "no_economic_buyer": "Ask your champion for a meeting with the economic buyer.",
    "no_recent_activity": "Re-engage the buyer with something useful to them.",
}
assert set(SIGNAL_LABELS) == set(SIGNALS)


def _mentions_role(rule: Any, role: str) -> bool:
    ((kind, spec),) = plain_rule(rule).items()
    if kind == "contact_role":
        return bool(spec["role"] == role)
    if kind in ("all", "any"):
        return any(_mentions_role(child, role) for child in spec)
    if kind == "not":
        return False  # "no economic buyer" is not a requirement to have one
    return False


@dataclass(frozen=True)
class SignalSettings:
    """The thresholds of one process, with stage positions resolved."""

    stage_position: Mapping[str, int]
    stage_label: Mapping[str, str]
    max_days: Mapping[str, int]
    no_activity_days: int
    amount_change_pct: int
    pushes_allowed: int
    engaged_within_days: int
    single_threaded_from: int | None  # stage position
    economic_buyer_by: int | None  # stage position
    weights: Mapping[str, int]

    @classmethod
    def of(cls, process: ProcessDef) -> SignalSettings:
        t = process.thresholds
        open_stages = process.open_stages
        position = {s.key: i for i, s in enumerate(open_stages)}
        single = t.single_threaded_from or (open_stages[1].key if len(open_stages) > 1 else None)
        buyer_by = t.economic_buyer_by or next(
            (
                s.key
                for s in open_stages
                for c in s.exit_criteria
                if c.rule is not None and _mentions_role(c.rule, "economic_buyer")
            ),
            None,
        )
        return cls(
            stage_position=position,
            stage_label={s.key: s.label for s in process.stages},
            max_days={s.key: s.max_days for s in open_stages if s.max_days},
            no_activity_days=t.no_activity_days,
            amount_change_pct=t.amount_change_pct,
            pushes_allowed=t.pushes_allowed,
            engaged_within_days=t.engaged_within_days,
            single_threaded_from=None if single is None else position[single],
            economic_buyer_by=None if buyer_by is None else position[buyer_by],
            weights={name: t.weight(name) for name in SIGNALS},
        )


def _days(expr: pl.Expr) -> pl.Expr:
    return expr.dt.total_days()


def _count(n: pl.Expr, one: str, many: str) -> pl.Expr:
    """``1 day`` / ``3 days``: a count with its noun in the right number (English; the engine
    knows no language, see docs/ui.md)."""
    noun = pl.when(n == 1).then(pl.lit(" " + one)).otherwise(pl.lit(" " + many))
    return pl.concat_str([n.cast(pl.String), noun])


def _date_text(expr: pl.Expr) -> pl.Expr:
    """A date in a reason as the pages' short date shows it in English (``Jun 14, 2026``)."""
    return expr.dt.to_string("%b %-d, %Y")


def _signal(
    name: str, fires: pl.Expr, reason: pl.Expr, weight: int
) -> tuple[str, pl.Expr, pl.Expr, int]:
    """One signal: its name, when it fires, its reason and its weight."""
    return name, fires, reason, weight


def _fmt_amount(expr: pl.Expr) -> pl.Expr:
    """A whole number as text. Rounded in floating point and printed without a cast to an
    integer type, which would fail for values past 2**63 (amounts are bounded at input, but a
    signal must never take a page down)."""
    return expr.round(0).cast(pl.Decimal(38, 0), strict=False).cast(pl.String)


def _format(template: str, *args: pl.Expr) -> pl.Expr:
    """``template`` with each ``{}`` replaced by the next of ``args``: ``pl.format``'s result
    (null where any argument is null), built with ``pl.concat_str``.

    Not ``pl.format`` itself: its kernel in Polars 2.1.0 (``str_format`` in polars-ops) reads
    index 0 of an argument's first chunk, and of the next chunk after finishing one, without
    checking that the chunk is not empty. A zero-length chunk anywhere but last panics with
    ``assertion failed: i < self.len()`` (polars-arrow ``binview``). The deal facts come out
    of a streaming join in one chunk per thread; a streaming morsel of them that holds the
    last deals of one chunk, none of which fires the signal, then rows of the next, comes out
    of the signal's filter with a zero-length chunk first. Polars issues #25339 and #25525
    (open; 2.1.0 is the newest release). ``concat_str`` walks the chunks correctly; see
    ``benchmarks/polars_format_empty_chunk.py``.
    """
    texts = template.split("{}")
    if len(texts) != len(args) + 1:
        raise ValueError(f"{template!r} has {len(texts) - 1} placeholders for {len(args)} args")
    parts: list[pl.Expr] = [pl.lit(texts[0])] if texts[0] else []
    for arg, text in zip(args, texts[1:], strict=True):
        parts.append(arg)
        if text:
            parts.append(pl.lit(text))
    return pl.concat_str(parts)


def compute_signals(
    facts: pl.DataFrame | pl.LazyFrame, settings: SignalSettings, as_of: datetime
) -> pl.DataFrame:
    """Every signal that fires, one row each: ``opportunity_id, signal, weight, reason``."""
    as_of = utc(as_of, "as_of")
    today = as_of.date()
    now = pl.lit(as_of, dtype=pl.Datetime("us", "UTC"))
    position = pl.col("stage_key").replace_strict(
        dict(settings.stage_position), default=None, return_dtype=pl.Int64
    )
    label = pl.col("stage_key").replace_strict(
        dict(settings.stage_label), default=pl.col("stage_key"), return_dtype=pl.String
    )
    max_days = pl.col("stage_key").replace_strict(
        dict(settings.max_days), default=None, return_dtype=pl.Int64
    )
    in_stage = days_in_stage_expr(pl.col("stage_entered_at"), now)
    # A deal first priced at 0 has no percentage change: any amount since is a change.
    from_zero = pl.col("original_amount") == 0
    change_pct = (
        pl.when(from_zero)
        .then(None)
        .otherwise(
            (pl.col("amount") - pl.col("original_amount")).abs() / pl.col("original_amount") * 100
        )
    )
    amount_changed = (
        pl.when(from_zero)
        .then(pl.col("amount") != 0)
        .otherwise(change_pct > settings.amount_change_pct)
    )
    direction = (
        pl.when(pl.col("amount") < pl.col("original_amount"))
        .then(pl.lit("cut"))
        .otherwise(pl.lit("raised"))
    )
    blank_step = pl.col("next_step").fill_null("").str.strip_chars() == ""
    overdue = pl.col("next_step_date") < pl.lit(today)
    quiet_since = pl.coalesce(pl.col("last_activity_at"), pl.col("created_at"))
    quiet = _days(now - quiet_since)
    w = settings.weights
    signals = [
        _signal(
            "criteria_unmet",
            ~pl.col("under_control"),
            _format(
                "{} of earlier stages not met (first gap: {})",
                _count(pl.col("unmet_before"), "exit criterion", "exit criteria"),
                pl.col("first_gap").replace_strict(
                    dict(settings.stage_label), default=pl.col("first_gap"), return_dtype=pl.String
                ),
            ),
            w["criteria_unmet"],
        ),
        _signal(
            "stalled_in_stage",
            in_stage > max_days,
            _format("{} in {} (max {})", _count(in_stage, "day", "days"), label, max_days),
            w["stalled_in_stage"],
        ),
        _signal(
            "close_date_past",
            pl.col("close_date") < pl.lit(today),
            _format(
                "close date {} is {} past",
                _date_text(pl.col("close_date")),
                _count((pl.lit(today) - pl.col("close_date")).dt.total_days(), "day", "days"),
            ),
            w["close_date_past"],
        ),
        _signal(
            "close_date_pushed",
            pl.col("pushes") > settings.pushes_allowed,
            _format(
                "close date pushed {}, {} in total",
                _count(pl.col("pushes"), "time", "times"),
                _count(pl.col("pushed_days"), "day", "days"),
            ),
            w["close_date_pushed"],
        ),
        _signal(
            "amount_changed",
            amount_changed,
            pl.when(from_zero)
            .then(_format("amount set from 0 to {}", _fmt_amount(pl.col("amount"))))
            .otherwise(
                _format(
                    "amount {} {}% ({} → {})",
                    direction,
                    _fmt_amount(change_pct),
                    _fmt_amount(pl.col("original_amount")),
                    _fmt_amount(pl.col("amount")),
                )
            ),
            w["amount_changed"],
        ),
        _signal(
            "stage_skipped",
            pl.col("skips") > 0,
            _format("skipped over a stage {}", _count(pl.col("skips"), "time", "times")),
            w["stage_skipped"],
        ),
        _signal(
            "went_backwards",
            pl.col("backs") > 0,
            _format("moved back to an earlier stage {}", _count(pl.col("backs"), "time", "times")),
            w["went_backwards"],
        ),
        _signal(
            "no_next_step",
            blank_step | overdue,
            pl.when(blank_step)
            .then(pl.lit("no next step recorded"))
            .otherwise(_format("next step overdue since {}", _date_text(pl.col("next_step_date")))),
            w["no_next_step"],
        ),
        _signal(
            "single_threaded",
            (
                (position >= settings.single_threaded_from)
                if settings.single_threaded_from is not None
                else pl.lit(False)
            )
            & (pl.col("engaged_recent") <= 1),
            _format(
                "{} engaged in the last {} days",
                _count(pl.col("engaged_recent"), "contact", "contacts"),
                pl.lit(settings.engaged_within_days),
            ),
            w["single_threaded"],
        ),
        _signal(
            "no_economic_buyer",
            (
                (position > settings.economic_buyer_by)
                if settings.economic_buyer_by is not None
                else pl.lit(False)
            )
            & (pl.col("economic_buyers") == 0),
            pl.lit("no economic buyer attached, past the stage that needs one"),
            w["no_economic_buyer"],
        ),
        _signal(
            "no_recent_activity",
            _days(now - quiet_since) > settings.no_activity_days,
            pl.when(pl.col("last_activity_at").is_null())
            .then(_format("no activity since created {} ago", _count(quiet, "day", "days")))
            .otherwise(_format("no activity in {}", _count(quiet, "day", "days"))),
            w["no_recent_activity"],
        ),
    ]
    # Each signal filters the deals first and writes its reason for those only: formatting a
    # reason for every deal and signal and then dropping most of them was most of the time.
    # Rows come out by deal id, then in signal order, whatever order the deals were read in.
    fired = [
        facts.lazy()
        .filter(fires.fill_null(False))
        .select(
            pl.lit(order, dtype=pl.UInt32).alias("__order"),
            pl.col("opportunity_id").cast(pl.Int64),
            pl.lit(name).alias("signal"),
            pl.lit(weight, dtype=pl.Int64).alias("weight"),
            reason.cast(pl.String).alias("reason"),
        )
        for order, (name, fires, reason, weight) in enumerate(signals)
    ]
    return collect(
        pl.concat(fired)
        .sort("opportunity_id", "__order")
        .select("opportunity_id", "signal", "weight", "reason"),
        rows=rows_of(facts),
    )


def risk_scores(
    facts: pl.DataFrame | pl.LazyFrame,
    signals: pl.DataFrame | pl.LazyFrame,
    model: RiskModel | None = None,
) -> pl.DataFrame:
    """``opportunity_id, risk, risk_probability, signal_count, priority`` for every deal in
    ``facts``.

    ``risk_probability`` is the model's chance that the deal is lost or slips past its period
    (see :mod:`milepost.engine.risk_model`); ``risk`` the same as a whole percent. Without a
    model, the signal rows' points go through the fallback mapping. ``priority`` is amount *
    probability (the money at risk), what the inspection list ranks by.
    """
    if model is None:
        per_signal = pl.col("weight").cast(pl.Float64) * FALLBACK_SLOPE
        intercept = FALLBACK_INTERCEPT
    else:
        per_signal = pl.col("signal").replace_strict(
            {s: model.coefficient(s) for s in SIGNALS}, default=0.0, return_dtype=pl.Float64
        )
        intercept = model.intercept
    totals = (
        signals.lazy()
        .group_by("opportunity_id")
        .agg(per_signal.sum().alias("__z"), pl.len().cast(pl.Int64).alias("signal_count"))
    )
    probability = 1.0 / (1.0 + (-(pl.col("__z").fill_null(0.0) + intercept)).exp())
    return collect(
        facts.lazy()
        .select("opportunity_id", "amount")
        .join(totals, on="opportunity_id", how="left")
        .with_columns(probability.alias("risk_probability"))
        .select(
            "opportunity_id",
            risk_percent(pl.col("risk_probability")).alias("risk"),
            "risk_probability",
            pl.col("signal_count").fill_null(0),
            (pl.col("amount").fill_null(0) * pl.col("risk_probability")).alias("priority"),
        ),
        rows=rows_of(facts),
    )


def next_actions(
    process: ProcessDef,
    stage_key: str,
    unmet: Iterable[str],
    signals: Sequence[str],
    limit: int = 6,
) -> list[str]:
    """What the rep should do next, from the process map: first the unmet criteria (earliest
    stage first, each criterion's guidance or its statement), then the claimed stage's
    suggested actions, then the signals' remedies. No duplicates; at most ``limit``.
    """
    unmet_set = set(unmet)
    actions: list[str] = []
    stages: list[StageDef] = process.open_stages
    keys = [s.key for s in stages]
    upto = keys.index(stage_key) if stage_key in keys else len(keys) - 1
    for stage in stages[: upto + 1]:
        for criterion in stage.exit_criteria:
            if criterion.id in unmet_set:
                text = criterion.guidance or criterion.statement
                actions.append(f"{stage.label}: {text}")
    if stage_key in keys:
        actions += process.stage(stage_key).suggested_actions
    actions += [SIGNAL_ACTIONS[s] for s in signals if s in SIGNAL_ACTIONS]
    return list(dict.fromkeys(actions))[:limit]
