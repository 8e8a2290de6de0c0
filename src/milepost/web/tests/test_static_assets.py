"""Front-end assets are vendored (no CDN) and found by Django's static finders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

import milepost

VENDORED = [
    "vendor/htmx/htmx.min.js",
    "vendor/pico/pico.min.css",
    "vendor/sortable/Sortable.min.js",
    "vendor/swagger-ui/swagger-ui-bundle.js",
    "vendor/swagger-ui/swagger-ui.css",
    "vendor/swagger-ui/LICENSE",
    "milepost/api-docs.js",
    "milepost/milepost.css",
    "milepost/board.js",
]


@pytest.mark.parametrize("path", VENDORED)
def test_asset_is_found_by_the_static_finders(path):
    assert finders.find(path), f"{path} is not served: check STATICFILES_DIRS"


def test_htmx_is_pinned_to_major_version_2():
    versions = (Path(milepost.__file__).parent / "static/vendor/VERSIONS.txt").read_text()
    assert re.search(r"^htmx\.org 2\.\d+\.\d+$", versions, re.M), versions


def test_templates_never_reference_a_cdn():
    root = Path(milepost.__file__).parent
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.html")
        if re.search(r"(src|href)=[\"']https?://", p.read_text())
    ]
    assert offenders == []
