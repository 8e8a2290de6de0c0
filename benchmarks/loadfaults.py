"""``bin/bench load``: load and faults (issue 14). Reps, managers and leaders at once under Locust,
then ``kill -9`` of the server and of PostgreSQL mid-load, and a count of the acknowledged writes
that survived.

For each database (``--db sqlite|postgres|both``):

1. **Data.** The demo (``milepost demo``: the Maven CRM dataset and its synthetic history) is
   built once into a pristine database and reused: SQLite ``var/bench/load/sqlite/`` (the
   default settings: no ``DATABASE_URL``, ``MILEPOST_DATA_DIR`` pointing there); PostgreSQL the
   database ``milepost_load_demo`` of a **private, throwaway cluster** (Debian's ``initdb`` /
   ``pg_ctl``, data dir ``var/bench/load/pg/data``, port ``--pg-port`` 5499, fsync on, run as
   the ``postgres`` OS user when started as root), never the machine's shared server, since it
   is killed. Each run works on a fresh copy (SQLite: the online backup API; PostgreSQL:
   ``CREATE DATABASE ... TEMPLATE``), so runs do not pile their writes on each other.
2. **Load** (``--duration``, default 600 s): gunicorn (``--workers`` x ``--threads``, gthread,
   sized for 2 cores) and Locust (``benchmarks/load_locustfile.py``) with ``--users`` users
   split by ``--mix`` into reps, managers and leaders, ``--wait`` seconds of think time. Every
   request must answer without error; the gunicorn log is searched for "database is locked".
3. **Faults** (same load; ``--fault-interval`` seconds of it, default 30, before each fault):
   ``kill -9`` of the gunicorn master and every worker, and a restart; (PostgreSQL) ``kill -9``
   of the postmaster and its backends, and a restart (crash recovery); gunicorn again; then
   everything at once, left down, and the load stopped ten seconds later. Then (PostgreSQL
   restarted, SQLite's file opened afresh) every write acknowledged in steps 2 and 3 is looked
   up (:mod:`benchmarks.acked`): acknowledged, found, missing (must be 0).
4. Prints the table; ``--output FILE`` also writes it; the raw Locust CSVs and the server
   logs stay in ``var/bench/load/<db>-run/`` (``--keep-raw DIR`` copies them).

Not part of ``bin/test``: it runs for minutes and measures the machine as much as the code.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import acked

REPO = Path(__file__).resolve().parent.parent
BASE = REPO / "var" / "bench" / "load"
LOCUSTFILE = Path(__file__).resolve().parent / "load_locustfile.py"
PG_DEMO_DB = "milepost_load_demo"
PG_RUN_DB = "milepost_load_run"
LOCKED = re.compile(r"database is locked|database table is locked", re.IGNORECASE)
# Pages that do not exist yet; leaders use them as soon as a run finds them (issue 14 asks for
# "leaders on analytics").
ANALYTICS_CANDIDATES = ("/analytics/",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--duration", type=int, default=600, help="seconds of load")
    parser.add_argument(
        "--fault-interval", type=int, default=30, help="seconds of load before each fault; 0: none"
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument(
        "--mix", default="0.6,0.28,0.12", help="shares of reps, managers, leaders among --users"
    )
    parser.add_argument("--wait", default="5,15", help="think time between actions: min,max s")
    parser.add_argument(
        "--rep-deals",
        type=int,
        default=40,
        help="open deals each rep works on (few, with more rep users than reps: conflicts)",
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (2 cores)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--pg-port", type=int, default=5499, help="the private cluster's port")
    parser.add_argument("--pg-bin", type=Path, help="PostgreSQL's bin directory (default: newest)")
    parser.add_argument(
        "--leader-pages",
        default=",".join(ANALYTICS_CANDIDATES),
        help="more pages leaders open, comma separated, used when they answer 200 (analytics)",
    )
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    parser.add_argument("--keep-raw", type=Path, help="copy the raw CSVs and logs to this dir")


# --- the private PostgreSQL cluster ---------------------------------------------------------


def _pg_bin(explicit: Path | None) -> Path:
    if explicit:
        return explicit
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
    )
    if not found:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    return found[-1].parent


@dataclass
class PrivateCluster:
    """A PostgreSQL cluster of our own: its own data dir and port, started and killed at will.

    ``initdb`` refuses to run as root, so as root every command runs as the ``postgres`` OS
    user (``runuser``)."""

    bin: Path
    port: int
    root: Path = BASE / "pg"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{PG_RUN_DB}"

    def _as_owner(self, *command: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return list(command)

    def ensure(self) -> None:
        if not (self.data / "PG_VERSION").exists():
            self.root.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(self.root, "postgres", "postgres")
            subprocess.run(  # noqa: S603 - Debian's initdb, our arguments
                self._as_owner(
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        if not self.running():
            self.start()

    def running(self) -> bool:
        pid = self.postmaster_pid()
        return pid is not None and _alive(pid)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def start(self) -> float:
        """Start (after a crash: crash recovery); returns the seconds until it accepts."""
        started = time.perf_counter()
        self._clear_dead_lock()
        subprocess.run(  # noqa: S603 - Debian's pg_ctl, our arguments
            self._as_owner(
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.root / "postgres.log"),
                "-w",
                "-t",
                "120",
                "-o",
                f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                "-c fsync=on -c synchronous_commit=on -c max_connections=200",
                "start",
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return time.perf_counter() - started

    def _clear_dead_lock(self) -> None:
        """After ``kill -9`` the postmaster stays a zombie until init reaps it, and PostgreSQL
        takes a zombie's pid in ``postmaster.pid`` for a live server. Wait for the reaping;
        a lock file whose process is dead (or a zombie still after 30 s) is removed, as an
        operator would after a crash."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            if _alive(pid):
                return  # really running: pg_ctl will say so
            time.sleep(0.1)  # a zombie: waiting for init to reap it
        (self.data / "postmaster.pid").unlink(missing_ok=True)

    def stop(self) -> None:
        if self.running():
            subprocess.run(  # noqa: S603 - Debian's pg_ctl
                self._as_owner(
                    str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"
                ),
                check=False,
                stdout=subprocess.DEVNULL,
            )

    def kill9(self) -> list[int]:
        """``kill -9`` the postmaster, then any of its backends still alive: a crash."""
        pid = self.postmaster_pid()
        if pid is None or not _alive(pid):
            return []
        children = _children(pid)
        os.kill(pid, signal.SIGKILL)
        for child in children:  # backends exit on postmaster death; make sure, as a crash would
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        _wait_gone([pid, *children])
        return [pid, *children]

    def has_database(self, name: str) -> bool:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres"
        ) as db:
            found = db.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        return found is not None

    def sql(self, dbname: str, statement: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True
        ) as db:
            db.execute(statement)  # type: ignore[arg-type] - our own constant statements


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (killed, not yet reaped) is not alive for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return out


