"""THE GENERATED PERMISSION MATRIX: every page and operation, as every role, session and token.

The parametrisation is read from the URL configuration and the OpenAPI document at collection
time (``milepost.testing.matrix``), so a new route is in the matrix the moment it exists; one
whose path parameters the matrix cannot fill fails here until it gets a filler or a commented
exemption. Each route is one test that requests it as

- ``rep_a1`` (who owns every target row), ``rep_a2`` (another rep of the team), ``manager_a``
  (the team's manager), ``manager_b`` (another team's), ``leader``, ``admin`` (sales-ops), each
  signed in with a session and, on the API, with a bearer token; and anonymous.

and asserts, for every answer:

- never a 5xx;
- anonymous: a redirect to sign-in (pages) or 401 (API);
- a row the prober may not see (by the one visibility rule, restated in the matrix module) is
  refused with 403 or 404, for reads and writes alike; writes carry a body built from the
  OpenAPI schema, so they reach the permission check instead of stopping at validation;
- no answer carries the text of a row the prober may not see (every row's text holds a marker
  of its owner; lists and pages included).

Every request that must be refused (anonymous, hidden rows) is sent on both databases; those
that must succeed as every prober on PostgreSQL, with a token once an operation, and as the
first prober allowed on SQLite (``sent``; ``milepost.testing.probes.allowed_answers_probed``
says why). Each request runs in a savepoint
that is rolled back, so one prober's write does not change
what the next one finds. The hand-written probe modules (``PROBED``) assert more: exact statuses
per role, that a refused write stores nothing, role rules on reference data. This is the net
under them.
"""

from __future__ import annotations

import json
from http.cookies import SimpleCookie

import pytest
from django.conf import settings
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client

from milepost.testing.matrix import (
    ANONYMOUS_PAGES,
    EXEMPT_ROUTES,
    FILLERS,
    PROBERS,
    Route,
    World,
    all_routes,
    build_world,
    example,
    fill,
    hidden_markers,
    hidden_rules,
    user_of,
)
from milepost.testing.probes import allowed_answers_probed
from milepost.testing.worlds import shared_world

# Publishing a draft records its job on the ``jobs`` connection (the immediate backend here).
pytestmark = pytest.mark.django_db(databases=["default", "jobs"])

ROUTES = all_routes()
# A hidden row is refused as missing (404) or forbidden (403). A request the route cannot take
# at all is refused before any row is read: a method it does not serve (405), a body that
# fails its schema (400, 422; the marker check below makes sure such an answer names nothing
# of the row). Never 409: "changed by someone else (now version N)" tells that the row exists.
REFUSED = (400, 403, 404, 405, 422)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    yield from shared_world(django_db_blocker, build_world)


@pytest.fixture(scope="module")
def clients(world: World, django_db_blocker) -> dict[tuple[str, str], Client]:
    """One client per (prober, auth), signed in once for the module."""
    found = {("anonymous", "none"): Client()}
    with django_db_blocker.unblock():
        for username in PROBERS:
            session = Client()
            session.force_login(user_of(world.org, username))
            found[(username, "session")] = session
            bearer = f"Bearer {world.tokens[username]}"
            found[(username, "token")] = Client(headers={"Authorization": bearer})
    return found


def send(client: Client, route: Route, path: str, body: object):
    """One request in a savepoint that is rolled back; the client's cookies are kept as they
    were (a request may sign the session out or rotate it)."""
    cookies = SimpleCookie(client.cookies)
    with transaction.atomic():
        if route.kind == "page":
            response = (
                client.generic(route.method, path)
                if route.method == "GET"
                else (client.post(path, {}))
            )
        elif body is None:
            response = client.generic(route.method, path)
        else:
            response = client.generic(
                route.method, path, json.dumps(body), content_type="application/json"
            )
        transaction.set_rollback(True)
    client.cookies = cookies
    return response


