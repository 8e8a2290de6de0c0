"""``milepost prune_artefacts [--older-than-minutes N] [--dry-run]``: delete stored artefact
files that no artefact row names.

An artefact's file is written before its row, inside the write's transaction; when something
after it fails the row is rolled back and the file stays (Django has no rollback hook). Run on
a schedule (daily is plenty); files younger than ``--older-than-minutes`` (default 60) stay, as
their write may still be committing.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandParser

from milepost.evidence.services import artefact_files_prune


class Command(BaseCommand):
    help = "Delete stored artefact files that no artefact names (left by failed writes)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-minutes", type=int, default=60)
        parser.add_argument("--dry-run", action="store_true", help="list, delete nothing")

    def handle(self, *args: object, **options: object) -> None:
        minutes = options["older_than_minutes"]
        assert isinstance(minutes, int)
        removed = artefact_files_prune(
            older_than=timedelta(minutes=max(0, minutes)), dry_run=bool(options["dry_run"])
        )
        verb = "would delete" if options["dry_run"] else "deleted"
        for name in removed:
            self.stdout.write(f"{verb} {name}")
        self.stdout.write(f"{len(removed)} unreferenced artefact file(s) {verb}")
