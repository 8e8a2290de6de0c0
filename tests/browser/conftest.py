"""Browser tests: a real Chromium (Debian's, driven by Playwright's sync API) against
pytest-django's ``live_server``.

They run on PostgreSQL, the production database, only: they test what a person sees and does,
which does not depend on the database, and each one empties the database after it (a flush),
so running them twice doubled the slowest part of the suite. On SQLite they are not collected,
except the stored-XSS render (``BOTH_DATABASES``), which the security battery runs on both.

Playwright's sync API runs an asyncio loop in this thread, which makes Django refuse ORM calls
("async unsafe") in the test body; the tests only touch the database between browser steps, so
that guard is switched off here.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from milepost.testing.factories import PASSWORD, Org, ensure_default_processes, make_org

# The stored-XSS render (test_stored_xss.py) is part of the security battery, which runs on
# both databases.
BOTH_DATABASES = {"test_stored_xss.py"}
if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    collect_ignore = [
        path.name
        for path in Path(__file__).parent.glob("test_*.py")
        if path.name not in BOTH_DATABASES
    ]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Browser:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# Counts the page's own requests (HTMX uses XMLHttpRequest; some scripts use fetch), so a test
# can wait until a page and the partials it loads after itself have arrived.
NETWORK_WATCH = """
window.__inflight = 0;
window.__lastNet = performance.now();
(function () {
  const done = function () { window.__inflight--; window.__lastNet = performance.now(); };
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function () {
    window.__inflight++;
    window.__lastNet = performance.now();
    this.addEventListener("loadend", done);
    return send.apply(this, arguments);
  };
  const fetch = window.fetch;
  window.fetch = function () {
    window.__inflight++;
    window.__lastNet = performance.now();
    return fetch.apply(this, arguments).finally(done);
  };
})();
"""

# Loaded, and no request of the page's in flight for 150 ms: Playwright's "networkidle" waits
# for 500 ms of silence after every page, which was seconds per test.
SETTLED = """() => document.readyState === "complete" && (window.__inflight || 0) === 0
  && performance.now() - (window.__lastNet || 0) > 150"""


def _settle(page: Page, timeout: float = 15_000) -> None:
    """Wait until ``page`` has loaded and the HTMX partials it loads after itself arrived."""
    page.wait_for_function(SETTLED, timeout=timeout)


@pytest.fixture
def settle():
    """``settle(page)``: wait until the page and the partials it loads after itself arrived."""
    return _settle


@pytest.fixture
def new_page(browser: Browser):
    """``new_page(**context_options)`` opens a tab in a fresh browser context.

    Chromium fetches /favicon.ico on its own after a page loads. With SQLite the live server
    shares the test's database connection, so such a stray request could run while the test
    body queries the database; answering it in the browser keeps the server quiet between steps.
    """
    contexts = []

    def _open(**options) -> Page:
        context = browser.new_context(viewport={"width": 1600, "height": 1000}, **options)
        context.set_default_timeout(15_000)
        context.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))
        context.add_init_script(NETWORK_WATCH)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        # Let requests the page started (HTMX re-fetches, deferred control dots) finish before
        # the test's flush: an answer still being served holds table locks that deadlock the
        # TRUNCATE. A wait on the browser's own state, not a sleep.
        for tab in context.pages:
            with contextlib.suppress(PlaywrightError):  # a page that never settles still closes
                _settle(tab, timeout=10_000)
        context.close()


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


@pytest.fixture
def org(transactional_db) -> Org:
    return make_org()


@pytest.fixture
def processes(transactional_db) -> None:
    ensure_default_processes()


def _sign_in_with_the_form(page: Page, live_server, user) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/pipeline/")


def _sign_in_with_a_cookie(page: Page, live_server, user, at: str) -> None:
    """The session Django's own ``login()`` makes, handed to the browser as its cookie; then
    open ``at`` (a path or a full URL)."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {"name": name, "value": morsel.value, "url": live_server.url}
            for name, morsel in client.cookies.items()
        ]
    )
    page.goto(at if at.startswith("http") else f"{live_server.url}{at}")


@pytest.fixture
def login(live_server, page: Page):
    """``login(user)`` signs ``user`` in and lands on the board (``at=`` another page).

    With a session cookie made by Django's ``login()``: going through the form is two page
    loads and a password check per test, and what it proves is proved once, by
    ``login_with_the_form`` in the sign-in test (test_pipeline_pages.py).
    """

    def _login(user, at: str = "/pipeline/") -> Page:
        _sign_in_with_a_cookie(page, live_server, user, at)
        return page

    return _login


@pytest.fixture
def sign_in(live_server):
    """``sign_in(page, user, at="/pipeline/")``: ``login`` for another tab (a second user)."""

    def _sign_in(page: Page, user, at: str = "/pipeline/") -> Page:
        _sign_in_with_a_cookie(page, live_server, user, at)
        return page

    return _sign_in


@pytest.fixture
def login_with_the_form(live_server, page: Page):
    """``login_with_the_form(user)`` signs in through the real sign-in form, lands on the board."""

    def _login(user) -> Page:
        _sign_in_with_the_form(page, live_server, user)
        return page

    return _login
