"""``milepost fit_risk [--process-version ID] [--as-of YYYY-MM-DD]``: fit the risk model of
every process version that holds deals (or one), on the deals closed by then, and store it.

Run after an import or on a schedule (weekly is plenty: a fit moves with the closed history,
not with the day). Prints, per version, whether the model was fitted or the process weights
are kept (too little history), with the deals, lost-or-slipped deals and held-out AUC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from milepost.inspection.risk import fit_all, risk_model_fit
from milepost.process.models import ProcessVersion


class Command(BaseCommand):
    help = "Fit the risk model of each process version on its closed history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--process-version", type=int, help="one process version id (default: all)"
        )
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help="use deals closed by the end of this day (default: now)",
        )

    def handle(self, *args, **options) -> None:
        as_of = (
            datetime.combine(options["as_of"], time.max, tzinfo=UTC) if options["as_of"] else None
        )
        version_id = options["process_version"]
        if version_id is not None:
            if not ProcessVersion.objects.filter(pk=version_id).exists():
                raise CommandError(f"--process-version: no process version {version_id}")
            fits = [risk_model_fit(user=None, version_id=version_id, as_of=as_of)]
        else:
            fits = fit_all(user=None, as_of=as_of)
        if not fits:
            self.stdout.write("No deals yet: nothing to fit.")
        for fit in fits:
            auc = "—" if fit.auc is None else f"{fit.auc:.3f}"
            self.stdout.write(
                f"{fit.version.process.name} v{fit.version.number}: {fit.get_source_display()}"
                f" ({fit.deals} closed deals, {fit.positives} lost or slipped, AUC {auc})"
            )
