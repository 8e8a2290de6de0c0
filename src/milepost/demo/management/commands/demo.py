"""``milepost demo [--url URL] [--data PATH]``: a ready-to-click demo database.

Migrates, loads the default sales processes, imports the Maven CRM dataset with a synthetic
stage history (dates shifted by whole weeks so the data ends today), fits the risk model on
the closed deals, sets the demo password on every demo user and prints who can log in. A
second run finds the data and only checks the passwords, so it takes a second or two.
``bin/demo`` runs this, then ``runserver``.
"""

from __future__ import annotations

import time
from datetime import date

from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count

from milepost.demo.importer import IMPORT_KIND, ImportRefused, maven_import
from milepost.demo.maven import MavenSourceError, default_data_dir
from milepost.demo.people import ADMIN_PERSON, USER_EMAIL_DOMAIN, VP_PERSON, username_for
from milepost.imports.models import ImportRun
from milepost.imports.report import import_report
from milepost.inspection.models import RiskModelFit
from milepost.pipeline.models import Opportunity
from milepost.process.services import process_load_defaults
from milepost.team.models import Role, User

DEMO_PASSWORD = "milepost-demo"  # a public demo password, printed on purpose


class Command(BaseCommand):
    help = "Create or refresh the demo database (real Maven CRM data + synthetic history)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="URL to print")
        parser.add_argument("--data", help=f"dataset folder (default {default_data_dir()})")
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help="date the dataset's last day is shifted to (default: today)",
        )

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        call_command("migrate", interactive=False, verbosity=0)
        call_command("migrate", database="jobs", interactive=False, verbosity=0)
        process_load_defaults()
        loaded = (
            ImportRun.objects.filter(kind=IMPORT_KIND, finished_at__isnull=False).exists()
            and Opportunity.objects.filter(external_id__isnull=False).exists()
        )
        if loaded:
            self.stdout.write("Demo data already loaded; skipping the import.")
        else:
            self.stdout.write("Importing the Maven CRM dataset with a synthetic history …")
            try:
                run = maven_import(
                    directory=options["data"], as_of=options["as_of"] or date.today()
                )
            except (MavenSourceError, ImportRefused) as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(import_report(run))
        if not loaded or not RiskModelFit.objects.exists():
            self.stdout.write("Fitting the risk model on the closed deals …")
            call_command("fit_risk", stdout=self.stdout)
        self._set_passwords()
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(f"Milepost demo ready in {time.monotonic() - started:.1f} s")
        )
        self.stdout.write(f"Open {options['url']}")
        self.stdout.write("")
        self._print_logins()

    def _set_passwords(self) -> None:
        demo_users = User.objects.filter(email__endswith=f"@{USER_EMAIL_DOMAIN}")
        admin = demo_users.filter(username=ADMIN_PERSON[0]).first()
        if admin is not None and admin.check_password(DEMO_PASSWORD):
            missing = [u for u in demo_users if not u.has_usable_password()]
            if not missing:
                return
        # One hash for everyone: hashing is deliberately slow, and this is a public password.
        demo_users.update(password=make_password(DEMO_PASSWORD))

    def _print_logins(self) -> None:
        rep = (
            User.objects.filter(role=Role.REP, email__endswith=f"@{USER_EMAIL_DOMAIN}")
            .annotate(deals=Count("opportunities"))
            .order_by("-deals", "username")
            .first()
        )
        manager = rep.manager if rep else None
        leader = manager.manager if manager else None
        people = [
            ("Sales-ops admin", User.objects.filter(username=ADMIN_PERSON[0]).first()),
            (
                "VP of sales",
                User.objects.filter(username=username_for(" ".join(VP_PERSON[:2]))).first(),
            ),
            ("Regional leader", leader),
            ("Manager", manager),
            ("Rep", rep),
        ]
        rows = [(role, u.username, u.get_full_name(), u.title) for role, u in people if u]
        widths = [
            max(len(r[i]) for r in [("Role", "Username", "Name", "Title"), *rows]) for i in range(4)
        ]
        header = ("Role", "Username", "Name", "Title")
        self.stdout.write("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        self.stdout.write("  ".join("-" * w for w in widths))
        for row in rows:
            self.stdout.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        self.stdout.write("")
        self.stdout.write(f"Password for every login above: {DEMO_PASSWORD}")
        self.stdout.write(
            "Every sales agent and manager of the dataset can log in too, with the same "
            "password (username = first.last, e.g. darcel.schlecht)."
        )