def _wait_gone(pids: list[int], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)  # waiting for killed processes to be reaped by their parent


# --- databases ------------------------------------------------------------------------------


@dataclass
class Target:
    name: str  # sqlite | postgres
    cluster: PrivateCluster | None = None
    label: str = ""

    @property
    def pristine_dir(self) -> Path:
        return BASE / "sqlite"

    @property
    def run_dir(self) -> Path:
        return BASE / f"{self.name}-run"

    def env(self, *, pristine: bool = False) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        env.update(
            MILEPOST_ENV="development",
            MILEPOST_DEBUG="0",
            DJANGO_SETTINGS_MODULE="milepost.settings",
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")])),
        )
        if self.name == "sqlite":
            # The SQLite default: no DATABASE_URL, the file in MILEPOST_DATA_DIR.
            env["MILEPOST_DATA_DIR"] = str(self.pristine_dir if pristine else self.run_dir)
        else:
            assert self.cluster is not None
            db = PG_DEMO_DB if pristine else PG_RUN_DB
            env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{self.cluster.port}/{db}"
            env["MILEPOST_DATA_DIR"] = str(self.run_dir)
        return env

    def prepare(self) -> None:
        """Build the pristine demo once (``milepost demo`` reuses it when already loaded), then
        copy it for this run."""
        self.pristine_dir.mkdir(parents=True, exist_ok=True)
        if self.name == "postgres":
            assert self.cluster is not None
            self.cluster.ensure()
            if not self.cluster.has_database(PG_DEMO_DB):
                self.cluster.sql("postgres", f"CREATE DATABASE {PG_DEMO_DB}")
        started = time.perf_counter()
        subprocess.run(  # noqa: S603 - our own console script
            [_bin("milepost"), "demo"],
            env=self.env(pristine=True),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        log(f"[{self.name}] demo ready in {time.perf_counter() - started:.0f} s")
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir.mkdir(parents=True)
        if self.name == "sqlite":
            for name in ("milepost.sqlite3", "jobs.sqlite3"):
                source = self.pristine_dir / name
                if source.exists():
                    src, dst = sqlite3.connect(source), sqlite3.connect(self.run_dir / name)
                    try:
                        src.backup(dst)
                    finally:
                        dst.close()
                        src.close()
        else:
            assert self.cluster is not None
            self.cluster.sql("postgres", f"DROP DATABASE IF EXISTS {PG_RUN_DB} WITH (FORCE)")
            self.cluster.sql("postgres", f"CREATE DATABASE {PG_RUN_DB} TEMPLATE {PG_DEMO_DB}")

    def read_rows(
        self, deal_ids: set[int], activity_ids: set[int]
    ) -> tuple[dict[int, tuple[int, str]], dict[int, tuple[int, str]]]:
        """The stored state of the acknowledged rows, read straight from the database (a new
        connection: SQLite opens the file afresh and replays its WAL; PostgreSQL has recovered)."""
        deal_sql = "SELECT id, version, next_step FROM pipeline_opportunity WHERE id = ANY(%s)"
        act_sql = "SELECT id, opportunity_id, subject FROM pipeline_activity WHERE id = ANY(%s)"
        if self.name == "sqlite":
            db = sqlite3.connect(self.run_dir / "milepost.sqlite3")
            try:
                deals = _sqlite_rows(db, deal_sql, deal_ids)
                acts = _sqlite_rows(db, act_sql, activity_ids)
            finally:
                db.close()
        else:
            import psycopg

            assert self.cluster is not None
            with psycopg.connect(
                host="127.0.0.1", port=self.cluster.port, user="postgres", dbname=PG_RUN_DB
            ) as db:
                deals = db.execute(deal_sql, [sorted(deal_ids)]).fetchall()  # type: ignore[assignment]
                acts = db.execute(act_sql, [sorted(activity_ids)]).fetchall()  # type: ignore[assignment]
        return (
            {int(r[0]): (int(r[1]), str(r[2])) for r in deals},
            {int(r[0]): (int(r[1]), str(r[2])) for r in acts},
        )


def _sqlite_rows(db: sqlite3.Connection, statement: str, ids: set[int]) -> list[tuple]:
    rows: list[tuple] = []
    ordered = sorted(ids)
    base = statement.replace("= ANY(%s)", "IN ({})")
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        rows.extend(db.execute(base.format(",".join("?" * len(chunk))), chunk).fetchall())
    return rows


# The demo users, each with a session opened beforehand (signing in hashes a password on
# purpose and is not what is measured), and what each of them works on.
_USERS_CODE = """
import django, json, os, sys
django.setup()
from django.conf import settings
from django.test import Client
from milepost.coaching.models import CoachingSession
from milepost.pipeline.models import Opportunity
from milepost.process.models import StageKind
from milepost.team.models import User

def session(u):
    c = Client()
    c.force_login(u)
    return c.cookies[settings.SESSION_COOKIE_NAME].value

def under(leader):
    out, frontier = [], [leader.pk]
    while frontier:
        below = list(User.objects.filter(manager_id__in=frontier, is_active=True))
        out += [u.pk for u in below if u.role == "manager"]
        frontier = [u.pk for u in below]
    return out

users = {"rep": [], "manager": [], "leader": []}
for u in User.objects.filter(is_active=True, role__in=list(users)).order_by("username"):
    row = {"username": u.username, "session": session(u)}
    if u.role == "rep":
        deals = Opportunity.objects.filter(
            owner=u, archived_at__isnull=True, stage__kind=StageKind.OPEN
        ).order_by("id").values_list("id", flat=True)[: int(os.environ["BENCH_REP_DEALS"])]
        row["deals"] = list(deals)
        if not row["deals"]:
            continue
    elif u.role == "manager":
        sessions = CoachingSession.objects.filter(manager=u).order_by("-id")
        row["sessions"] = list(sessions.values_list("id", flat=True)[:20])
    else:
        row["managers"] = under(u)
    users[u.role].append(row)
print(json.dumps(users))
"""


def _bin(name: str) -> str:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)


