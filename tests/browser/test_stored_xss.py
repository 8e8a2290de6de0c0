"""STORED XSS: payloads in every free-text field, every page rendered in Chromium, no script runs.

The world of the permission matrix (``milepost.testing.matrix.build_world``) is built with
payloads instead of markers in its texts (deal, account and contact names, contact-role and
influence notes, activity subjects, evidence notes, methodology notes, snooze reasons, 1:1
notes, agenda items, action items, skill observations), and more fields are written through
the services on top: next step, account sector and headquarters, contact title, activity
outcome, an evidence link, 1:1 decisions and item notes, methodology answers and win results,
an API token's name and the designer's texts (process name and description, stage label and
buyer goal, criterion statement and guidance).

Every page of the URL configuration that answers HTML (ids filled as in the matrix) is then
opened in Chromium as a user who may see it (the team's manager, or a sales-ops admin where
the manager is refused), with the HTMX partials it loads. The test fails if

- a payload ran (it calls ``__xss()``, which the page records) or opened a dialog;
- the page reported a CSP violation (an injected inline script or handler the policy stopped)
  or a console error;
- the DOM holds an element made from a payload (an ``on…`` attribute or a ``<script>`` calling
  ``__xss``, a ``javascript:`` link), or a template evaluated ``{{7*7}}``.

It also reads each page's HTML on the server side first: no payload may appear unescaped.

Runs on both databases: the browser and the live server cost the same on SQLite, and the
world is built once per module (see ``conftest.py``).
"""

from __future__ import annotations

import itertools

import pytest
from django.test import Client
from playwright.sync_api import Page

from milepost.accounts.services import account_update, contact_create
from milepost.coaching.sessions.services import agenda_item_update, session_update
from milepost.core.errors import InvalidChange
from milepost.designer.services import (
    draft_criterion_update,
    draft_stage_update,
    draft_update_settings,
)
from milepost.evidence.services import evidence_record
from milepost.methodology.services import assessment_record, influence_save
from milepost.pipeline.services import activity_log, opportunity_update
from milepost.team.services import api_token_create
from milepost.testing.matrix import (
    ANONYMOUS_PAGES,
    World,
    build_world,
    fill,
    page_routes,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases=["default", "jobs"]),
]

# Each text gets one of these, in turn: a script element, handlers in new elements, breaking
# out of a double- and a single-quoted attribute, and a template expression.
PAYLOADS = (
    '<script>__xss()</script>"><svg onload=__xss()>{{7*7}}qq',
    "<img src=x onerror=__xss()>'><svg onload=__xss()>{{7*7}}qq",
)
LONG = PAYLOADS[0] + PAYLOADS[1]
EVALUATED = "49qq"  # what {{7*7}}qq becomes if any template evaluates it

WATCH = """
window.__xssRan = [];
window.__xss = function () { window.__xssRan.push(String(location.href)); };
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile);
});
"""

INJECTED = """() => {
  const found = [];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on") && attr.value.includes("__xss")) {
        found.push(el.tagName + " " + name);
      }
      if (["href", "src", "action", "formaction", "xlink:href"].includes(name)
          && /^\\s*javascript:/i.test(attr.value)) {
        found.push(el.tagName + " " + name + "=" + attr.value);
      }
    }
    if (el.tagName === "SCRIPT" && el.textContent.includes("__xss")) found.push("SCRIPT");
  }
  if (document.documentElement.innerHTML.includes("EVALUATED")) found.push("{{7*7}} evaluated");
  return found;
}""".replace("EVALUATED", EVALUATED)

# What a payload leaves in the HTML when it is not escaped (escaped, ``<`` is ``&lt;``).
RAW = ("<script>__xss", "<img src=x onerror=", "<svg onload=", "<svg/onload=", EVALUATED)


