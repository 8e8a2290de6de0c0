"""The job-aid page prints on one A4 page for every stage of both default processes (Chromium's
own print-to-PDF with the page's print CSS), and the deal page links it."""

from __future__ import annotations

import io
import unicodedata

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from milepost.process.models import Stage
from milepost.testing.factories import make_opportunity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_every_job_aid_prints_on_one_page(org, processes, live_server, login):
    page = login(org.rep_a1)
    stages = list(Stage.objects.filter(version__is_current=True).select_related("version__process"))
    assert len(stages) == 14
    for stage in stages:
        page.goto(
            f"{live_server.url}/process/{stage.version.process.key}/playbook/{stage.key}/job-aid/"
        )
        expect(page.get_by_role("heading", level=1)).to_have_text(stage.label)
        pdf = page.pdf(format="A4", prefer_css_page_size=True)
        reader = PdfReader(io.BytesIO(pdf))
        assert len(reader.pages) == 1, stage.key
        text = unicodedata.normalize("NFKC", reader.pages[0].extract_text())  # ligatures
        assert "Sign out" not in text  # the site header is not printed
        assert stage.label in text


def test_deal_page_opens_the_playbook_of_its_stage(org, processes, live_server, login):
    deal = make_opportunity(org.rep_a1, stage_key="justify")
    page = login(org.rep_a1, at=f"{live_server.url}/pipeline/opportunities/{deal.pk}/")
    page.get_by_role("link", name="Stage playbook").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Justify the decision")
    expect(page.get_by_role("heading", name="Objection handling")).to_be_visible()
