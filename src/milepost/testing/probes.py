"""What a permission-probe module covers, declared next to its probes.

Every module whose tests probe pages or API endpoints as several roles (with other users' ids,
or, for pages that only ever show the user's own data, as every role) declares at module level

    PROBED = probed(("get", "/pipeline/opportunities/1/"), ("post", "/api/v1/opportunities"))

and ``milepost/testing/tests/test_probe_coverage.py`` checks that the union of every module's
``PROBED`` covers every named page and every OpenAPI operation, so a new page or endpoint
without a probe fails the suite. The declaration is best computed from the module's own probe
table (``probed_table(TABLE)`` or ``probed(*requests(PLACEHOLDER))``), so it cannot drift from
what the probes actually request: removing a probe row removes its coverage.

Requests are concrete ``(method, path)`` pairs; each is resolved the way Django serves it: a
page path to its URL name (``"pipeline:detail"``), an ``/api/`` path to its OpenAPI operation
(``("GET", "/api/v1/opportunities/{opportunity_id}")``). Ids in a table are usually filled from
a world built at test time; ``PLACEHOLDER`` stands in for that world when the declaration is
computed at import time (every attribute, item and number of it formats as ``1``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.urls import Resolver404, resolve

API_PREFIX = "/api/"


@dataclass(frozen=True)
class ProbeCoverage:
    """The pages (URL names) and API operations (METHOD, OpenAPI path) a module's probes try."""

    pages: frozenset[str] = field(default_factory=frozenset)
    operations: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    def __or__(self, other: ProbeCoverage) -> ProbeCoverage:
        return ProbeCoverage(self.pages | other.pages, self.operations | other.operations)


def _openapi_path(route: str) -> str:
    """A Django route as its OpenAPI path: ``api/v1/x/<int:x_id>`` → ``/api/v1/x/{x_id}``."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def probed(*requests: tuple[str, str]) -> ProbeCoverage:
    """The coverage of concrete requests ``(method, path)``, resolved as Django would serve them.

    A path that resolves to nothing is an error here, at import time: a table that names a gone
    route must be fixed, not silently ignored.
    """
    pages: set[str] = set()
    operations: set[tuple[str, str]] = set()
    for method, path in requests:
        bare = path.split("?", 1)[0]
        try:
            match = resolve(bare)
        except Resolver404 as error:
            raise ValueError(f"probe table names no route: {method.upper()} {path}") from error
        if bare.startswith(API_PREFIX):
            operations.add((method.upper(), _openapi_path(match.route)))
        else:
            if not match.view_name:
                raise ValueError(f"probed page has no URL name: {path}")
            pages.add(match.view_name)
    return ProbeCoverage(frozenset(pages), frozenset(operations))


def probed_table(rows: Iterable[Any], *, prefix: str = "", **ids: object) -> ProbeCoverage:
    """The coverage of a table of rows with ``method`` and ``path`` attributes; the path is a
    template formatted with ``ids`` (names the template does not use are ignored)."""
    return probed(*((row.method, prefix + row.path.format_map(_Ids(ids))) for row in rows))


class _Ids(dict[str, object]):
    """Format names the table's template uses but the caller did not give as ``1``."""

    def __missing__(self, key: str) -> object:
        return 1


class _Placeholder:
    """Stands in for a probe world at import time: any attribute, item, call or sum of it is
    itself, and it formats as ``1`` (an id, a version, a slug: all resolve)."""

    def __getattr__(self, name: str) -> _Placeholder:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key: object) -> _Placeholder:
        return self

    def __call__(self, *args: object, **kwargs: object) -> _Placeholder:
        return self

    def __add__(self, other: object) -> _Placeholder:
        return self

    __radd__ = __add__
    __sub__ = __add__

    def __int__(self) -> int:
        return 1

    def __index__(self) -> int:
        return 1

    def __str__(self) -> str:
        return "1"

    def __format__(self, spec: str) -> str:
        return "1"

    def __repr__(self) -> str:
        return "PLACEHOLDER"


PLACEHOLDER: Any = _Placeholder()


def allowed_answers_probed() -> bool:
    """Whether the probe tables send the requests that must succeed, on this database.

    Every probe that must be *refused* (anonymous; a row or a role the prober may not see) runs
    on both databases. The probes that must *succeed* render whole pages and figures for the
    rows a prober may see, which is most of the probe tables' time; what they check there (no
    server error, exact statuses, nothing of a hidden row in a list) is decided by the one
    visibility rule in Python and Django's ORM, not by the database, so they run on PostgreSQL,
    the production database, only. Each page's and endpoint's own tests exercise its allowed
    path on both. ``MILEPOST_PROBE_EVERYTHING=1`` sends them on SQLite too.
    """
    return connection.vendor == "postgresql" or os.environ.get("MILEPOST_PROBE_EVERYTHING") == "1"
