"""``python -m benchmarks inspection|board|load|risk [options]`` (``bin/bench inspection``;
``bin/bench board``: :mod:`benchmarks.board`; ``bin/bench load``, load and faults:
:mod:`benchmarks.loadfaults`; ``bin/bench risk``, the risk model's validation:
``benchmarks/risk.py``; ``bin/bench api-docs``: :mod:`benchmarks.api_docs`).

The parent process prepares each target database, then runs one worker subprocess per target
with ``DATABASE_URL`` pointing at it (Django's settings are read once per process), collects
the worker's JSON report and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import date
from pathlib import Path

from benchmarks.inspection import Row, format_table

REPO = Path(__file__).resolve().parent.parent
TARGETS = ("sqlite", "postgres")

README = Path(__file__).resolve().parent / "README.md"
RESULTS_START = "<!-- results:start -->"
RESULTS_END = "<!-- results:end -->"


def _config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 23))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-sample", type=int, default=10_000)


def _config(args: argparse.Namespace):  # -> ScaleConfig (imported lazily: needs Django)
    from benchmarks.scale_data import ScaleConfig

    return ScaleConfig(opportunities=args.opportunities, seed=args.seed, as_of=args.as_of)


def main(argv: list[str] | None = None) -> int:
    # The generator and loader import models; the worker's DATABASE_URL was set by the parent
    # before this process started. The parent never opens a Django connection.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "milepost.settings")
    import django

    django.setup()
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    sub = parser.add_subparsers(dest="command", required=True)
    inspection = sub.add_parser("inspection", help="load the scale pipeline, time inspection")
    _config_args(inspection)
    inspection.add_argument("--db", choices=[*TARGETS, "both"], default="both")
    inspection.add_argument("--reload", action="store_true", help="regenerate and reload")
    inspection.add_argument(
        "--write-results", action="store_true", help="replace the results in benchmarks/README.md"
    )
    from benchmarks import board

    board.add_arguments(sub.add_parser("board", help="the pipeline board under Locust load"))
    from benchmarks import loadfaults

    loadfaults.add_arguments(
        sub.add_parser("load", help="load and faults: 50 users, kill -9, acknowledged writes")
    )
    from benchmarks import api_docs

    api_docs.add_arguments(sub.add_parser("api-docs", help="the API docs page in Chromium"))
    risk = sub.add_parser(
        "risk", help="validate the risk model: synthetic histories and the demo database"
    )
    risk.add_argument("--opportunities", type=int, default=20_000, help="per synthetic pipeline")
    risk.add_argument("--seed", type=int, default=20261207)
    risk.add_argument("--no-demo", action="store_true", help="skip the configured database")
    risk.add_argument("--output", type=Path, help="also write the report to this file")
    worker = sub.add_parser("_worker", help=argparse.SUPPRESS)
    _config_args(worker)
    worker.add_argument("--target", choices=TARGETS, required=True)
    args = parser.parse_args(argv)
    if args.command == "_worker":
        return _worker(args)
    if args.command == "board":
        return board.main(args)
    if args.command == "load":
        return loadfaults.main(args)
    if args.command == "api-docs":
        return api_docs.main(args)
    if args.command == "risk":
        return _risk(args)
    return _inspection(args)


def _risk(args: argparse.Namespace) -> int:
    """The risk model's validation report (see ``benchmarks/risk.py``)."""
    from benchmarks import risk
    from benchmarks.load import log

    lines = [
        f"Run {date.today().isoformat()} on {os.cpu_count()} cores, {_cpu_model()}, "
        f"Python {platform.python_version()}; --opportunities {args.opportunities} "
        f"--seed {args.seed}",
        "",
    ]
    worlds = [
        ("Synthetic history, shipped parameters", None),
        ("Synthetic history, harsh parameters (not shipped)", risk.HARSH),
    ]
    for title, params in worlds:
        log(f"==> {title}")
        part, _ = risk.synthetic(args.opportunities, args.seed, params, title)
        lines += part
    if not args.no_demo:
        log("==> the configured database")
        found = risk.demo()
        lines += found[0] if found else ["### Demo database", "", "Not loaded: skipped.", ""]
    text = "\n".join(lines)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 0


