"""``bin/bench risk``: does the fitted risk model rank and calibrate, compared with capped points?

Three worlds:

1. the engine's synthetic history with the shipped parameter file, where every outcome is
   known: fit on one simulated pipeline, measure on an independent one (another seed);
2. the same with a parameter file that is not shipped (``benchmarks/params/
   history_risk_harsh.yaml``: more losses, more steps back, slower stages);
3. the demo database, when the configured database holds it: the model ``milepost fit_risk``
   would fit, measured on its held-out deals, and the open deals as the inspection page scores
   them today, before (capped points) and after (the fitted chance).

For each: risk decile against outcome (loss rate, slip rate, lost-or-slipped), AUC, the
calibration table (predicted against observed by band), and the share of open deals at the
maximum (100 points before; 100 % after).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from milepost.engine import risk_model
from milepost.engine.history import load_params, simulate
from milepost.engine.process_schema import SIGNALS, parse_process
from milepost.engine.risk_history import signal_frame, synthetic_history, training_frame
from milepost.engine.risk_model import RiskModel, auc, calibration, deciles, probabilities
from milepost.engine.signals import SignalSettings

HERE = Path(__file__).resolve().parent
HARSH = HERE / "params" / "history_risk_harsh.yaml"
PROCESS_FILE = HERE.parent / "src" / "milepost" / "process" / "defaults" / "new_business.yaml"
START, AS_OF = "2024-06-01", datetime(2026, 6, 1, tzinfo=UTC)


def capped_points(frame: pl.DataFrame, weights: dict[str, int]) -> pl.Series:
    """The old score: the firing signals' points, capped at 100."""
    points = pl.lit(0)
    for s in SIGNALS:
        points = points + pl.col(s).cast(pl.Int64) * weights[s]
    return frame.select(pl.min_horizontal(points, pl.lit(100)).alias("points")).to_series()


