"""Database triggers that make the append-only history tables refuse UPDATE and DELETE.

Used by the ``*_append_only_triggers`` migrations (pipeline, evidence, methodology, coaching);
Django's migration loader skips this module (its name starts with ``_``). Each migration passes
its tables' columns as they were at that migration, so what it installs does not change when a
model changes later. Do not change the SQL that existing migrations get from here: add a new
function if a later migration needs something else.

The rule, on PostgreSQL and SQLite alike:

- DELETE is refused, and TRUNCATE on PostgreSQL (SQLite has none).
- UPDATE is refused unless it changes nothing, or only sets to NULL a reference declared
  ``on_delete=SET_NULL``: that is how Django deletes a user, a contact or a coaching session
  that history rows point at (the row stays, without the link; a database-level ON DELETE SET
  NULL would do the same UPDATE).
- Both are allowed inside a transaction that holds a row of ``append_only_unlock``: see
  :func:`milepost.pipeline.append_only.append_only_unlocked`, which inserts the row and deletes it
  again before its transaction ends, so no other transaction ever sees it. Django's ``flush``
  (overridden in pipeline's management commands) uses it; so would a later data migration
  that must backfill a new column of a history table (``with append_only_unlocked("why",
  using=schema_editor.connection.alias): ...``).

Violations raise SQLSTATE 23000 on PostgreSQL and SQLITE_CONSTRAINT on SQLite: Django's
``IntegrityError`` on both, with "<table> rows are append-only: <operation> refused".

SQLite caveats for later migrations: a table that Django rebuilds (``_remake_table``, most
ALTERs on SQLite) loses its triggers, and a column added later is not compared by the UPDATE
trigger (PostgreSQL compares whole rows). A migration that alters one of these tables must drop
and install its triggers again; ``pipeline/tests/test_append_only_triggers.py`` fails until it
does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import migrations

UNLOCK_TABLE = "append_only_unlock"

_PG_FUNCTION = """
CREATE FUNCTION append_only_guard() RETURNS trigger LANGUAGE plpgsql AS $guard$
DECLARE
    refs text[];
BEGIN
    IF EXISTS (SELECT FROM append_only_unlock) THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    -- The trigger's arguments name the on_delete=SET_NULL references: the only columns an
    -- UPDATE may change, and only to NULL.
    refs := COALESCE(TG_ARGV, '{}'::text[]);
    IF TG_OP = 'UPDATE'
        AND to_jsonb(NEW) - refs = to_jsonb(OLD) - refs
        AND NOT EXISTS (
            SELECT FROM unnest(refs) AS ref
            WHERE to_jsonb(NEW) -> ref <> 'null'::jsonb
              AND to_jsonb(NEW) -> ref IS DISTINCT FROM to_jsonb(OLD) -> ref
        )
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation',
              HINT = 'History rows are inserted once. See milepost.pipeline.models.AppendOnly.';
END
$guard$
"""


@dataclass(frozen=True)
class HistoryTable:
    """An append-only table as a migration saw it: every column, and the SET_NULL references."""

    name: str
    columns: Sequence[str]
    set_null: Sequence[str] = ()


def _pg_install(table: HistoryTable) -> list[str]:
    refs = ", ".join(f"'{c}'" for c in table.set_null)
    return [
        f'CREATE TRIGGER append_only_guard BEFORE UPDATE OR DELETE ON "{table.name}" '
        f"FOR EACH ROW EXECUTE FUNCTION append_only_guard({refs})",
        f'CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON "{table.name}" '
        "FOR EACH STATEMENT EXECUTE FUNCTION append_only_guard()",
    ]


def _pg_uninstall(table: HistoryTable) -> list[str]:
    return [
        f'DROP TRIGGER IF EXISTS append_only_guard ON "{table.name}"',
        f'DROP TRIGGER IF EXISTS append_only_truncate ON "{table.name}"',
    ]


def _sqlite_install(table: HistoryTable) -> list[str]:
    unknown = set(table.set_null) - set(table.columns)
    if unknown:
        raise ValueError(f"{table.name}: SET_NULL columns {sorted(unknown)} are not columns")
    same = [f'NEW."{c}" IS OLD."{c}"' for c in table.columns if c not in table.set_null]
    nulled = [f'(NEW."{c}" IS OLD."{c}" OR NEW."{c}" IS NULL)' for c in table.set_null]
    locked = f'NOT EXISTS (SELECT 1 FROM "{UNLOCK_TABLE}")'  # noqa: S608 (a constant)

    def refuse(operation: str) -> str:
        return f"SELECT RAISE(ABORT, '{table.name} rows are append-only: {operation} refused');"

    return [
        f'CREATE TRIGGER "{table.name}__append_only_update" BEFORE UPDATE ON "{table.name}" '
        f"FOR EACH ROW WHEN {locked} AND NOT ({' AND '.join(same + nulled)}) "
        f"BEGIN {refuse('UPDATE')} END",
        f'CREATE TRIGGER "{table.name}__append_only_delete" BEFORE DELETE ON "{table.name}" '
        f"FOR EACH ROW WHEN {locked} BEGIN {refuse('DELETE')} END",
    ]


def _sqlite_uninstall(table: HistoryTable) -> list[str]:
    return [
        f'DROP TRIGGER IF EXISTS "{table.name}__append_only_update"',
        f'DROP TRIGGER IF EXISTS "{table.name}__append_only_delete"',
    ]


_SETUP = {
    "postgresql": [
        f"CREATE TABLE {UNLOCK_TABLE} (token varchar(32) NOT NULL, reason varchar(200) NOT NULL)",
        _PG_FUNCTION,
    ],
    "sqlite": [
        f'CREATE TABLE "{UNLOCK_TABLE}" (token varchar(32) NOT NULL, reason varchar(200) NOT NULL)'
    ],
}
_TEARDOWN = {
    "postgresql": ["DROP FUNCTION append_only_guard()", f"DROP TABLE {UNLOCK_TABLE}"],
    "sqlite": [f'DROP TABLE "{UNLOCK_TABLE}"'],
}
_INSTALL = {"postgresql": _pg_install, "sqlite": _sqlite_install}
_UNINSTALL = {"postgresql": _pg_uninstall, "sqlite": _sqlite_uninstall}


def _vendor(schema_editor) -> str:
    vendor = schema_editor.connection.vendor
    if vendor not in _INSTALL:
        raise NotImplementedError(f"append-only triggers for {vendor}: only PostgreSQL, SQLite")
    return vendor


def _run(schema_editor, statements: list[str]) -> None:
    for sql in statements:
        schema_editor.execute(sql, params=None)  # None: no %-interpolation of the SQL


def append_only_triggers(
    tables: Sequence[HistoryTable], *, setup: bool = False
) -> migrations.RunPython:
    """The operation installing (reverse: dropping) the triggers on ``tables``. ``setup`` also
    creates the unlock table and PostgreSQL's trigger function (pipeline's migration only)."""

    def forwards(apps, schema_editor) -> None:
        vendor = _vendor(schema_editor)
        if setup:
            _run(schema_editor, _SETUP[vendor])
        for table in tables:
            _run(schema_editor, _INSTALL[vendor](table))

    def backwards(apps, schema_editor) -> None:
        vendor = _vendor(schema_editor)
        for table in tables:
            _run(schema_editor, _UNINSTALL[vendor](table))
        if setup:
            _run(schema_editor, _TEARDOWN[vendor])

    return migrations.RunPython(forwards, backwards, elidable=False)
