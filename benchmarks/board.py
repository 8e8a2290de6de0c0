"""``bin/bench board``: the pipeline board under concurrent load, on the demo data (issue 12).

For each database (SQLite, the embedded default, and PostgreSQL) it:

1. builds or reuses the demo (``milepost demo``: the real Maven CRM dataset and its synthetic
   history) in a benchmark database of its own: ``var/bench/board/milepost.sqlite3`` and the
   PostgreSQL database ``milepost_bench_board`` (``MILEPOST_BENCH_BOARD_PG_URL`` changes it);
2. starts gunicorn (sync workers, ``--workers``) on it;
3. per role (managers, reps, leaders), runs Locust headless for ``--duration`` seconds with
   ``--users`` concurrent users, each signed in as one of the role's demo users (round robin)
   (a session opened beforehand, so no password hashing weighs on the run) and opening the
   board for their team over and over (the page, then its control dots), with
   ``--wait`` seconds between iterations;
4. prints one table: role, request, requests, req/s, p50, p95, p99, errors.

Not part of ``bin/test``: it takes minutes and measures the machine as much as the code.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SQLITE_DIR = REPO / "var" / "bench" / "board"
PG_URL = os.environ.get(
    "MILEPOST_BENCH_BOARD_PG_URL", "postgres://postgres@127.0.0.1:5432/milepost_bench_board"
)
ROLES = {"manager": "manager", "rep": "rep", "leader": "leader"}
LOCUSTFILE = Path(__file__).resolve().parent / "board_locustfile.py"
TARGET_P95_MS = 300  # issue 12: a manager's board under 300 ms at p95


@dataclass(frozen=True)
class Row:
    database: str
    role: str
    name: str
    requests: int
    rps: float
    p50: float
    p95: float
    p99: float
    errors: int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--roles", default="manager,rep,leader", help="comma separated")
    parser.add_argument("--users", type=int, default=10, help="concurrent users per role")
    parser.add_argument("--duration", type=int, default=60, help="seconds per role")
    parser.add_argument("--wait", default="1,2", help="seconds between a user's boards: min,max")
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2)
    parser.add_argument("--port", type=int, default=0, help="gunicorn port (0: a free one)")
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    parser.add_argument(
        "--src",
        type=Path,
        default=REPO / "src",
        help="the source tree gunicorn serves (an older commit's worktree, to compare)",
    )


def _database_url(target: str) -> str:
    return f"sqlite:///{SQLITE_DIR / 'milepost.sqlite3'}" if target == "sqlite" else PG_URL


SRC = [REPO / "src"]  # what gunicorn serves; --src replaces it


def _env(target: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=_database_url(target),
        MILEPOST_DATA_DIR=str(SQLITE_DIR),
        MILEPOST_ENV="development",
        MILEPOST_DEBUG="0",  # DEBUG keeps every query in memory and serves slower
        DJANGO_SETTINGS_MODULE="milepost.settings",
        PYTHONPATH=os.pathsep.join(filter(None, [str(SRC[0]), env.get("PYTHONPATH")])),
    )
    return env


def _ensure_pg_database() -> None:
    import psycopg
    from psycopg import sql

    parsed = urllib.parse.urlparse(PG_URL)
    name = parsed.path.lstrip("/")
    conninfo = {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username or "postgres",
        "password": parsed.password,
    }
    with psycopg.connect(**conninfo, dbname="postgres", autocommit=True) as db:
        exists = db.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _bin(name: str) -> str:
    """A console script of this interpreter's environment (gunicorn, locust, milepost)."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)


def prepare(target: str) -> dict[str, list[list[str]]]:
    """Build or reuse the demo in the target; return ``[username, session key]`` pairs by
    role (a signed-in session for each demo user of the roles)."""
    SQLITE_DIR.mkdir(parents=True, exist_ok=True)
    if target == "postgres":
        _ensure_pg_database()
    env = _env(target)
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own console script
        [_bin("milepost"), "demo"], env=env, check=True, stdout=subprocess.DEVNULL
    )
    print(f"[{target}] demo ready in {time.perf_counter() - started:.0f} s", flush=True)
    # Sessions are opened here, not by the load: a sign-in hashes the password (hundreds of
    # milliseconds of CPU by design), which would weigh on the first seconds of every run.
    code = "\n".join(
        [
            "import django, json",
            "django.setup()",
            "from django.conf import settings",
            "from django.test import Client",
            "from milepost.team.models import User",
            "out = {}",
            f"for role in {list(ROLES.values())!r}:",
            "    out[role] = []",
            "    for u in User.objects.filter(role=role, is_active=True).order_by('username'):",
            "        c = Client()",
            "        c.force_login(u)",
            "        key = c.cookies[settings.SESSION_COOKIE_NAME].value",
            "        out[role].append([u.username, key])",
            "print(json.dumps(out))",
        ]
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


LOADS: list[str] = []


def _loadavg() -> str:
    """The 1-minute load average: on a shared machine, how much else wanted the CPU."""
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[0]
    except OSError:
        return "?"


def _warm_up(host: str, session_key: str, workers: int) -> None:
    """A few boards before the clock starts, so each worker has imported and compiled what the
    board needs (templates, URL patterns, Polars) outside the measured run."""
    opener = urllib.request.build_opener()
    opener.addheaders = [("Cookie", f"sessionid={session_key}")]
    for _ in range(workers * 3):
        for path in ("/pipeline/", "/pipeline/controls/?ids=1"):
            try:
                with opener.open(host + path, timeout=60) as response:
                    response.read()
            except urllib.error.HTTPError:
                pass  # an older commit (--src) has no control dots to warm up


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, server: subprocess.Popen, deadline_s: float = 300) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - http://127.0.0.1
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)  # polling a server that is starting, not synchronising a test
    raise RuntimeError(f"gunicorn did not answer {url} within {deadline_s:.0f} s")


