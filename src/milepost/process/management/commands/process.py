"""``milepost process validate|load|diff``: the sales process as code.

- ``validate FILE``: every error with its line and location; exit 1 if any, else a one-line OK.
- ``load FILE [FILE...]``: validate all files first; if any is invalid nothing is written.
  Otherwise each is stored as a new version (or reported unchanged) in one transaction.
- ``diff A B``: A and B are YAML files or stored processes (``KEY`` = current version,
  ``KEY@vN`` = version N). Exit 0 when identical, 1 when they differ, 2 on trouble (like diff).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from milepost.engine.process_diff import describe_changes, diff_processes
from milepost.engine.process_schema import ProcessDef, ProcessInvalid, parse_process
from milepost.process.selectors import process_version
from milepost.process.services import process_store, with_playbook_files
from milepost.team.models import User

STORED_REF = re.compile(r"^(?P<key>[a-z][a-z0-9_]*)(?:@v(?P<number>\d+))?$")


@dataclass(frozen=True)
class _Source:
    label: str
    text: str


class Command(BaseCommand):
    help = "Validate, load and compare sales-process YAML files."
    # Django's system checks import the whole URL configuration (about 3 s on 2 cores) before
    # any command; these actions read files and the process tables and serve no request, and a
    # script that validates every file of a repository runs them many times.
    # ``milepost check`` (and runserver, migrate) still runs the checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        validate = sub.add_parser("validate", help="check a process file and list every error")
        validate.add_argument("file")
        load = sub.add_parser("load", help="store process files as new versions")
        load.add_argument("files", nargs="+", metavar="FILE")
        load.add_argument(
            "--as", dest="username", default=None, help="record this user as the loader"
        )
        diff = sub.add_parser("diff", help="compare two processes (files, KEY or KEY@vN)")
        diff.add_argument("a")
        diff.add_argument("b")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "validate":
            self._validate(options["file"])
        elif action == "load":
            self._load(options["files"], options.get("username"))
        else:
            self._diff(options["a"], options["b"])

    # -- validate ---------------------------------------------------------------------------

    def _validate(self, path: str) -> None:
        source = _read(path)
        definition = self._parse_or_report(source)
        if definition is None:
            raise CommandError(f"{path} is not a valid process", returncode=1)
        criteria = sum(len(s.exit_criteria) for s in definition.stages)
        self.stdout.write(
            self.style.SUCCESS(
                f"OK {path}: process '{definition.key}', {len(definition.stages)} stages "
                f"({len(definition.open_stages)} open), {criteria} exit criteria, "
                f"checksum {definition.checksum()[:12]}"
            )
        )

    def _parse_or_report(self, source: _Source) -> ProcessDef | None:
        try:
            return parse_process(source.text)
        except ProcessInvalid as exc:
            count = len(exc.errors)
            self.stderr.write(f"{source.label}: {count} error{'s' if count != 1 else ''}")
            for error in exc.errors:
                line = f"{source.label}:{error.line}: " if error.line else f"{source.label}: "
                self.stderr.write(f"  {line}{error}")
            return None

    # -- load -------------------------------------------------------------------------------

    def _load(self, paths: list[str], username: str | None) -> None:
        user = None
        if username:
            user = User.objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"no user named '{username}'", returncode=2)
        sources = [_read(path) for path in paths]
        parsed = [(source, self._parse_or_report(source)) for source in sources]
        invalid = [source.label for source, definition in parsed if definition is None]
        if invalid:
            raise CommandError(
                f"nothing loaded: {', '.join(invalid)} {'is' if len(invalid) == 1 else 'are'} "
                "not valid",
                returncode=1,
            )
        with transaction.atomic():
            for source, definition in parsed:
                assert definition is not None
                if source.label != "-":
                    definition = with_playbook_files(definition, Path(source.label).parent)
                try:
                    result = process_store(
                        definition=definition,
                        source_text=source.text,
                        source_name=Path(source.label).name,
                        user=user,
                    )
                except ProcessInvalid as exc:
                    for error in exc.errors:
                        self.stderr.write(f"  {source.label}: {error}")
                    raise CommandError(
                        f"nothing loaded: {source.label} names methodology packs, elements or "
                        "levels that are not loaded",
                        returncode=1,
                    ) from exc
                number = result.version.number
                if result.created:
                    self.stdout.write(
                        self.style.SUCCESS(f"{definition.key}: created version {number}")
                    )
                else:
                    self.stdout.write(f"{definition.key}: unchanged (version {number})")

    # -- diff -------------------------------------------------------------------------------

    def _diff(self, a: str, b: str) -> None:
        old_label, old = self._resolve(a)
        new_label, new = self._resolve(b)
        changes = diff_processes(old, new)
        self.stdout.write(f"--- {old_label}\n+++ {new_label}")
        if not changes:
            self.stdout.write("no differences")
            return
        for line in describe_changes(changes):
            self.stdout.write(line)
        count = len(changes)
        self.stdout.write(f"{count} difference{'s' if count != 1 else ''}")
        self.stdout.flush()
        # Like diff(1): differences are not an error, but the exit status says there were some.
        sys.exit(1)

    def _resolve(self, ref: str) -> tuple[str, ProcessDef]:
        path = Path(ref)
        if path.is_file():
            source = _read(ref)
            definition = self._parse_or_report(source)
            if definition is None:
                raise CommandError(f"{ref} is not a valid process", returncode=2)
            # Compared as it would be loaded: with the playbooks next to the file.
            return ref, with_playbook_files(definition, path.parent)
        match = STORED_REF.match(ref)
        if match is None:
            raise CommandError(
                f"{ref}: no such file, and not a stored process reference (KEY or KEY@vN)",
                returncode=2,
            )
        key = match["key"]
        number = int(match["number"]) if match["number"] else None
        version = process_version(process_key=key, number=number)
        if version is None:
            what = f"version {number} of process '{key}'" if number else f"process '{key}'"
            raise CommandError(f"{ref}: no file by that name and no stored {what}", returncode=2)
        label = f"{key}@v{version.number} (stored{', current' if version.is_current else ''})"
        return label, ProcessDef.model_validate(version.definition)


def _read(path: str) -> _Source:
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"{path}: file not found", returncode=2)
    try:
        return _Source(label=path, text=file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"{path}: cannot read ({exc})", returncode=2) from exc
