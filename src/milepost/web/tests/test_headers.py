"""Security headers (issue 14): the Content-Security-Policy, ``no-store`` on everything private,
and the small headers; plus the CSP report endpoint."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from milepost.testing.clients import api_client
from milepost.testing.factories import make_opportunity

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    parts = [p.strip().split(" ", 1) for p in header.split(";") if p.strip()]
    return {p[0]: p[1] if len(p) > 1 else "" for p in parts}


@pytest.fixture
def signed_in(org) -> Client:
    client = Client()
    client.force_login(org.manager_a)
    return client


def test_pages_carry_a_strict_content_security_policy(signed_in, processes):
    response = signed_in.get("/pipeline/")
    assert response.status_code == 200
    csp = directives(response)
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert csp["base-uri"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["form-action"] == "'self'"
    assert csp["report-uri"] == "/csp-report/"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


def test_the_small_headers_are_on_every_response(client):
    response = client.get("/login/")
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert "camera=()" in response["Permissions-Policy"]
    assert "Content-Security-Policy" in response


def test_no_store_on_signed_in_pages_api_and_exports(org, signed_in, processes):
    make_opportunity(org.rep_a1, stage_key="engage")
    for response in (
        signed_in.get("/pipeline/"),
        signed_in.get("/inspection/"),
        signed_in.get("/pipeline/table/?format=csv"),
        api_client(org.manager_a, auth="token").get("/api/v1/opportunities"),
        Client().get("/api/v1/opportunities"),  # refused, still private
    ):
        assert "no-store" in response["Cache-Control"], response.request["PATH_INFO"]


def test_static_files_may_be_cached_even_for_a_signed_in_user(signed_in):
    static = signed_in.get("/static/milepost/site.js")  # served by the web server in production
    assert "no-store" not in static.get("Cache-Control", "")


def test_csp_reports_are_logged_and_answered_204(client, caplog):
    report = {
        "csp-report": {
            "document-uri": "http://testserver/pipeline/",
            "violated-directive": "script-src-elem",
            "blocked-uri": "inline",
            "cookie": "never logged",
        }
    }
    with caplog.at_level(logging.WARNING, logger="milepost.csp"):
        response = client.post(
            "/csp-report/", data=json.dumps(report), content_type="application/csp-report"
        )
    assert response.status_code == 204
    (record,) = [r for r in caplog.records if r.name == "milepost.csp"]
    assert "script-src-elem" in record.getMessage()
    assert "never logged" not in record.getMessage()


def test_reporting_api_batches_and_junk_are_accepted(client, caplog):
    batch = [{"type": "csp-violation", "body": {"effectiveDirective": "style-src-attr"}}]
    with caplog.at_level(logging.WARNING, logger="milepost.csp"):
        ok = client.post("/csp-report/", json.dumps(batch), content_type="application/reports+json")
        junk = client.post("/csp-report/", "not json", content_type="application/csp-report")
    assert (ok.status_code, junk.status_code) == (204, 204)
    assert ["style-src-attr" in r.getMessage() for r in caplog.records] == [True]
    assert client.get("/csp-report/").status_code == 405


def test_each_page_has_one_htmx_config_and_it_keeps_htmx_eval_free(org, signed_in, processes):
    """HTMX reads only the first htmx-config meta: a page's own settings must replace the
    base one (the ``htmx_config`` block), not add a second that HTMX would ignore."""
    deal = make_opportunity(org.rep_a1, stage_key="engage")
    for url in ("/pipeline/", f"/pipeline/opportunities/{deal.pk}/"):
        html = signed_in.get(url).content.decode()
        start = html.index('<meta name="htmx-config" content=\'') + len(
            '<meta name="htmx-config" content=\''
        )
        config = json.loads(html[start : html.index("'>", start)])
        assert html.count('name="htmx-config"') == 1, url
        assert "<style" not in html, url  # a stray template comment once held one
        assert "{#" not in html, url
        assert (config["allowEval"], config["includeIndicatorStyles"]) == (False, False)
    assert "responseHandling" in config  # the deal page swaps its 409 / 422 answers


def test_no_template_adds_a_second_htmx_config():
    """HTMX reads only the first ``htmx-config`` meta tag, the base template's: a page that adds
    its own in ``head`` is silently ignored (its 422s were not swapped). Pages override
    ``{% block htmx_config %}`` instead."""
    from pathlib import Path

    import milepost

    root = Path(milepost.__file__).parent
    extra = [
        str(path.relative_to(root))
        for path in root.rglob("templates/**/*.html")
        if 'name="htmx-config"' in path.read_text() and path.name != "base.html"
    ]
    assert extra == []