def log(message: str) -> None:
    print(f"{datetime.now(UTC):%H:%M:%S} {message}", file=sys.stderr, flush=True)


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- gunicorn -------------------------------------------------------------------------------


@dataclass
class Server:
    target: Target
    args: argparse.Namespace
    port: int
    logfile: Path
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> float:
        started = time.perf_counter()
        self.starts += 1
        with self.logfile.open("a") as out:
            out.write(f"\n=== gunicorn start {self.starts} at {datetime.now(UTC):%H:%M:%S} ===\n")
        self.process = subprocess.Popen(  # noqa: S603 - our own console script and arguments
            [
                _bin("gunicorn"),
                "milepost.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.args.workers),
                "--threads",
                str(self.args.threads),
                "--worker-class",
                "gthread",
                "--timeout",
                "120",
                "--log-level",
                "warning",
            ],
            env=self.target.env(),
            stdout=self.logfile.open("a"),
            stderr=subprocess.STDOUT,
        )
        _wait_until_up(f"{self.host}/login/", self.process)
        return time.perf_counter() - started

    def kill9(self) -> list[int]:
        """``kill -9`` the master and every worker at once (workers first collected, so none is
        left to finish its request)."""
        if self.process is None:
            return []
        master = self.process.pid
        pids = [master, *_children(master)]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()
        _wait_gone(pids)
        self.process = None
        return pids

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill9()
        self.process = None


