"""``milepost restore PATH [--force]``: replace the database with a backup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from milepost.core.backups import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restore the database from a backup made by `milepost backup`. Refuses a database "
        "that already holds Milepost data unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--database", default="default", help="Database alias")
        parser.add_argument(
            "--force", action="store_true", help="Replace a database that holds data"
        )

    def handle(self, *args: Any, path: Path, database: str, force: bool, **options: Any) -> None:
        try:
            restore(path, alias=database, force=force)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Restored the {database} database from {path}.")
