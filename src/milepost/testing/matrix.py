"""The generated permission matrix: every route x every role x session and token.

The routes are read from the URL configuration (pages) and the OpenAPI document (API
operations) when the tests are collected, so a new page or endpoint is probed without anyone
writing a row for it. Its path parameters are filled from one world (:func:`build_world`) in
which every kind of row belongs to ``rep_a1``; whether a prober may see those rows comes from
the one visibility rule, restated here on its own (not by calling the code under test):

- deals and what hangs off them (accounts, contacts, roles, activities, evidence, scores,
  influences, snoozes): the owner, everyone above the owner in the reporting line, admins;
- coaching records (1:1 sessions, their items and notes, action items, ratings, cadences): the
  rep, everyone above the rep, the session's manager; **not** admins by role;
- a user as such (``manager_id``): the user, everyone above, admins;
- API tokens: their owner only.

A route parameter the matrix does not know fails the route's test, naming the parameter: add a
filler to :data:`FILLERS` (and, if it points at a user's row, to :data:`OWNERSHIP`) or exempt
the route in :data:`EXEMPT_ROUTES` with the reason.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from milepost.testing.factories import Org, make_org

# --- the routes -------------------------------------------------------------------------------

API_PREFIX = "api/"

# Routes the matrix does not request, each with the reason. Everything else in the URL
# configuration and the OpenAPI document is probed.
EXEMPT_ROUTES: dict[str, str] = {
    # Django's admin is staff-only by Django's own check and has hundreds of generated routes;
    # web/tests/test_admin.py and team/tests/test_admin_hardening.py probe it as every role.
    "admin/": "the Django admin (probed by web/tests/test_admin.py, test_admin_hardening.py)",
    # The API's own documentation is not an operation of the OpenAPI document; the operations
    # are probed through the document below.
    "api/v1/openapi.json": "the OpenAPI document itself (public description, no rows)",
    "api/v1/docs": "Swagger UI around the OpenAPI document (tests/browser/test_api_docs.py)",
}

# Pages anonymous users may open (everything else sends them to sign-in). Signed-in roles are
# still probed on them (never a 5xx).
ANONYMOUS_PAGES: dict[str, str] = {
    "home": "a redirect to the board (which sends anonymous users to sign-in)",
    "login": "the sign-in form",
    "logout": "ends the caller's own session (a no-op without one)",
    "csp_report": "browsers post CSP violation reports without a session",
    "security:login_code": "sign-in's second step (sends back to sign-in without a parked user)",
    "security:password_reset": "asks for an email address",
    "security:password_reset_done": "a fixed message",
    "security:password_reset_confirm": "the signed link from the email",
    "security:password_reset_complete": "a fixed message",
}

# Requests that end the prober's own session or change their credentials would sign the
# shared client out for the rest of the module; the client's cookies are restored after each
# request, so none needs an exemption.

_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "int", "str", "slug", "uuid"


@dataclass(frozen=True)
class Route:
    """One request shape: a page (URL name, pattern) or an API operation (method, path)."""

    kind: str  # "page" or "api"
    method: str
    template: str  # "/pipeline/opportunities/{opportunity_id}/" (OpenAPI style)
    name: str  # the URL name of a page; "METHOD /api/path" for an operation
    params: tuple[Param, ...]
    body: dict[str, Any] | None = None  # the operation's JSON body schema
    query: tuple[tuple[str, dict[str, Any]], ...] = ()  # required query parameters

    @property
    def id(self) -> str:
        return f"{self.method} {self.template}"


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[tuple]:
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield prefix + str(pattern.pattern), name, pattern.callback


def _exempt(route: str) -> bool:
    return any(
        route == key or (key.endswith("/") and route.startswith(key)) for key in EXEMPT_ROUTES
    )


def served_methods(view: Callable[..., Any]) -> set[str]:
    """GET and/or POST, as far as the view says which it serves: a class-based view by its
    handlers, a function by ``require_http_methods`` (``require_POST``, ...) anywhere in its
    decorators. A view that says nothing is probed with both."""
    both = {"GET", "POST"}
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        return {m.upper() for m in view_class.http_method_names if hasattr(view_class, m)} & both
    function: Any = view
    while function is not None:
        try:
            methods = inspect.getclosurevars(function).nonlocals.get("request_method_list")
        except TypeError:
            methods = None
        if methods is not None:
            return set(methods) & both
        function = getattr(function, "__wrapped__", None)
    return both


def page_routes() -> list[Route]:
    """Every page of the URL configuration, with each method it serves (a POST carries an
    empty form)."""
    found = []
    for pattern, name, view in _walk(get_resolver()):
        if pattern.startswith(API_PREFIX) or _exempt(pattern):
            continue
        params = tuple(Param(p, conv or "str") for conv, p in _PARAM.findall(pattern))
        template = "/" + _PARAM.sub(r"{\2}", pattern)
        for method in sorted(served_methods(view)):
            found.append(Route("page", method, template, name or pattern, params))
    return found


def api_routes() -> list[Route]:
    """Every operation of the OpenAPI document, with its body schema and required query."""
    from milepost.api import api

    document = api.get_openapi_schema()
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            params, query = [], []
            for p in operation.get("parameters", []):
                schema = _resolve(document, p.get("schema", {}))
                if p["in"] == "path":
                    kind = "int" if schema.get("type") == "integer" else "str"
                    params.append(Param(p["name"], kind))
                elif p["in"] == "query" and p.get("required"):
                    query.append((p["name"], schema))
            body = None
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = content["application/json"]["schema"]
            found.append(
                Route(
                    "api",
                    method.upper(),
                    path,
                    f"{method.upper()} {path}",
                    tuple(params),
                    body,
                    tuple(query),
                )
            )
    return found


def all_routes() -> list[Route]:
    return page_routes() + api_routes()


# --- the world --------------------------------------------------------------------------------

PROBERS = ("rep_a1", "rep_a2", "manager_a", "manager_b", "leader", "admin")
"""The roles of the matrix: the rep who owns the rows, another rep of the same team, the
team's manager, the manager of another team, the leader above both, a sales-ops admin; and
anonymous. There is no buyer role yet: when one comes (mutual action plans), add it here with
the rows a buyer may see."""

OWNER = "rep_a1"  # every probed row is rep_a1's (or, for manager_id, rep_a1's manager's)


def marker(kind: str, username: str) -> str:
    """A word that only the rows of ``username`` of ``kind`` carry (survives escaping)."""
    return f"Zq{kind}{username.replace('_', '')}qZ"


@dataclass
class World:
    org: Org
    ids: dict[str, Any]  # filler values by parameter name
    tokens: dict[str, str] = field(default_factory=dict)  # prober username -> bearer secret


def build_world(text: Callable[[str, str], str] = marker) -> World:
    """rep_a1's rows of every kind (the probe targets), rep_b1's and a deal of rep_solo (who
    reports to nobody, so even the leader may not see it) for list checks; each
    text carrying ``text(kind, owner)`` (kind: ``deal`` or ``coach``; by default the owner's
    marker, the stored-XSS test gives payloads); one API token per prober."""
    from milepost.accounts.services import account_create, contact_create
    from milepost.coaching.models import CoachingCadence
    from milepost.coaching.sessions.services import (
        action_item_add,
        agenda_item_add,
        session_create,
        session_update,
    )
    from milepost.coaching.skills.services import rating_add
    from milepost.designer.services import draft_start
    from milepost.evidence.services import evidence_record
    from milepost.inspection.snoozes.services import snooze_create
    from milepost.methodology.services import assessment_record, influence_save
    from milepost.pipeline.services import activity_log, opportunity_contact_add
    from milepost.process.models import SalesProcess
    from milepost.team.services import api_token_create
    from milepost.testing.factories import make_opportunity

    org = make_org()
    for user in org.everyone:
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])
    rows: dict[str, dict[str, Any]] = {}
    for owner, manager in ((org.rep_a1, org.manager_a), (org.rep_b1, org.manager_b)):
        deal_mark, coach_mark = text("deal", owner.username), text("coach", owner.username)
        account = account_create(
            user=org.admin, name=f"Account {owner.username} {deal_mark}", owner_id=owner.pk
        )
        contact = contact_create(
            user=org.admin, account_id=account.pk, first_name="Dana", last_name=deal_mark
        )
        deal = make_opportunity(owner, account=account, stage_key="commit", name=deal_mark)
        link = opportunity_contact_add(
            user=org.admin,
            opportunity_id=deal.pk,
            contact_id=contact.pk,
            buying_role="economic_buyer",
            notes=deal_mark,
        )
        activity = activity_log(
            user=owner, opportunity_id=deal.pk, type="call", subject=f"Call {deal_mark}"
        )
        evidence = evidence_record(  # a buyer claim awaiting review, with its artefact
            user=owner,
            opportunity_id=deal.pk,
            criterion_key="economic_buyer_engaged",
            note=f"Met {deal_mark}",
            buyer_confirmed=True,
            confirmed_by_id=contact.pk,
            evidence_date=date.today(),
            artefact_kind="meeting_notes",
            artefact_text=f"Meeting notes with the economic buyer: {deal_mark}",
        )
        assessment_record(
            user=owner,
            opportunity_id=deal.pk,
            pack="strategic_selling",
            element="single_sales_objective",
            level="drafted",
            notes=deal_mark,
        )
        influence = influence_save(
            user=owner,
            opportunity_id=deal.pk,
            pack="strategic_selling",
            contact_id=contact.pk,
            role="economic",
            degree="high",
            response_mode="growth",
            notes=deal_mark,
        )
        snooze = snooze_create(
            user=manager,
            opportunity_id=deal.pk,
            reason=f"Waiting {deal_mark}",
            until=date.today() + timedelta(days=20),
        )
        session = session_create(
            user=manager, rep_id=owner.pk, scheduled_for=timezone.now() + timedelta(days=2)
        )
        item = agenda_item_add(
            user=manager,
            session_id=session.pk,
            expected_version=session.version,
            title=f"Talk {coach_mark}",
        )
        session.refresh_from_db()
        session = session_update(
            user=manager,
            session_id=session.pk,
            expected_version=session.version,
            notes=f"Notes {coach_mark}",
        )
        action = action_item_add(
            user=manager,
            session_id=session.pk,
            title=f"Do {coach_mark}",
            due_date=date.today() + timedelta(days=5),
            owner_id=owner.pk,
            opportunity_id=deal.pk,
        )
        rating_add(
            user=manager,
            rep_id=owner.pk,
            competency="active_listening",
            score=3,
            observation=f"Seen {coach_mark}",
        )
        CoachingCadence.objects.create(
            manager=manager, rep=owner, time_of_day=time(10), starts_on=date.today()
        )
        rows[owner.username] = {
            "opportunity_id": deal.pk,
            "account_id": account.pk,
            "contact_id": contact.pk,
            "link_id": link.pk,
            "activity_id": activity.pk,
            "evidence_id": evidence.pk,
            "artefact_id": evidence.artefact_id,
            "influence_id": influence.pk,
            "snooze_id": snooze.pk,
            "session_id": session.pk,
            "item_id": item.pk,
            "action_id": action.pk,
            "rep_id": owner.pk,
        }
    # rep_solo reports to nobody: the one deal the leader may not see (admins may).
    solo_mark = text("deal", org.rep_solo.username)
    solo_account = account_create(
        user=org.admin, name=f"Account rep_solo {solo_mark}", owner_id=org.rep_solo.pk
    )
    contact_create(
        user=org.admin, account_id=solo_account.pk, first_name="Sam", last_name=solo_mark
    )
    make_opportunity(org.rep_solo, account=solo_account, stage_key="commit", name=solo_mark)
    target_token = api_token_create(user=org.rep_a1, name="probe target")
    process = SalesProcess.objects.get(key="new_business")
    live = process.current_version()
    assert live is not None
    draft = draft_start(user=org.admin, process_key="new_business")
    ids = {
        **rows[OWNER],
        "manager_id": org.manager_a.pk,
        "token_id": target_token.token.pk,
        "draft_id": draft.pk,
        "job_id": uuid.UUID(int=7),
        "number": live.number,
        "stage_key": "commit",
        "criterion_key": "economic_buyer_engaged",
        "pack": "strategic_selling",
        "element": "single_sales_objective",
        "action": "start",
        "criterion": 0,
        "uidb64": "MQ",
        "token": "set-password",
    }
    world = World(org=org, ids=ids)
    for username in PROBERS:
        world.tokens[username] = api_token_create(user=user_of(org, username), name="matrix").secret
    return world


def user_of(org: Org, username: str) -> Any:
    return getattr(org, username)


# --- filling a route ------------------------------------------------------------------------


class UnknownParameter(LookupError):
    """A route parameter the matrix cannot fill: add a filler or an exemption."""


def _process_key(route: Route) -> str:
    return "meddpicc" if "/packs/" in route.template else "new_business"


def _stage(route: Route, param: Param) -> Any:
    return 0 if param.kind == "int" else "commit"


FILLERS: dict[str, Callable[[World, Route, Param], Any]] = {
    **{
        name: (lambda w, r, p, name=name: w.ids[name])
        for name in (
            "opportunity_id",
            "account_id",
            "contact_id",
            "link_id",
            "activity_id",
            "evidence_id",
            "artefact_id",
            "influence_id",
            "snooze_id",
            "session_id",
            "item_id",
            "action_id",
            "rep_id",
            "manager_id",
            "token_id",
            "draft_id",
            "job_id",
            "number",
            "stage_key",
            "criterion_key",
            "pack",
            "element",
            "action",
            "criterion",
            "uidb64",
            "token",
        )
    },
    "key": lambda w, r, p: _process_key(r),
    "kind": lambda w, r, p: "email_from_account_domain",  # an evidence acceptance rule
    "stage": lambda w, r, p: _stage(r, p),
}
"""How each path parameter is filled (by name; ``stage`` is an index in the designer and a
key elsewhere, ``key`` a pack under ``/packs/`` and a process elsewhere)."""


OWNERSHIP: dict[str, str] = {
    "opportunity_id": "deal",
    "account_id": "deal",
    "contact_id": "deal",
    "link_id": "deal",
    "activity_id": "deal",
    "evidence_id": "deal",
    "artefact_id": "deal",
    "influence_id": "deal",
    "snooze_id": "deal",
    "session_id": "coaching",
    "item_id": "coaching",
    "action_id": "coaching",
    "rep_id": "coaching",
    "manager_id": "user",
    "token_id": "own",
}
"""Parameters that point at someone's rows, and which rule says who may see them. The others
(process keys, stages, drafts, packs) name reference data every signed-in user may read or
only admins may change; the hand-written probes of their modules hold those role rules."""


def fill(route: Route, world: World) -> str:
    values = {}
    for param in route.params:
        filler = FILLERS.get(param.name)
        if filler is None:
            raise UnknownParameter(
                f"{route.id}: no filler for the path parameter {param.name!r}; add one to "
                "milepost.testing.matrix.FILLERS (and OWNERSHIP if it names someone's row), "
                "or exempt the route in EXEMPT_ROUTES with the reason"
            )
        values[param.name] = filler(world, route, param)
    path = route.template.format_map(values)
    if route.query:
        from urllib.parse import urlencode

        path += "?" + urlencode({n: example(s, world, name=n) for n, s in route.query})
    return path


# --- who may see rep_a1's rows (the rule, restated) -----------------------------------------


def _above(org: Org, username: str) -> set[str]:
    """Everyone above ``username`` in the reporting line."""
    found: set[str] = set()
    user = user_of(org, username)
    while user.manager_id is not None:
        user = next(u for u in org.everyone if u.pk == user.manager_id)
        found.add(user.username)
    return found


def may_see(org: Org, prober: str, rule: str) -> bool:
    """Whether ``prober`` may see the matrix's target row of ``rule``'s kind."""
    if rule == "own":
        return prober == OWNER
    if rule == "user":  # manager_a as a user
        return prober == "manager_a" or prober in _above(org, "manager_a") or prober == "admin"
    sees = {OWNER} | _above(org, OWNER)
    if rule == "deal":
        sees.add("admin")
    return prober in sees  # coaching: the rep, above the rep (the session's manager is above)


def hidden_rules(route: Route, org: Org, prober: str) -> list[str]:
    """The rules by which ``route``'s target rows are hidden from ``prober`` (empty: visible)."""
    rules = {OWNERSHIP[p.name] for p in route.params if p.name in OWNERSHIP}
    rules |= {OWNERSHIP[n] for n in _body_fields(route) if n in OWNERSHIP}
    return sorted(rule for rule in rules if not may_see(org, prober, rule))


