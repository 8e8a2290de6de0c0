"""Playbook, job-aid and PDF pages: every signed-in role reads them; 404 for unknown; login."""

from __future__ import annotations

import io

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from pypdf import PdfReader

from milepost.process.services import process_load
from milepost.testing.factories import make_opportunity
from milepost.testing.probes import probed

pytestmark = pytest.mark.django_db

ROLES = ["admin", "leader", "manager_a", "rep_a1", "rep_solo"]
NAMES = ["playbook", "job_aid", "job_aid_pdf"]


def _urls(key: str, stage: str, number: int | None = None) -> list[str]:
    if number is None:
        return [reverse(f"playbooks:{name}", args=[key, stage]) for name in NAMES]
    return [reverse(f"playbooks:{name}_version", args=[key, number, stage]) for name in NAMES]


EVERY_ROLE_READS = _urls("new_business", "discover") + _urls("renewal", "terms", 1)
PROBED = probed(*(("get", url) for url in EVERY_ROLE_READS))


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_playbook_job_aid_and_pdf(role, org, client_for, processes):
    client = client_for(getattr(org, role))
    for url in EVERY_ROLE_READS:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    ("key", "stage", "number"),
    [
        ("new_business", "nope", None),
        ("nope", "engage", None),
        ("new_business", "engage", 9),
        ("renewal", "engage", 1),  # a stage of another process
    ],
)
def test_unknown_process_version_or_stage_is_404(org, client_for, processes, key, stage, number):
    client = client_for(org.rep_a1)
    for url in _urls(key, stage, number):
        assert client.get(url).status_code == 404, url


def test_anonymous_is_sent_to_login(client, processes):
    for url in _urls("new_business", "engage") + _urls("new_business", "engage", 1):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))


def test_playbook_page_renders_the_stage_markdown_with_a_table_of_contents(
    org, client_for, processes
):
    html = client_for(org.rep_a1).get(_urls("new_business", "commit")[0]).content.decode()
    assert "<h1>Commit to change" in html
    assert html.count("<h1") == 1  # the playbook's own title is not repeated
    assert 'id="pb-objection-handling"' in html
    assert 'href="#pb-objection-handling"' in html
    # The stage list links the other stages of the same version.
    assert reverse("playbooks:playbook", args=["new_business", "evaluate"]) in html


def test_older_version_serves_its_own_text(org, client_for, processes, nb_text_with_playbook):
    """An explicit playbook in a newer version does not change what v1's page says."""
    process_load(text=nb_text_with_playbook, source_name="v2.yaml", user=org.admin)
    client = client_for(org.rep_a1)
    v1 = client.get(_urls("new_business", "engage", 1)[0]).content.decode()
    current = client.get(_urls("new_business", "engage")[0]).content.decode()
    assert "Version two playbook" in current
    assert "Version two playbook" not in v1
    assert "older version" in v1


def test_job_aid_page_lists_exit_criteria_with_verifier_and_actions(org, client_for, processes):
    html = client_for(org.rep_a1).get(_urls("new_business", "commit")[1]).content.decode()
    assert "The economic buyer confirmed solving this problem is a priority this year" in html
    assert "your manager verifies" in html  # champion_identified is manager-verified
    # The print styles are a static file (the Content-Security-Policy forbids inline <style>).
    assert "milepost/job-aid.css" in html
    with open(finders.find("milepost/job-aid.css")) as css:
        assert "@media print" in css.read()
    assert _urls("new_business", "commit")[2] in html


def test_pdf_download_is_a_one_page_attachment(org, client_for, processes):
    response = client_for(org.rep_a1).get(_urls("renewal", "signature", 1)[2])
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'attachment; filename="job-aid-renewal-v1-signature.pdf"'
    )
    assert response.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 1
    assert "Signature" in reader.pages[0].extract_text()


def test_opportunity_page_links_the_guides_of_the_deals_stage_version(
    org, client_for, processes, nb_text_with_playbook
):
    deal = make_opportunity(org.rep_a1, stage_key="evaluate")
    # A newer process version: the deal still sits on a v1 stage and must link v1's guides.
    process_load(text=nb_text_with_playbook, source_name="v2.yaml", user=org.admin)
    html = client_for(org.rep_a1).get(reverse("pipeline:detail", args=[deal.pk])).content.decode()
    block = html.split('data-stage-guides="evaluate"')[1].split("</p>")[0]
    for url in _urls("new_business", "evaluate", 1):
        assert url in block


def test_a_job_aid_pdf_is_laid_out_once_until_its_version_or_a_pack_changes(
    org, client_for, processes, monkeypatch
):
    from django.core.cache import cache

    from milepost.playbooks import views
    from milepost.process.models import MethodologyPack

    made = []
    real = views.job_aid_pdf

    def counting(aid):
        made.append(aid)
        return real(aid)

    monkeypatch.setattr(views, "job_aid_pdf", counting)
    cache.clear()
    client = client_for(org.rep_a1)
    url = reverse("playbooks:job_aid_pdf", args=["new_business", "discover"])
    first = client.get(url)
    second = client_for(org.manager_a).get(url)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert len(made) == 1  # the second reader got the first one's layout

    # A reloaded pack (a new checksum) may change what the job aid says: laid out again.
    pack = MethodologyPack.objects.order_by("key").first()
    MethodologyPack.objects.filter(pk=pack.pk).update(checksum="0" * 64)
    assert client.get(url).status_code == 200
    assert len(made) == 2
    # Another stage is another job aid.
    other = reverse("playbooks:job_aid_pdf", args=["new_business", "engage"])
    assert client.get(other).status_code == 200
    assert len(made) == 3
