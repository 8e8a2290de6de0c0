"""Styled 403/404/500 pages, HTMX fragments instead of pages, no debug page with DEBUG off."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import IntegrityError, InterfaceError, OperationalError
from django.test import Client, override_settings
from django.urls import reverse

from milepost.team.models import Role
from milepost.testing.factories import make_user
from milepost.testing.worlds import shared_world

HTMX = {"HTTP_HX_REQUEST": "true"}
REPO = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def rep(django_db_setup, django_db_blocker):
    yield from shared_world(django_db_blocker, lambda: make_user("err_rep", Role.REP))


@pytest.fixture
def client_rep(db, rep):
    client = Client()
    client.force_login(rep)
    return client


@override_settings(DEBUG=False)
def test_non_admin_on_the_designer_gets_the_styled_403(client_rep):
    response = client_rep.get(reverse("process:designer"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "<!doctype html>" in html
    assert "milepost.css" in html
    assert "You cannot open this page" in html
    assert 'href="/"' in html


@override_settings(DEBUG=False)
def test_htmx_403_is_a_fragment_not_a_page(client_rep):
    response = client_rep.get(reverse("process:designer"), **HTMX)
    assert response.status_code == 403
    html = response.content.decode()
    assert "You cannot open this page" in html
    assert "<html" not in html


@override_settings(DEBUG=False)
def test_unknown_url_gets_the_styled_404_without_url_patterns(client_rep):
    response = client_rep.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert "milepost.css" in html
    assert "URLconf" not in html
    assert "api/v1/" not in html


@override_settings(DEBUG=False)
def test_htmx_404_is_a_fragment(client_rep):
    response = client_rep.get("/no-such-page/", **HTMX)
    assert response.status_code == 404
    assert "<html" not in response.content.decode()
    assert "Page not found" in response.content.decode()


@pytest.mark.django_db
def test_500_renders_without_a_request_or_database(django_assert_num_queries, rf):
    from milepost.web import errors

    with django_assert_num_queries(0):
        response = errors.server_error(rf.get("/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert 'href="/"' in html


@override_settings(DEBUG=False)
def test_an_exception_in_a_view_gets_the_styled_500(client_rep, monkeypatch):
    from milepost.deals import views

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.presentation, "board_columns", boom)
    client_rep.raise_request_exception = False
    response = client_rep.get(reverse("pipeline:board"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("connection to server at 127.0.0.1, port 5432 failed"),
        InterfaceError("connection already closed"),
    ],
    ids=["refused", "closed"],
)
@pytest.mark.parametrize(
    ("path", "headers", "expect"),
    [
        ("/pipeline/", {}, "<!doctype html>"),
        ("/pipeline/", HTMX, 'role="alert"'),
        ("/api/v1/opportunities", {}, '"detail"'),
    ],
    ids=["page", "fragment", "api"],
)
@override_settings(DEBUG=False)
def test_a_database_out_of_reach_is_a_503_to_retry(
    client_rep, monkeypatch, error, path, headers, expect
):
    """Not a bug to report: 503 with Retry-After, a page, a fragment or JSON for the API."""
    from milepost.pipeline import selectors

    def down(*args, **kwargs):
        raise error

    monkeypatch.setattr(selectors, "opportunity_scope", down)
    client_rep.raise_request_exception = False
    response = client_rep.get(path, **headers)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert expect in body
    assert "Something went wrong" not in body


def test_other_database_errors_stay_500(rf):
    from milepost.web import errors

    try:
        raise IntegrityError("duplicate key")
    except IntegrityError:
        response = errors.server_error(rf.get("/"))
    assert response.status_code == 500


def test_the_demo_runs_with_debug_off_and_serves_the_styled_404(tmp_path):
    """bin/demo's environment (read from the script), in a fresh process: settings are read at
    import, so DEBUG cannot be switched on the running test process."""
    script = (REPO / "bin/demo").read_text()
    demo_env = dict(re.findall(r"^export (MILEPOST_DEBUG)=(\S+)$", script, re.M))
    assert demo_env == {"MILEPOST_DEBUG": "0"}
    env = {
        **os.environ,
        **demo_env,
        "MILEPOST_ENV": "development",
        "MILEPOST_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "milepost.settings",
        "DATABASE_URL": "",
    }
    code = (
        "import django; django.setup();"
        "from django.conf import settings; from django.test import Client;"
        "c = Client(HTTP_HOST='localhost'); r = c.get('/no-such-page/');"
        "s = c.get('/static/vendor/htmx/htmx.min.js');"
        "print(settings.DEBUG, r.status_code, 'Page not found' in r.content.decode(),"
        " 'URLconf' in r.content.decode(), s.status_code)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "404", "True", "False", "200"]