def _decile_table(title: str, rows: list[dict[str, Any]], unit: str) -> list[str]:
    out = [
        f"{title}",
        "",
        f"| decile | snapshots | mean score ({unit}) | lost | slipped | lost or slipped |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        score = f"{r['score'] * 100:.1f}" if unit == "%" else f"{r['score']:.1f}"
        out.append(
            f"| {r['decile']} | {r['n']:,} | {score} | {r['loss_rate']:.1%} | "
            f"{r['slip_rate']:.1%} | {r['lost_or_slipped']:.1%} |"
        )
    ratio = rows[-1]["lost_or_slipped"] / max(rows[0]["lost_or_slipped"], 1e-9)
    out += ["", f"Top decile / bottom decile, lost or slipped: {ratio:.2f}x", ""]
    return out


def _calibration_table(rows: list[dict[str, Any]]) -> list[str]:
    out = ["| predicted band | snapshots | predicted | observed |", "|---|---:|---:|---:|"]
    out += [
        f"| {r['band']} | {r['n']:,} | {r['predicted']:.1%} | {r['observed']:.1%} |" for r in rows
    ]
    return [*out, ""]


def _model_table(model: RiskModel) -> list[str]:
    out = ["| signal | coefficient | odds x |", "|---|---:|---:|"]
    for s in sorted(SIGNALS, key=lambda s: -model.coefficient(s)):
        c = model.coefficient(s)
        out.append(f"| {s} | {c:.3f} | {np.exp(c):.2f} |")
    base = model.probability([])
    return [*out, "", f"Intercept {model.intercept:.3f} (chance with no signal {base:.1%}).", ""]


def compare(
    title: str, train: pl.DataFrame, test: pl.DataFrame, open_now: pl.DataFrame, weights: Any
) -> tuple[list[str], dict[str, Any]]:
    """Fit on ``train``, measure on ``test`` (before and after); open deals' share at the max."""
    model = risk_model.fit(train, weights, seed=1)
    y = test["label"].cast(pl.Int64).to_numpy()
    p = probabilities(test, model)
    points = capped_points(test, weights)
    after_auc = auc(y, p.to_numpy())
    before_auc = auc(y, points.to_numpy().astype(float))
    after_deciles = deciles(p, test)
    before_deciles = deciles(points.cast(pl.Float64), test)
    open_p = probabilities(open_now, model) if open_now.height else pl.Series([], dtype=float)
    open_points = capped_points(open_now, weights) if open_now.height else pl.Series([])
    open_pct = (open_p * 100).round(0)
    at_max_after = float(open_pct.eq(100).mean() or 0.0)
    at_max_before = float(open_points.eq(100).mean() or 0.0)
    # Saturation of another kind: how many open deals share the highest score any has.
    top_after = float(open_pct.eq(open_pct.max()).mean() or 0.0) if open_now.height else 0.0
    top_before = float(open_points.eq(open_points.max()).mean() or 0.0) if open_now.height else 0.0
    ratio = after_deciles[-1]["lost_or_slipped"] / max(after_deciles[0]["lost_or_slipped"], 1e-9)
    summary = {
        "auc_before": before_auc,
        "auc_after": after_auc,
        "ratio": ratio,
        "at_max_before": at_max_before,
        "at_max_after": at_max_after,
        "top_before": top_before,
        "top_after": top_after,
    }
    lines = [
        f"### {title}",
        "",
        f"Training: {train['opportunity_id'].n_unique():,} closed deals, {train.height:,} "
        f"snapshots, {train['label'].mean():.1%} lost or slipped; model source: {model.source}. "
        f"Measured on {test['opportunity_id'].n_unique():,} other closed deals "
        f"({test.height:,} snapshots); {open_now.height:,} deals open at the end.",
        "",
        "| | AUC | top / bottom decile | open deals at the maximum | "
        "open deals at the highest score any has |",
        "|---|---:|---:|---:|---:|",
        f"| before: capped points | {_fmt(before_auc)} | "
        f"{_ratio(before_deciles)} | {at_max_before:.1%} (100 points) | "
        f"{top_before:.1%} ({_top(open_points)} points) |",
        f"| after: fitted chance | {_fmt(after_auc)} | {ratio:.2f}x | "
        f"{at_max_after:.1%} (100 %) | {top_after:.1%} ({_top(open_pct)} %) |",
        "",
        *_decile_table("After — deciles of the fitted chance:", after_deciles, "%"),
        *_decile_table(
            "Before — deciles of the capped points (ties broken at random):",
            before_deciles,
            "points",
        ),
        "Calibration of the fitted chance on the measured deals:",
        "",
        *_calibration_table(calibration(p, test["label"])),
        "Fitted model:",
        "",
        *_model_table(model),
    ]
    return lines, summary


def _top(series: pl.Series) -> str:
    return "—" if series.is_empty() else f"{series.max():.0f}"


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _ratio(rows: list[dict[str, Any]]) -> str:
    return f"{rows[-1]['lost_or_slipped'] / max(rows[0]['lost_or_slipped'], 1e-9):.2f}x"


def synthetic(n: int, seed: int, params_file: Path | None, title: str) -> tuple[list[str], Any]:
    process = parse_process(PROCESS_FILE.read_text())
    settings = SignalSettings.of(process)
    params = load_params(params_file) if params_file else load_params()
    # The reps' close-date estimates follow the process's pace: about 1.27 times the median
    # forward cycle (75 days for the shipped file's 59).
    cycle = 1.27 * float(params.expected_exit_days()[-1])
    train_h = synthetic_history(
        simulate(n, seed, START, AS_OF, params), seed=seed, cycle_days=cycle
    )
    test_h = synthetic_history(
        simulate(n, seed + 1, START, AS_OF, params), seed=seed + 1, cycle_days=cycle
    )
    train = training_frame(train_h, settings, AS_OF)
    test = training_frame(test_h, settings, AS_OF)
    open_now = signal_frame(test_h, settings, [AS_OF]).filter(pl.col("outcome") == "open")
    return compare(title, train, test, open_now, dict(settings.weights))


def demo() -> tuple[list[str], Any] | None:
    """The demo database, if the configured database holds it (None otherwise)."""
    from django.utils import timezone

    from milepost.engine.risk_model import holdout
    from milepost.inspection.pipeline import inspect_pipeline
    from milepost.inspection.risk import version_training_frame
    from milepost.pipeline.models import Opportunity
    from milepost.process.selectors import process_definition
    from milepost.team.models import Role, User

    if not Opportunity.objects.filter(external_id__isnull=False).exists():
        return None
    now = timezone.now()
    admin = User.objects.filter(role=Role.ADMIN).order_by("pk").first()
    versions = sorted(set(Opportunity.objects.values_list("stage__version_id", flat=True)))
    lines: list[str] = []
    summary: dict[str, Any] = {}
    for vid in versions:
        settings = SignalSettings.of(process_definition(vid))
        frame = version_training_frame(vid, now)
        if frame.is_empty():
            continue
        held = holdout(frame, risk_model.HOLDOUT_SHARE, vid)
        # The open deals as the inspection page scores them (every signal, not only the
        # reconstructed ones): one indicator column per signal.
        result = inspect_pipeline(user=admin, process_version_id=vid, as_of=now)
        fired = result.signals.select("opportunity_id", "signal").with_columns(
            pl.lit(1, dtype=pl.Int8).alias("one")
        )
        open_now = result.deals.select("opportunity_id")
        if fired.height:
            wide = fired.pivot(on="signal", index="opportunity_id", values="one")
            open_now = open_now.join(wide, on="opportunity_id", how="left")
        for s in SIGNALS:
            if s not in open_now.columns:
                open_now = open_now.with_columns(pl.lit(0, dtype=pl.Int8).alias(s))
        open_now = open_now.with_columns(pl.col(list(SIGNALS)).fill_null(0))
        part, summary = compare(
            f"Demo database, process version {vid}",
            frame.filter(~held),
            frame.filter(held),
            open_now,
            dict(settings.weights),
        )
        lines += part
    return lines, summary
