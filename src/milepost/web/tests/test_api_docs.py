"""The API docs page is in the navigation and loads only vendored assets (no CDN, no inline JS)."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from milepost.team.models import Role
from milepost.testing.factories import make_user
from milepost.testing.worlds import shared_world


@pytest.fixture(scope="module")
def rep(django_db_setup, django_db_blocker):
    yield from shared_world(django_db_blocker, lambda: make_user("docs_rep", Role.REP))


@pytest.fixture
def signed_in(db, rep):
    client = Client()
    client.force_login(rep)
    return client


def test_signed_in_navigation_links_the_api_docs(signed_in):
    html = signed_in.get(reverse("pipeline:board")).content.decode()
    assert f'href="{reverse("api-1:openapi-view")}"' in html


def test_docs_page_loads_only_local_static_files(signed_in):
    response = signed_in.get(reverse("api-1:openapi-view"))
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'<(?:script|link)[^>]*?(?:src|href)="([^"]+)"', html)
    assert sources, html
    assert [s for s in sources if not s.startswith("/static/")] == []
    for source in sources:
        assert finders.find(source.removeprefix("/static/")), source
    assert "swagger-ui-bundle.js" in html
    # Only the JSON settings block: no inline script to run.
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline == [' type="application/json" id="swagger-settings"']


def test_docs_settings_call_nothing_on_the_internet(signed_in):
    html = signed_in.get(reverse("api-1:openapi-view")).content.decode()
    assert '"validatorUrl": null' in html
    assert "https://" not in html


def test_openapi_document_is_gzipped_for_clients_that_accept_it(signed_in):
    url = reverse("api-1:openapi-json")
    plain = signed_in.get(url)
    packed = signed_in.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip"
    assert len(packed.content) < len(plain.content) / 4
    assert json.loads(gzip.decompress(packed.content)) == json.loads(plain.content)


def test_docs_page_is_not_compressed(signed_in):
    """It carries the CSRF token: compressing secrets next to reflected input invites BREACH."""
    response = signed_in.get(reverse("api-1:openapi-view"), HTTP_ACCEPT_ENCODING="gzip")
    assert "Content-Encoding" not in response


def test_docs_settings_keep_the_first_render_cheap(signed_in):
    html = signed_in.get(reverse("api-1:openapi-view")).content.decode()
    settings = json.loads(re.search(r'id="swagger-settings">(.*?)</script>', html, re.S).group(1))
    assert settings["docExpansion"] == "none"
    assert settings["defaultModelsExpandDepth"] == -1
    assert settings["syntaxHighlight"] == {"activated": False}
