"""The SQLite deployment's jobs file, migrated for real by the installed command.

The test runner creates the suite's jobs file from its model (settings_test.py: migrating it
renders every app's migration state, seconds per pytest worker). What ``bin/demo`` and an
embedded deployment run, ``milepost migrate --database jobs``, is run here once, in a process
of its own on a file of its own (``DATABASE_URL`` empty): the jobs table and nothing else.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys


def test_migrating_the_jobs_file_creates_the_job_table_only(tmp_path):
    env = {**os.environ, "MILEPOST_DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the deployment's settings, not the suite's
    done = subprocess.run(
        [sys.executable, "-m", "milepost", "migrate", "--database", "jobs", "-v", "0"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "jobs.sqlite3") as db:
        tables = {
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not name.startswith("sqlite_")
        }
        columns = {row[1] for row in db.execute("PRAGMA table_info(core_jobprogress)")}
        recorded = set(db.execute("SELECT app, name FROM django_migrations"))
    assert tables == {"core_jobprogress", "django_migrations"}
    assert {"kind", "subject", "status", "requested_by_id"} <= columns
    assert ("core", "0001_jobprogress") in recorded
    assert not (tmp_path / "milepost.sqlite3").exists()  # the main file is not touched
