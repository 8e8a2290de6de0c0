"""``milepost backup`` / ``milepost restore``: every row comes back (issue 14, finding 10).

On SQLite the round trip runs through the commands on the test database itself; on PostgreSQL
the dump is restored into a scratch database and compared table by table.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import timedelta

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from milepost.coaching.agenda.services import session_create_from_draft
from milepost.core.backups import holds_data, pg_restore_into, row_counts
from milepost.evidence.services import evidence_record
from milepost.pipeline.models import Opportunity
from milepost.testing.factories import ensure_default_processes, make_opportunity, make_org
from milepost.testing.moves import move_as_read

# One test per engine, chosen in the test body: a transactional test skipped before it starts
# would still trigger the suite's after-flush reload (conftest.py) on a database never set up.


def build_some_of_everything() -> None:
    ensure_default_processes()
    org = make_org()
    deal = make_opportunity(org.rep_a1, stage_key="engage", name="Backed-up deal")
    make_opportunity(org.rep_b1, stage_key="commit")
    move_as_read(
        user=org.rep_a1,
        opportunity_id=deal.pk,
        to_stage_key="discover",
        justification="Buyer asked for a demo",
    )
    evidence_record(
        user=org.rep_a1,
        opportunity_id=deal.pk,
        criterion_key="competition_known",
        note="Call notes",
    )
    session_create_from_draft(org.manager_a, org.rep_a1.id, timezone.now() + timedelta(days=1))


@pytest.mark.django_db(transaction=True)
def test_backup_wipe_restore_finds_every_row(tmp_path):
    if connection.vendor == "postgresql":
        postgresql_round_trip(tmp_path)
    else:
        sqlite_round_trip(tmp_path)


def sqlite_round_trip(tmp_path) -> None:
    build_some_of_everything()
    before = row_counts()
    assert before["pipeline_opportunity"] == 2
    path = tmp_path / "milepost.backup"
    call_command("backup", str(path))

    with pytest.raises(CommandError, match="--force"):
        call_command("restore", str(path))  # the database still holds its data

    call_command("flush", "--no-input")
    assert not holds_data()
    call_command("restore", str(path))
    assert row_counts() == before
    assert Opportunity.objects.get(name="Backed-up deal").stage.key == "discover"

    Opportunity.objects.filter(name="Backed-up deal").update(name="Changed after the backup")
    call_command("restore", str(path), "--force")
    assert Opportunity.objects.filter(name="Backed-up deal").exists()


@pytest.mark.django_db
def test_restore_refuses_what_is_not_a_backup(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup at all")
    with pytest.raises(CommandError, match="not a Milepost backup"):
        call_command("restore", str(junk))
    with pytest.raises(CommandError, match="no backup"):
        call_command("restore", str(tmp_path / "missing"))


def postgresql_round_trip(tmp_path) -> None:
    """The dump restored into a scratch database, compared table by table."""
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump / pg_restore are not on PATH: install the PostgreSQL client tools")
    build_some_of_everything()
    before = row_counts()
    path = tmp_path / "milepost.dump"
    call_command("backup", str(path))
    with pytest.raises(CommandError, match="--force"):
        call_command("restore", str(path))

    settings = dict(connection.settings_dict, NAME=f"mp_scratch_{uuid.uuid4().hex[:12]}")
    admin = _connect(connection.settings_dict, "postgres")
    admin.execute(f'CREATE DATABASE "{settings["NAME"]}"')
    try:
        pg_restore_into(path, settings)
        with _connect(settings, settings["NAME"]) as scratch:
            after = {
                name: scratch.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
                for name in before
            }
        assert after == before
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{settings["NAME"]}" WITH (FORCE)')
        admin.close()


def _connect(settings: dict, dbname: str) -> psycopg.Connection:
    return psycopg.connect(
        dbname=dbname,
        host=settings.get("HOST") or None,
        port=settings.get("PORT") or None,
        user=settings.get("USER") or None,
        password=settings.get("PASSWORD") or None,
        autocommit=True,
    )