def _worker_env(target: str) -> dict[str, str]:
    from benchmarks.load import database_url

    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(target),
        MILEPOST_ENV="development",
        MILEPOST_DEBUG="0",  # DEBUG would keep every query of the run in memory
        DJANGO_SETTINGS_MODULE="milepost.settings",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    )
    return env


def _inspection(args: argparse.Namespace) -> int:
    from benchmarks.load import log, prepare_target

    targets = list(TARGETS) if args.db == "both" else [args.db]
    reports = {}
    for target in targets:
        already = prepare_target(target, _config(args), reload=args.reload)
        log(f"==> {target}: {'reusing the loaded data' if already else 'generating and loading'}")
        command = [
            sys.executable,
            "-m",
            "benchmarks",
            "_worker",
            "--target",
            target,
            "--opportunities",
            str(args.opportunities),
            "--seed",
            str(args.seed),
            "--as-of",
            args.as_of.isoformat(),
            "--repeat",
            str(args.repeat),
            "--baseline-sample",
            str(args.baseline_sample),
        ]
        done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            command, env=_worker_env(target), cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        if done.returncode != 0:
            log(f"worker for {target} failed with exit code {done.returncode}")
            return done.returncode
        reports[target] = json.loads(done.stdout.strip().splitlines()[-1])
    text = _report(reports, args)
    print(text)
    if args.write_results:
        _write_results(text)
    return 0


def _worker(args: argparse.Namespace) -> int:
    from benchmarks import inspection
    from benchmarks.load import ensure_loaded, log
    from milepost.team.models import User

    config = _config(args)
    stats = ensure_loaded(config, progress=lambda m: log(f"    {args.target}: {m}"))
    inspection.BASELINE_SAMPLE = args.baseline_sample
    admin = User.objects.get(username="bench.admin")
    log(f"    {args.target}: timing ({args.repeat} runs per step) …")
    rows = inspection.time_inspection(args.target, admin, args.repeat)
    print(json.dumps({"load": stats, "rows": [r.as_dict() for r in rows]}))
    return 0


def _report(reports: dict[str, dict], args: argparse.Namespace) -> str:
    load_lines = ["| database | step | seconds | rows |", "|---|---|---:|---:|"]
    for target, report in reports.items():
        load = report["load"]
        state = " (reused)" if load.get("reused") else ""
        for step, seconds in load["seconds"].items():
            load_lines.append(f"| {target}{state} | {step} | {seconds:.1f} | |")
        for table, count in load["rows"].items():
            load_lines.append(f"| {target}{state} | rows | | {table}: {count:,} |")
    rows = [Row(**r) for report in reports.values() for r in report["rows"]]
    cpu = _cpu_model()
    return "\n".join(
        [
            f"Run {date.today().isoformat()} on {os.cpu_count()} cores, {cpu}, "
            f"Python {platform.python_version()}; --opportunities {args.opportunities} "
            f"--repeat {args.repeat}",
            "",
            "Load (seconds of the run that generated the data; a reused database shows the "
            "numbers recorded when it was loaded):",
            "",
            *load_lines,
            "",
            f"Timings (median of {args.repeat}):",
            "",
            format_table(rows),
        ]
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _write_results(text: str) -> None:
    readme = README.read_text()
    block = f"{RESULTS_START}\n{text}\n{RESULTS_END}"
    if RESULTS_START in readme and RESULTS_END in readme:
        head, rest = readme.split(RESULTS_START, 1)
        tail = rest.split(RESULTS_END, 1)[1]
        readme = f"{head}{block}{tail}"
    else:
        readme = f"{readme.rstrip()}\n\n## Latest results\n\n{block}\n"
    README.write_text(readme)


if __name__ == "__main__":
    sys.exit(main())
