"""Back up and restore the whole database, on either engine, with the engine's own tools.

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot
  page by page while the application keeps running, WAL included; a copied file would not be.
- PostgreSQL: ``pg_dump -Fc`` (custom format: compressed, restorable selectively) and
  ``pg_restore --clean --if-exists``, with the connection of the Django settings.

A restore replaces what is there, so it refuses a database that already holds Milepost data
unless forced. No domain knowledge here: "holds data" means any table of a Milepost app has a
row (Django's own bookkeeping tables, which ``migrate`` fills, do not count).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connections

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


class BackupError(RuntimeError):
    """The backup or restore could not be done; the message says why and what to do."""


def _engine(alias: str) -> str:
    vendor = connections[alias].vendor
    if vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL, not {vendor}")
    return vendor


def _pg_env(settings_dict: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """Connection arguments and environment for the PostgreSQL client tools."""
    args = []
    if settings_dict.get("HOST"):
        args += ["--host", str(settings_dict["HOST"])]
    if settings_dict.get("PORT"):
        args += ["--port", str(settings_dict["PORT"])]
    if settings_dict.get("USER"):
        args += ["--username", str(settings_dict["USER"])]
    env = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not on PATH (install the PostgreSQL client tools)")
    return path


def _run(command: list[str], env: dict[str, str]) -> None:
    # The arguments are the settings' connection and an operator's path, never user input.
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-2000:]}")


def milepost_tables() -> list[str]:
    """The tables of Milepost's own apps (not Django's bookkeeping), sorted."""
    tables = set()
    for config in apps.get_app_configs():
        if not config.name.startswith("milepost."):
            continue
        for model in config.get_models(include_auto_created=True):
            if model._meta.managed and not model._meta.proxy:
                tables.add(model._meta.db_table)
    return sorted(tables)


def row_counts(alias: str = "default") -> dict[str, int]:
    """Rows per table, every table of the database (what a restore must bring back)."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        names = connection.introspection.table_names(cursor)
        counts = {}
        for name in sorted(names):
            quoted = connection.ops.quote_name(name)  # a table name the database listed
            cursor.execute(f"SELECT COUNT(*) FROM {quoted}")  # noqa: S608
            counts[name] = cursor.fetchone()[0]
    return counts


def holds_data(alias: str = "default") -> bool:
    """Whether any table of a Milepost app that exists in the database has a row."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        present = set(connection.introspection.table_names(cursor))
        for name in milepost_tables():
            if name in present:
                quoted = connection.ops.quote_name(name)
                cursor.execute(f"SELECT 1 FROM {quoted} LIMIT 1")  # noqa: S608
                if cursor.fetchone():
                    return True
    return False


def backup(path: Path, *, alias: str = "default") -> None:
    """Write a backup of database ``alias`` to ``path`` (replaced if it exists)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = connections[alias]
    if _engine(alias) == "sqlite":
        connection.ensure_connection()
        tmp = path.with_name(path.name + ".partial")
        tmp.unlink(missing_ok=True)
        target = sqlite3.connect(tmp)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
        tmp.replace(path)  # a reader never sees half a backup
        return
    args, env = _pg_env(connection.settings_dict)
    command = [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(path), *args]
    _run([*command, str(connection.settings_dict["NAME"])], env)


def _kind(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is not a Milepost backup (neither SQLite nor pg_dump custom)")


def restore(path: Path, *, alias: str = "default", force: bool = False) -> None:
    """Replace database ``alias`` with the backup at ``path``.

    Refuses a database that already holds Milepost data unless ``force``; refuses a backup of
    the other engine (moving between engines is a dump/load, not a restore).
    """
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"no backup at {path}")
    engine, kind = _engine(alias), _kind(path)
    if engine != kind:
        raise BackupError(f"{path} is a {kind} backup; this database is {engine}")
    if not force and holds_data(alias):
        raise BackupError(
            "the database already holds Milepost data; restoring replaces all of it "
            "(pass --force if that is what you want)"
        )
    connection = connections[alias]
    if engine == "sqlite":
        connection.ensure_connection()
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            source.backup(connection.connection)
        finally:
            source.close()
        return
    connection.close()  # pg_restore drops the tables this connection may hold locks on
    pg_restore_into(path, connection.settings_dict)


def pg_restore_into(path: Path, settings_dict: dict[str, Any]) -> None:
    """``pg_restore`` the custom-format dump at ``path`` into the database ``settings_dict``
    names, in one transaction (a failed restore leaves the database as it was)."""
    args, env = _pg_env(settings_dict)
    command = [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction"]
    _run([*command, *args, "--dbname", str(settings_dict["NAME"]), str(path)], env)
