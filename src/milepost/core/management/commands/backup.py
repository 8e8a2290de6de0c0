"""``milepost backup PATH``: a consistent backup of the database (see core/backups.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from milepost.core.backups import BackupError, backup


class Command(BaseCommand):
    help = "Back up the database to PATH (SQLite: online backup; PostgreSQL: pg_dump -Fc)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--database", default="default", help="Database alias")

    def handle(self, *args: Any, path: Path, database: str, **options: Any) -> None:
        try:
            backup(path, alias=database)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Backed up the {database} database to {path}.")