def run_locust(
    *, host: str, sessions: list[list[str]], args: argparse.Namespace, workdir: Path
) -> list[dict[str, str]]:
    prefix = workdir / "stats"
    env = dict(os.environ)
    env.update(BENCH_SESSIONS=",".join(f"{u}:{key}" for u, key in sessions), BENCH_WAIT=args.wait)
    subprocess.run(  # noqa: S603 - our own console script and arguments
        [
            _bin("locust"),
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--only-summary",
            "--users",
            str(args.users),
            "--spawn-rate",
            str(args.users),
            "--run-time",
            f"{args.duration}s",
            "--host",
            host,
            "--csv",
            str(prefix),
            "--reset-stats",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        check=False,  # locust exits 1 when any request failed; the table shows the errors
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "locust.log").open("w"),
    )
    with open(f"{prefix}_stats.csv", newline="") as f:
        return list(csv.DictReader(f))


def _row(target: str, role: str, stats: dict[str, str]) -> Row:
    return Row(
        database=target,
        role=role,
        name=stats["Name"],
        requests=int(stats["Request Count"]),
        rps=float(stats["Requests/s"]),
        p50=float(stats["50%"]),
        p95=float(stats["95%"]),
        p99=float(stats["99%"]),
        errors=int(stats["Failure Count"]),
    )


def bench_target(target: str, roles: list[str], args: argparse.Namespace) -> list[Row]:
    users_by_role = prepare(target)
    port = args.port or _free_port()
    host = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(  # noqa: S603 - our own console script and arguments
        [
            _bin("gunicorn"),
            "milepost.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        env=_env(target),
    )
    rows: list[Row] = []
    try:
        _wait_until_up(f"{host}/login/", server)
        load_before = _loadavg()
        for role in roles:
            sessions = users_by_role.get(ROLES[role], [])
            if not sessions:
                print(f"[{target}] no demo users with role {role}; skipped", flush=True)
                continue
            _warm_up(host, sessions[0][1], args.workers)
            with tempfile.TemporaryDirectory() as tmp:
                stats = run_locust(host=host, sessions=sessions, args=args, workdir=Path(tmp))
            for s in stats:
                if s["Name"] in ("board", "board controls"):
                    rows.append(_row(target, role, s))
            print(f"[{target}] {role}: done", flush=True)
        print(f"[{target}] load average before / after: {load_before} / {_loadavg()}", flush=True)
        LOADS.append(f"{target}: load average (1 min) {load_before} before, {_loadavg()} after")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return rows


def format_report(rows: list[Row], args: argparse.Namespace, *, started: datetime) -> str:
    lines = [
        f"bin/bench board, {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"{_memory_gib()} GiB, Python {platform.python_version()}; gunicorn {args.workers} "
        f"sync workers; Locust {args.users} users per role for {args.duration} s, "
        f"{args.wait} s between a user's boards; serving {SRC[0]}. Times in ms.",
        "",
        "| database | role | request | requests | req/s | p50 | p95 | p99 | errors |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.database} | {r.role} | {r.name} | {r.requests:,} | {r.rps:.1f} | "
            f"{r.p50:.0f} | {r.p95:.0f} | {r.p99:.0f} | {r.errors} |"
        )
    lines.append("")
    lines.extend(f"- {load}" for load in LOADS)
    for r in rows:
        if r.role == "manager" and r.name == "board":
            verdict = "met" if r.p95 < TARGET_P95_MS else "NOT met"
            lines.append(
                f"- {r.database}: a manager's board p95 {r.p95:.0f} ms — target "
                f"< {TARGET_P95_MS} ms {verdict}."
            )
    return "\n".join(lines) + "\n"


def _memory_gib() -> int:
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
        return round(kib / 1024 / 1024)
    except (OSError, ValueError, IndexError):
        return 0


def main(args: argparse.Namespace) -> int:
    started = datetime.now(UTC)
    SRC[0] = args.src.resolve()
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        print(f"unknown roles: {', '.join(unknown)} (choose from {', '.join(ROLES)})")
        return 2
    targets = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    rows: list[Row] = []
    for target in targets:
        rows.extend(bench_target(target, roles, args))
    report = format_report(rows, args, started=started)
    print(report)
    if args.output:
        args.output.write_text(report)
    return 0
