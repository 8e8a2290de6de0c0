"""``milepost pipeline_facts --check | --rebuild``: the derived facts inspection reads.

``--check`` compares the stored activity summary, contact engagement, buying-role counts and
transition stage steps with a fresh computation from the raw rows and lists every difference
(exit status 1 when there is one). ``--rebuild`` recomputes the activity and role facts of
every deal in one transaction (set-based), for a database written by a tool that bypassed
the application.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from milepost.pipeline.facts import (
    activity_facts_mismatches,
    deal_facts_refresh,
    role_facts_mismatches,
    transition_steps_mismatches,
)


class Command(BaseCommand):
    help = "Check or rebuild the derived pipeline facts (activities, engagement, roles, steps)."

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--check", action="store_true", help="list differences, change nothing")
        action.add_argument("--rebuild", action="store_true", help="recompute the activity facts")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["rebuild"]:
            deal_facts_refresh(None)
            self.stdout.write("activity and buying-role facts rebuilt for every deal")
            return
        problems = (
            activity_facts_mismatches() + role_facts_mismatches() + transition_steps_mismatches()
        )
        for line in problems[:200]:
            self.stdout.write(line)
        if problems:
            raise CommandError(f"{len(problems)} difference(s) between stored and computed facts")
        self.stdout.write("pipeline facts match the activities and transitions")
