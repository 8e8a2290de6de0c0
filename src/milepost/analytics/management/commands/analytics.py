"""``milepost analytics conversion|velocity|waterfall|effectiveness [--csv FILE] [filters]``.

Prints the figures of one analytics page as plain tables, or writes one of them as CSV
(``--csv FILE``, ``-`` for standard output; formula-safe like every export) for scripts. The
filters are the pages' and the API's (same schema, same refusals), as options:
``--from 2026-01-01 --to 2026-03-31 --team 12 --rep 7 --process new_business --process-version 2
--product 3 --sector retail --source web --amount-min 1000 --amount-max 50000 --every quarter
--scope-from .. --scope-to ..``.

Scoping: the figures are those ``--as USERNAME`` may see (default: the first active admin,
that is every deal), by the same visibility rule as the pages.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from pydantic import ValidationError

from milepost.analytics import selectors
from milepost.analytics.filters import AnalyticsFilters
from milepost.analytics.tables import (
    Table,
    conversion_tables,
    effectiveness_tables,
    velocity_tables,
    waterfall_tables,
)
from milepost.core.exports import csv_lines
from milepost.team.models import Role, User

REPORTS = {
    "conversion": (selectors.conversion_report, conversion_tables),
    "velocity": (selectors.velocity_report, velocity_tables),
    "waterfall": (selectors.waterfall_report, waterfall_tables),
    "effectiveness": (selectors.effectiveness_report, effectiveness_tables),
}
OPTIONS = {
    "from": "date_from",
    "to": "date_to",
    "process": "process",
    "process_version": "version",
    "team": "team",
    "rep": "rep",
    "product": "product",
    "sector": "sector",
    "source": "source",
    "amount_min": "amount_min",
    "amount_max": "amount_max",
    "every": "every",
    "scope_from": "scope_from",
    "scope_to": "scope_to",
}


class Command(BaseCommand):
    help = (
        "Print pipeline analytics (conversion, velocity, waterfall, process effectiveness) "
        "or write them as CSV."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("report", choices=sorted(REPORTS))
        parser.add_argument("--csv", metavar="FILE", help="write one table as CSV (- for stdout)")
        parser.add_argument("--table", help="which table to write (default: the first)")
        parser.add_argument("--as", dest="username", help="see what this user may see")
        for option in OPTIONS:
            parser.add_argument(f"--{option.replace('_', '-')}", dest=option, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        user = _user(options.get("username"))
        raw = {field: options[opt] for opt, field in OPTIONS.items() if options[opt] is not None}
        try:
            filters = AnalyticsFilters.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise CommandError(f"invalid filters: {problems}") from None
        report, tabulate = REPORTS[options["report"]]
        result = report(user=user, filters=filters)
        tables: list[Table] = tabulate(result)
        if options.get("csv"):
            name = options.get("table") or tables[0].name
            table = next((t for t in tables if t.name == name), None)
            if table is None:
                known = ", ".join(t.name for t in tables)
                raise CommandError(f"no table {name!r}; this report has: {known}")
            _write_csv(table, options["csv"], self.stdout)
            return
        first, last = filters.period()
        self.stdout.write(f"{options['report']} for {user} · {first} to {last} · {filters.process}")
        frames = getattr(result, "frames", None)
        if frames is not None:
            self.stdout.write(
                f"{frames.unrecorded} of {frames.exits} criterion exits have no recorded "
                "criteria result (counted as unrecorded)"
            )
        for table in tables:
            self.stdout.write("")
            self.stdout.write(f"{table.title} [{table.name}]")
            self.stdout.write(_plain(table))


def _user(username: str | None) -> User:
    qs = User.objects.filter(is_active=True)
    user = (
        qs.filter(username=username).first()
        if username
        else qs.filter(role=Role.ADMIN).order_by("pk").first()
    )
    if user is None:
        raise CommandError(
            f"no active user named {username!r}" if username else "no active admin: use --as"
        )
    return user


def _write_csv(table: Table, path: str, stdout: Any) -> None:
    lines = csv_lines(table.lines())
    if path == "-":
        for line in lines:
            stdout.write(line, ending="")
        return
    with open(path, "w", newline="", encoding="utf-8") as handle:
        handle.writelines(lines)


def _plain(table: Table) -> str:
    cells = [[str(h) for h in table.header]] + [
        ["" if v is None else str(v) for v in row] for row in table.rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells
    )
