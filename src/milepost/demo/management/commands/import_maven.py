"""``milepost import_maven [PATH] [--as-of DATE | --shift-days N]``: import the Maven CRM dataset.

Prints the import report: counts per file and the issues grouped by kind. Re-running is safe
(unchanged rows are counted, not rewritten). See docs/demo-data.md.
"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from milepost.demo.importer import ImportRefused, maven_import
from milepost.demo.maven import MavenSourceError, default_data_dir
from milepost.imports.report import import_report


class Command(BaseCommand):
    help = "Import the Maven CRM Sales Opportunities dataset with a synthetic stage history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path", nargs="?", help=f"folder with the four CSV files (default {default_data_dir()})"
        )
        when = parser.add_mutually_exclusive_group()
        when.add_argument(
            "--as-of",
            type=date.fromisoformat,
            help="shift dates by whole weeks so the dataset's last day (2017-12-31) lands on "
            "or just before this date (YYYY-MM-DD, or 'today' via the demo command)",
        )
        when.add_argument("--shift-days", type=int, help="shift every date by N days")

    def handle(self, *args, **options) -> None:
        try:
            run = maven_import(
                directory=options["path"],
                as_of=options["as_of"],
                shift_days=options["shift_days"],
            )
        except (MavenSourceError, ImportRefused) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(import_report(run))
