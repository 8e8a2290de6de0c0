"""Every page and every API operation is tried by a permission probe, by construction.

The routes come from the URL configuration and the OpenAPI document, the coverage from the
``PROBED`` declaration of every test module in the package (see ``milepost.testing.probes``).
A new page or endpoint fails here until a probe table tries it as each role with other users'
ids; a declaration naming a route that is gone fails too, so the declarations stay true.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver

import milepost
from milepost.api import api
from milepost.testing.probes import ProbeCoverage

# Routes that are meant for anonymous users or show no per-row data: nothing to probe.
PUBLIC_PAGES = {
    "home": "redirects to the pipeline board; the board is probed",
    "login": "the sign-in form, for anonymous users",
    "logout": "ends the caller's own session; reads and writes no row",
    "csp_report": "browsers post CSP violation reports; logged, reads and writes no row",
    "security:login_code": "sign-in's second step, for the user whose password was just right",
    "security:password_reset": "asks for an email address; says the same whoever has it",
    "security:password_reset_done": "a fixed message",
    "security:password_reset_confirm": "needs the signed token from the email (tested)",
    "security:password_reset_complete": "a fixed message",
}
# The API's own documentation (``/api/v1/docs``, ``/api/v1/openapi.json``) is not an operation
# of the OpenAPI document, so it needs no entry here; add one with its reason if that changes.
PUBLIC_OPERATIONS: dict[tuple[str, str], str] = {}

EXCLUDED_PREFIXES = ("admin/", "api/", "static/")


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[tuple]:
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield prefix + str(pattern.pattern), name


def named_pages() -> set[str]:
    pages = set()
    for route, name in _walk(get_resolver()):
        if route.startswith(EXCLUDED_PREFIXES):
            continue
        assert name, f"page {route!r} has no URL name: name it so it can be probed"
        pages.add(name)
    return pages


def operations() -> set[tuple[str, str]]:
    paths = api.get_openapi_schema()["paths"]
    return {(method.upper(), path) for path, ops in paths.items() for method in ops}


def declarations() -> dict[str, ProbeCoverage]:
    """``PROBED`` of every ``milepost.*.tests.test_*`` module, by module name."""
    found = {}
    for info in pkgutil.walk_packages(milepost.__path__, prefix="milepost."):
        leaf = info.name.rsplit(".", 1)[-1]
        if info.ispkg or ".tests." not in info.name or not leaf.startswith("test_"):
            continue
        module = importlib.import_module(info.name)
        declared = getattr(module, "PROBED", None)
        if declared is not None:
            assert isinstance(declared, ProbeCoverage), f"{info.name}.PROBED"
            found[info.name] = declared
    return found


def covered() -> ProbeCoverage:
    union = ProbeCoverage()
    for declared in declarations().values():
        union = union | declared
    return union


def test_the_route_listing_finds_pages_and_operations():
    """Guards the walk itself: an empty listing would make every other check pass."""
    pages, ops = named_pages(), operations()
    assert {"pipeline:detail", "coaching:session", "skills:rep"} <= pages
    assert ("GET", "/api/v1/opportunities/{opportunity_id}") in ops
    assert len(pages) > 50
    assert len(ops) > 50


def test_every_page_is_probed_or_public():
    missing = named_pages() - covered().pages - set(PUBLIC_PAGES)
    assert not missing, "pages without a permission probe:\n" + "\n".join(sorted(missing))


def test_every_operation_is_probed_or_public():
    missing = operations() - covered().operations - set(PUBLIC_OPERATIONS)
    listed = "\n".join(f"{m} {p}" for m, p in sorted(missing))
    assert not missing, "API operations without a permission probe:\n" + listed


def test_every_declared_route_exists():
    pages, ops = named_pages(), operations()
    gone = []
    for module, declared in declarations().items():
        gone += [f"{module}: page {name}" for name in declared.pages - pages]
        gone += [f"{module}: {m} {p}" for m, p in declared.operations - ops]
    gone += [f"PUBLIC_PAGES: {name}" for name in set(PUBLIC_PAGES) - pages]
    gone += [f"PUBLIC_OPERATIONS: {m} {p}" for m, p in set(PUBLIC_OPERATIONS) - ops]
    assert not gone, "declared routes that do not exist:\n" + "\n".join(gone)


def test_public_routes_are_not_also_probed():
    """A route is either public with a reason or probed, never both: the list stays short."""
    both = (set(PUBLIC_PAGES) & covered().pages) | (set(PUBLIC_OPERATIONS) & covered().operations)
    assert not both
