"""No page scrolls sideways, on a laptop (1280 px) or a phone (390 px): every signed-in page
in the navigation (but the API docs, Swagger UI's page), a deal page, a 1:1 page and the
designer. Wide tables scroll inside their
wrapper, long names wrap, the navigation wraps at phone width.

One browser context for the whole module (the viewport is resized between widths)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from milepost.coaching.models import CoachingSession
from milepost.testing.factories import make_account, make_opportunity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 390)
LONG = "Consolidated-International-Manufacturing-and-Distribution-Holdings-Worldwide-Expansion"
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_no_page_overflows_horizontally(org, processes, live_server, login):
    account = make_account(name=LONG, owner=org.rep_a1)
    deal = make_opportunity(org.rep_a1, account=account, name=LONG + " renewal", amount="1250000")
    make_opportunity(org.rep_a1, stage_key="commit", name="Globex expansion")
    session = CoachingSession.objects.create(
        manager=org.admin, rep=org.rep_a1, scheduled_for=timezone.now()
    )
    page = login(org.admin)
    nav = page.locator("header nav a[href^='/']").evaluate_all("els => els.map(e => e.href)")
    # The API docs are Swagger UI's own page (rendered by its script after load), not ours.
    docs = f"{live_server.url}{reverse('api-1:openapi-view')}"
    urls = [
        *(url for url in dict.fromkeys(nav) if url != docs),
        f"{live_server.url}/pipeline/opportunities/{deal.pk}/",
        f"{live_server.url}/coaching/sessions/{session.pk}/",
        f"{live_server.url}/process/designer/",
    ]
    overflowing = {}
    for url in urls:
        # Loaded once, then laid out at each width: CSS media queries apply on resize as on
        # load (the pages size nothing from script), and each page is rendered once.
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})
        page.goto(url)
        page.wait_for_load_state("load")
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            extra = page.evaluate(OVERFLOW)
            if extra > 0:
                overflowing[f"{width}px {url.removeprefix(live_server.url)}"] = extra
    assert overflowing == {}