def hidden_markers(org: Org, prober: str) -> list[str]:
    """Markers of rows ``prober`` may not see, for any body it is answered."""
    found = []
    for owner in ("rep_a1", "rep_b1", "rep_solo"):
        line = {owner} | _above(org, owner)
        if prober not in line and prober != "admin":
            found.append(marker("deal", owner))
        if prober not in line:
            found.append(marker("coach", owner))
    return found


# --- request bodies from the OpenAPI document ------------------------------------------------


def _document() -> dict[str, Any]:
    from milepost.api import api

    return api.get_openapi_schema()


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _body_fields(route: Route) -> list[str]:
    if route.body is None:
        return []
    schema = _resolve(_document(), route.body)
    return list(schema.get("required", []))


def example(schema: dict[str, Any], world: World, *, name: str = "") -> Any:
    """A small valid value for ``schema``: required fields only, ids from the world."""
    document = _document()
    schema = _resolve(document, schema)
    if name in OWNERSHIP and name in world.ids:
        return world.ids[name]
    if name == "version":
        return 1
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for combinator in ("allOf", "anyOf", "oneOf"):
        if combinator in schema:
            options = [_resolve(document, s) for s in schema[combinator]]
            options = [s for s in options if s.get("type") != "null"] or options
            return example(options[0], world, name=name)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {key: example(props[key], world, name=key) for key in schema.get("required", [])}
    if kind == "array":
        return [example(schema.get("items", {}), world) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return max(schema.get("minimum", 1), 1)
    if kind == "boolean":
        return False
    fmt = schema.get("format")
    if fmt == "date":
        return (date.today() + timedelta(days=7)).isoformat()
    if fmt == "date-time":
        return (datetime.now(tz=UTC) + timedelta(days=1)).isoformat()
    if fmt == "time":
        return "10:00:00"
    if fmt == "email":
        return "probe@example.com"
    if fmt in ("uri", "url"):
        return "https://example.com/"
    return "probe" + "x" * max(0, schema.get("minLength", 0) - 5)