def _wait_until_up(url: str, server: subprocess.Popen, deadline_s: float = 300) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited before answering")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - 127.0.0.1
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)  # polling a server that is starting
    raise RuntimeError(f"gunicorn did not answer {url} within {deadline_s:.0f} s")


def _get(host: str, session: str, path: str) -> int:
    opener = urllib.request.build_opener()
    opener.addheaders = [("Cookie", f"sessionid={session}")]
    try:
        with opener.open(host + path, timeout=120) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def _warm_up(server: Server, users: dict[str, list[dict]]) -> list[str]:
    """A few of each page before the clock starts (imports, templates, Polars in every worker);
    returns the analytics pages that exist (leaders use them when they do)."""
    rep, manager, leader = (users[r][0] for r in ("rep", "manager", "leader"))
    paths = [
        (rep, f"/pipeline/opportunities/{rep['deals'][0]}/"),
        (manager, "/inspection/"),
        (manager, "/coaching/"),
        (leader, "/coaching/leaders/"),
        (leader, "/coaching/digest/"),
    ]
    for _ in range(server.args.workers * 2):
        for user, path in paths:
            _get(server.host, user["session"], path)
    wanted = [p for p in server.args.leader_pages.split(",") if p]
    return [p for p in wanted if _get(server.host, leader["session"], p) == 200]


# --- Locust ---------------------------------------------------------------------------------


def mix(users: int, shares: str) -> tuple[int, int, int]:
    """Split ``users`` by the shares of reps, managers and leaders (each role at least one)."""
    weights = [float(x) for x in shares.split(",")]
    if len(weights) != 3 or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError("--mix needs three non-negative shares: reps,managers,leaders")
    total = sum(weights)
    counts = [max(1, round(users * w / total)) for w in weights]
    counts[0] += users - sum(counts)  # rounding goes to the reps
    return counts[0], counts[1], counts[2]