def problems(route: Route, world: World, prober: str, auth: str, response) -> list[str]:
    who = f"{route.id} as {prober} ({auth}): {response.status_code}"
    status = response.status_code
    if status >= 500:
        return [f"{who} server error"]
    if prober == "anonymous":
        if route.kind == "api":
            return [] if status == 401 else [f"{who}, expected 401"]
        if route.name in ANONYMOUS_PAGES:
            return []
        login = resolve_url(settings.LOGIN_URL)
        if status == 302 and response["Location"].startswith(login):
            return []
        return [f"{who}, expected a redirect to {login}"]
    found = []
    hidden = hidden_rules(route, world.org, prober)
    # A plain (non-HTMX) form that fails validation redirects back with a message, before any
    # row is read: a page POST with an empty form may answer 302 (it names nothing: see below).
    form_bounce = route.kind == "page" and route.method == "POST" and status == 302
    if hidden and status not in REFUSED and not form_bounce:
        found.append(f"{who}, expected a refusal: the row is hidden by the {hidden} rule")
    if not response.streaming:
        text = response.content.decode("utf-8", "replace") + response.get("Location", "")
        leaked = [m for m in hidden_markers(world.org, prober) if m in text]
        if leaked:
            found.append(f"{who} shows rows the prober may not see: {leaked}")
    return found


def probers_of(route: Route) -> list[tuple[str, str]]:
    auths = ("session", "token") if route.kind == "api" else ("session",)
    return [("anonymous", "none")] + [(p, a) for p in PROBERS for a in auths]


def sent(route: Route, world: World) -> list[tuple[str, str]]:
    """The (prober, auth) pairs a route is requested as. Every request that must be refused
    (anonymous; a prober from whom a target row is hidden), with a session and a token. The
    requests that must succeed: on PostgreSQL (``allowed_answers_probed``), each prober with a
    session, and with a token the first prober allowed (what follows the sign-in does not
    depend on how it was made; one answer per operation shows a token reaches it); on SQLite,
    the first prober allowed, with a session (every route answered once on that database too,
    its text checked for hidden rows)."""
    if not allowed_answers_probed():
        pairs, answered = [], False
        for prober, auth in probers_of(route):
            if prober == "anonymous" or hidden_rules(route, world.org, prober):
                pairs.append((prober, auth))
            elif not answered and auth == "session":
                pairs.append((prober, auth))
                answered = True
        return pairs
    pairs, token_answered = [], False
    for prober, auth in probers_of(route):
        refused = prober == "anonymous" or hidden_rules(route, world.org, prober)
        if auth == "token" and not refused:
            if token_answered:
                continue
            token_answered = True
        pairs.append((prober, auth))
    return pairs


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_route_as_every_role(route: Route, world: World, clients):
    path = fill(route, world)
    body = example(route.body, world) if route.body is not None else None
    failures = []
    for prober, auth in sent(route, world):
        response = send(clients[(prober, auth)], route, path, body)
        failures += problems(route, world, prober, auth, response)
    assert not failures, "\n".join(failures)


def test_the_matrix_reads_every_route():
    """Guards the listing: an empty or partial one would make every other check pass."""
    pages = {r.name for r in ROUTES if r.kind == "page"}
    operations = {r.id for r in ROUTES if r.kind == "api"}
    assert {"pipeline:detail", "coaching:session", "skills:rep", "security:events"} <= pages
    assert "GET /api/v1/opportunities/{opportunity_id}" in operations
    assert len(pages) > 100
    assert len(operations) > 90


def test_every_exemption_and_filler_is_used():
    """An exemption or filler naming nothing that exists is stale: remove it."""
    from django.urls import get_resolver

    from milepost.testing.matrix import _walk

    patterns = [p for p, _, _ in _walk(get_resolver())]
    stale = [key for key in EXEMPT_ROUTES if not any(p.startswith(key) for p in patterns)]
    used = {p.name for r in ROUTES for p in r.params}
    stale += [f"filler {name}" for name in FILLERS if name not in used]
    pages = {r.name for r in ROUTES if r.kind == "page"}
    stale += [f"anonymous page {name}" for name in ANONYMOUS_PAGES if name not in pages]
    assert not stale, stale