def build_payload_world() -> World:
    turn = itertools.cycle(PAYLOADS)
    world = build_world(text=lambda kind, owner: next(turn))
    org, ids = world.org, world.ids
    deal = ids["opportunity_id"]
    opportunity_update(
        user=org.rep_a1,
        opportunity_id=deal,
        expected_version=_version("pipeline.Opportunity", deal),
        changes={"next_step": LONG},
    )
    account_update(
        user=org.admin,
        account_id=ids["account_id"],
        expected_version=_version("accounts.Account", ids["account_id"]),
        name=f"Acme {PAYLOADS[0]}",
        sector=PAYLOADS[0],
        headquarters=PAYLOADS[1],
        owner_id=org.rep_a1.pk,
    )
    contact_create(
        user=org.admin,
        account_id=ids["account_id"],
        first_name="<img src=x onerror=__xss()>",
        last_name='"><svg onload=__xss()>{{7*7}}qq',
        title=PAYLOADS[1],
    )
    activity_log(user=org.rep_a1, opportunity_id=deal, type="meeting", subject="Demo", outcome=LONG)
    with pytest.raises(InvalidChange):  # a javascript: link is refused where it is written
        evidence_record(
            user=org.rep_a1,
            opportunity_id=deal,
            criterion_key="champion_identified",
            note="x",
            link="javascript:__xss()",
        )
    evidence_record(
        user=org.rep_a1,
        opportunity_id=deal,
        criterion_key="champion_identified",
        note=LONG,
        link='https://example.com/?q="><svg/onload=__xss()>',
    )
    assessment_record(
        user=org.rep_a1,
        opportunity_id=deal,
        pack="strategic_selling",
        element="win_results",
        level="drafted",
        notes=LONG,
        answers={"by_person": LONG},
        expected_version=None,
    )
    influence = ids["influence_id"]
    from milepost.methodology.models import BuyingInfluence

    current = BuyingInfluence.objects.get(pk=influence)
    influence_save(
        user=org.rep_a1,
        opportunity_id=deal,
        pack="strategic_selling",
        contact_id=current.contact_id,
        role=current.role,
        degree=current.degree,
        response_mode=current.response_mode,
        win_results=LONG,
        notes=LONG,
        influence_id=influence,
        expected_version=current.version,
    )
    session = ids["session_id"]
    session_update(
        user=org.manager_a,
        session_id=session,
        expected_version=_version("coaching.CoachingSession", session),
        decisions=LONG,
    )
    agenda_item_update(
        user=org.manager_a,
        session_id=session,
        item_id=ids["item_id"],
        expected_version=_version("coaching.CoachingSession", session),
        notes=LONG,
        decision=PAYLOADS[1],
    )
    api_token_create(user=org.manager_a, name=PAYLOADS[0])
    draft = ids["draft_id"]
    draft_update_settings(
        user=org.admin,
        draft_id=draft,
        expected_version=_version("process.ProcessDraft", draft),
        name=f"Process {PAYLOADS[0]}",
        description=LONG,
    )
    draft_stage_update(
        user=org.admin,
        draft_id=draft,
        expected_version=_version("process.ProcessDraft", draft),
        stage=0,
        label=PAYLOADS[1],
        buyer_goal=LONG,
    )
    draft_criterion_update(
        user=org.admin,
        draft_id=draft,
        expected_version=_version("process.ProcessDraft", draft),
        stage=0,
        criterion=0,
        statement=PAYLOADS[0],
        guidance=LONG,
    )
    return world


def _version(model: str, pk: int) -> int:
    from django.apps import apps

    return apps.get_model(model).objects.values_list("version", flat=True).get(pk=pk)


def html_pages(world: World) -> list[tuple[str, object]]:
    """Every GET page with its filled path and who may see it, read through the test client:
    only pages that answer HTML to someone are opened in the browser."""
    viewers = [world.org.manager_a, world.org.admin]
    clients = {}
    for user in viewers:
        clients[user.pk] = Client()
        clients[user.pk].force_login(user)
    found, raw = [], []
    for route in page_routes():
        if route.method != "GET" or route.name in ANONYMOUS_PAGES:
            continue
        path = fill(route, world)
        for user in viewers:
            response = clients[user.pk].get(path)
            if response.status_code in (403, 404):
                continue
            html = response.get("Content-Type", "").startswith("text/html")
            if response.status_code == 200 and html:
                text = response.content.decode()
                raw += [f"{path} as {user.username}: {r}" for r in RAW if r in text]
                found.append((path, user))
            break
    assert not raw, "payloads unescaped in the HTML:\n" + "\n".join(raw)
    return found


def test_no_payload_runs_on_any_page(live_server, new_page, settle):
    world = build_payload_world()
    pages = html_pages(world)
    assert len(pages) > 40, [p for p, _ in pages]  # the listing found the pages
    problems: list[str] = []
    tabs: dict[int, Page] = {}
    errors: list[str] = []
    for path, user in pages:
        if user.pk not in tabs:
            tabs[user.pk] = _signed_in_tab(new_page, live_server, user, errors, problems)
        page = tabs[user.pk]
        page.goto(live_server.url + path)
        settle(page)  # the HTMX partials the page loads, and theirs
        where = f"{path} as {user.username}"
        problems += [f"{where}: ran at {url}" for url in page.evaluate("window.__xssRan")]
        problems += [f"{where}: CSP {v}" for v in page.evaluate("window.__csp")]
        problems += [f"{where}: injected {i}" for i in page.evaluate(INJECTED)]
        problems += [f"{where}: console {e}" for e in errors]
        errors.clear()
    assert not problems, "\n".join(problems)


def _signed_in_tab(new_page, live_server, user, errors: list[str], problems: list[str]) -> Page:
    """A tab with ``user``'s session cookie (no trip through the sign-in form)."""
    client = Client()
    client.force_login(user)
    page = new_page()
    page.context.add_cookies(
        [
            {
                "name": name,
                "value": morsel.value,
                "url": live_server.url,
            }
            for name, morsel in client.cookies.items()
        ]
    )
    page.context.add_init_script(WATCH)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def dialog(d):
        problems.append(f"dialog {d.type}: {d.message} at {page.url}")
        d.dismiss()

    page.on("dialog", dialog)
    return page
