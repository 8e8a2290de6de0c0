"""``milepost coaching_digest [--week YYYY-MM-DD] [--manager USERNAME]``: mail weekly digests.

Each manager gets the digest of the week containing ``--week`` (default: this week) once; a
second run for the same week sends nothing (``DigestDelivery``). In development the console
mail backend prints the messages (``settings.EMAIL_BACKEND``). See docs/coaching.md.
"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from milepost.coaching.leaders.digest import digest_managers, digest_send
from milepost.engine.coaching_effect import week_start


class Command(BaseCommand):
    help = "Send each manager the weekly coaching digest (once per manager and week)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--week", type=date.fromisoformat, help="a day of the week to send")
        parser.add_argument("--manager", help="only this manager (username)")
        parser.add_argument("--url", default="", help="site address for links in the email")

    def handle(self, *args, **options) -> None:
        week = week_start(options["week"] or timezone.localdate())
        managers = digest_managers(options["manager"])
        if options["manager"] and not managers:
            raise CommandError(f"no active manager with an email named {options['manager']!r}")
        sent = skipped = 0
        for manager in managers:
            if digest_send(manager=manager, week=week, site_url=options["url"]):
                sent += 1
            else:
                skipped += 1
        self.stdout.write(
            f"Coaching digest for the week of {week:%Y-%m-%d}: {sent} sent, "
            f"{skipped} already sent or without an email."
        )