def locust_command(host: str, users: int, seconds: int, prefix: Path) -> list[str]:
    return [
        _bin("locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "--users",
        str(users),
        "--spawn-rate",
        str(max(1, users // 10)),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "30",
        "--host",
        host,
        "--csv",
        str(prefix),
        "--reset-stats",  # measure from the moment every user is running
        "--loglevel",
        "WARNING",
    ]


@dataclass(frozen=True)
class PageRow:
    name: str
    requests: int
    rps: float
    p50: float
    p95: float
    p99: float
    errors: int


def read_stats(prefix: Path) -> list[PageRow]:
    with open(f"{prefix}_stats.csv", newline="") as f:
        return [
            PageRow(
                name=s["Name"],
                requests=int(s["Request Count"]),
                rps=float(s["Requests/s"]),
                p50=float(s["50%"] if s["50%"] != "N/A" else 0),
                p95=float(s["95%"] if s["95%"] != "N/A" else 0),
                p99=float(s["99%"] if s["99%"] != "N/A" else 0),
                errors=int(s["Failure Count"]),
            )
            for s in csv.DictReader(f)
        ]


def read_failures(prefix: Path) -> list[str]:
    try:
        with open(f"{prefix}_failures.csv", newline="") as f:
            return [
                f"{r['Occurrences']} x {r['Method']} {r['Name']}: {r['Error'][:160]}"
                for r in csv.DictReader(f)
            ]
    except OSError:
        return []


@dataclass
class Phase:
    title: str
    rows: list[PageRow] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    locked: int = 0
    server_errors: int = 0
    load_before: str = ""
    load_after: str = ""
    events: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_locust(
    server: Server,
    *,
    users_file: Path,
    ack_log: Path,
    counts: tuple[int, int, int],
    args: argparse.Namespace,
    seconds: int,
    prefix: Path,
    extra: list[str],
    faults: list[tuple[float, str]] | None = None,
    phase: Phase,
) -> None:
    env = dict(os.environ)
    env.update(
        BENCH_USERS=str(users_file),
        BENCH_ACK_LOG=str(ack_log),
        BENCH_WAIT=args.wait,
        BENCH_MIX=",".join(map(str, counts)),
        BENCH_RUN=f"{prefix.name}-{int(time.time())}",
        BENCH_LEADER_EXTRA=",".join(extra),
    )
    log_mark = server.logfile.stat().st_size if server.logfile.exists() else 0
    phase.load_before = _loadavg()
    locust = subprocess.Popen(  # noqa: S603 - our own console script and arguments
        locust_command(server.host, sum(counts), seconds, prefix),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(prefix.parent / f"{prefix.name}-locust.log").open("w"),
    )
    started = time.monotonic()
    for gap, action in faults or []:
        time.sleep(gap)  # the fault schedule: seconds of load before each fault
        phase.events.append(f"t={time.monotonic() - started:5.1f} s: {action}")
        log(f"[{server.target.name}] fault: {action}")
        ACTIONS[action](server)
        phase.events[-1] += f" — {LAST_EVENT[0]}"
    if faults:
        time.sleep(10)  # requests keep failing against the dead server; then stop the load
        locust.send_signal(signal.SIGTERM)  # Locust writes its CSVs and exits
        phase.seconds = time.monotonic() - started
    locust.wait()
    phase.load_after = _loadavg()
    phase.rows = read_stats(prefix)
    phase.failures = read_failures(prefix)
    text = server.logfile.read_text(errors="replace")[log_mark:]
    phase.locked = len(LOCKED.findall(text))
    phase.server_errors = text.count("Traceback (most recent call last)")


LAST_EVENT = [""]


def _kill_server(server: Server) -> None:
    pids = server.kill9()
    LAST_EVENT[0] = f"kill -9 of gunicorn master and {len(pids) - 1} workers"


def _kill_and_restart_server(server: Server) -> None:
    _kill_server(server)
    seconds = server.start()
    LAST_EVENT[0] += f"; restarted, answering after {seconds:.1f} s"


def _kill_and_restart_postgres(server: Server) -> None:
    cluster = server.target.cluster
    assert cluster is not None
    pids = cluster.kill9()
    seconds = cluster.start()
    LAST_EVENT[0] = (
        f"kill -9 of the postmaster (and its {len(pids) - 1} backends); "
        f"restarted (crash recovery), accepting after {seconds:.1f} s"
    )


def _kill_everything(server: Server) -> None:
    _kill_server(server)
    if server.target.cluster is not None:
        pids = server.target.cluster.kill9()
        LAST_EVENT[0] += f"; kill -9 of the postmaster (and {len(pids) - 1} backends)"
    LAST_EVENT[0] += "; left down until the load ends"


ACTIONS = {
    "gunicorn": _kill_and_restart_server,
    "postgres": _kill_and_restart_postgres,
    "everything": _kill_everything,
}


def fault_schedule(target: str, interval: float) -> list[tuple[float, str]]:
    """(seconds of load before it, fault), in order; PostgreSQL's only on PostgreSQL."""
    plan = ["gunicorn", *(["postgres"] if target == "postgres" else []), "gunicorn", "everything"]
    return [(interval, action) for action in plan]


# --- one database ---------------------------------------------------------------------------


@dataclass
class Result:
    target: Target
    load: Phase
    faults: Phase | None
    reconciliation: acked.Reconciliation | None
    conflicts: int
    extra: list[str]


def bench_target(target: Target, args: argparse.Namespace) -> Result:
    target.prepare()
    run = target.run_dir
    users_out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", _USERS_CODE],
        env={**target.env(), "BENCH_REP_DEALS": str(args.rep_deals)},
        check=True,
        capture_output=True,
        text=True,
    )
    users = json.loads(users_out.stdout.strip().splitlines()[-1])
    users_file = run / "users.json"
    users_file.write_text(json.dumps(users))
    counts = mix(args.users, args.mix)
    log(
        f"[{target.name}] {len(users['rep'])} reps, {len(users['manager'])} managers, "
        f"{len(users['leader'])} leaders signed in; Locust users {counts}"
    )
    ack_log = run / "acknowledged.jsonl"
    server = Server(target, args, _free_port(), run / "gunicorn.log")
    server.start()
    extra = _warm_up(server, users)
    try:
        load = Phase("load")
        log(f"[{target.name}] load: {args.users} users for {args.duration} s")
        run_locust(
            server,
            users_file=users_file,
            ack_log=ack_log,
            counts=counts,
            args=args,
            seconds=args.duration,
            prefix=run / "load",
            extra=extra,
            phase=load,
        )
        faults = None
        reconciliation = None
        if args.fault_interval > 0:
            faults = Phase("faults")
            log(
                f"[{target.name}] faults: {args.users} users, a fault every {args.fault_interval} s"
            )
            run_locust(
                server,
                users_file=users_file,
                ack_log=ack_log,
                counts=counts,
                args=args,
                seconds=3600,  # stopped after the last fault
                prefix=run / "faults",
                extra=extra,
                faults=fault_schedule(target.name, args.fault_interval),
                phase=faults,
            )
            server.stop()  # already down: killed by the last fault
            if target.cluster is not None:
                seconds = target.cluster.start()
                faults.events.append(f"PostgreSQL restarted for the check ({seconds:.1f} s)")
        else:
            server.stop()
        acks = acked.read_log(ack_log)
        deal_ids = {int(a["id"]) for a in acks if a["kind"] == "deal"}
        activity_ids = {int(a["id"]) for a in acks if a["kind"] == "activity"}
        deals, activities = target.read_rows(deal_ids, activity_ids)
        reconciliation = acked.reconcile(acks, deals, activities)
        conflicts = sum(
            r.requests for r in load.rows + (faults.rows if faults else []) if "409" in r.name
        )
        return Result(target, load, faults, reconciliation, conflicts, extra)
    finally:
        server.stop()


# --- report ---------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:,.0f}"


def format_phase(result: Result, phase: Phase) -> list[str]:
    label = result.target.label
    lines = [
        f"| {label} | {r.name} | {r.requests:,} | {r.rps:.2f} | {_ms(r.p50)} | {_ms(r.p95)} | "
        f"{_ms(r.p99)} | {r.errors:,} |"
        for r in phase.rows
        if "409" not in r.name
    ]
    return lines


def format_report(results: list[Result], args: argparse.Namespace, started: datetime) -> str:
    counts = mix(args.users, args.mix)
    head = [
        f"bin/bench load, {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, {_memory_gib()} "
        f"GiB, Python {platform.python_version()}; gunicorn {args.workers} workers x "
        f"{args.threads} threads (gthread); Locust {args.users} users ({counts[0]} reps, "
        f"{counts[1]} managers, {counts[2]} leaders), think time {args.wait} s; load "
        f"{args.duration} s, then "
        + (f"a fault every {args.fault_interval} s of load" if args.fault_interval else "no faults")
        + f"; {args.rep_deals} open deals per rep. Times in ms.",
        "",
    ]
    lines = [*head, "### Load", ""]
    table = [
        "| database | request | requests | req/s | p50 | p95 | p99 | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += table
    for result in results:
        lines += format_phase(result, result.load)
    lines.append("")
    for result in results:
        label = result.target.label
        load = result.load
        lines.append(
            f"- {label}: 1-minute load average {load.load_before} before, {load.load_after} "
            f"after; optimistic-lock conflicts (409, re-read and retried): {result.conflicts}; "
            f'"database is locked" in the server log: {load.locked}; server tracebacks: '
            f"{load.server_errors}."
        )
        if not result.extra:
            lines.append(
                f"- {label}: leaders used the leader overview, manager effect and digest pages;"
                " no analytics page exists yet (tried: " + args.leader_pages + ")."
            )
        else:
            lines.append(f"- {label}: leaders also used {', '.join(result.extra)}.")
        for failure in load.failures:
            lines.append(f"  - failure: {failure}")
    faulted = [r for r in results if r.faults is not None]
    if faulted:
        lines += ["", "### Faults", ""]
        lines += [
            "| database | acknowledged writes | found after restart | missing | requests "
            "during faults | failed during faults |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for result in faulted:
            assert result.faults is not None
            assert result.reconciliation is not None
            agg = next((r for r in result.faults.rows if r.name == "Aggregated"), None)
            rec = result.reconciliation
            lines.append(
                f"| {result.target.label} | {rec.acknowledged:,} | {rec.found:,} | "
                f"{len(rec.missing):,} | {agg.requests if agg else 0:,} | "
                f"{agg.errors if agg else 0:,} |"
            )
        lines.append("")
        for result in faulted:
            assert result.faults is not None
            assert result.reconciliation is not None
            lines.append(f"{result.target.label}:")
            lines += [f"- {e}" for e in result.faults.events]
            lines += [f"- {x}" for x in acked.format_reconciliation(result.reconciliation)]
            lines.append(
                f'- "database is locked" in the server log during the faults: '
                f"{result.faults.locked}"
            )
    elif results and results[0].reconciliation is not None:
        for result in results:
            assert result.reconciliation is not None
            lines.append(f"{result.target.label}:")
            lines += [f"- {x}" for x in acked.format_reconciliation(result.reconciliation)]
    return "\n".join(lines) + "\n"


def _memory_gib() -> int:
    try:
        with open("/proc/meminfo") as f:
            return round(int(f.readline().split()[1]) / 1024 / 1024)
    except (OSError, ValueError, IndexError):
        return 0


def verdict(results: list[Result]) -> list[str]:
    """What fails the benchmark: an error under load, a lock error, a lost write."""
    problems = []
    for r in results:
        agg = next((row for row in r.load.rows if row.name == "Aggregated"), None)
        if agg is None or agg.errors:
            problems.append(f"{r.target.label}: {agg.errors if agg else '?'} errors under load")
        if r.load.locked:
            problems.append(f'{r.target.label}: "database is locked" {r.load.locked} times')
        if r.load.server_errors:
            problems.append(f"{r.target.label}: {r.load.server_errors} server tracebacks")
        if r.reconciliation is not None and not r.reconciliation.ok:
            problems.append(
                f"{r.target.label}: {len(r.reconciliation.missing)} acknowledged writes missing"
            )
    return problems


def main(args: argparse.Namespace) -> int:
    started = datetime.now(UTC)
    names = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = []
    cluster = None
    try:
        for name in names:
            if name == "postgres":
                cluster = PrivateCluster(_pg_bin(args.pg_bin), args.pg_port)
                version = cluster.bin.parent.name
                target = Target(name, cluster, f"PostgreSQL {version} (private cluster)")
            else:
                target = Target(name, None, "SQLite (WAL, default settings)")
            results.append(bench_target(target, args))
            if args.keep_raw:
                dest = args.keep_raw / name
                dest.mkdir(parents=True, exist_ok=True)
                for path in target.run_dir.iterdir():
                    # Not users.json: it holds the session keys.
                    if path.suffix in (".csv", ".log", ".jsonl") and path.is_file():
                        shutil.copy2(path, dest / path.name)
    finally:
        if cluster is not None:
            cluster.stop()
    report = format_report(results, args, started)
    problems = verdict(results)
    report += "\n" + ("\n".join(f"FAILED: {p}" for p in problems) or "Verdict: passed.") + "\n"
    print(report)
    if args.output:
        args.output.write_text(report)
    return 1 if problems else 0
