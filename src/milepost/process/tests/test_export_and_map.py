"""The export download and the printable process map: every signed-in role reads them."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from milepost.engine.process_schema import ProcessDef, parse_process
from milepost.engine.rule_text import rule_sentence
from milepost.process.models import ProcessVersion
from milepost.process.selectors import pack_definitions

pytestmark = pytest.mark.django_db
ROLES = ["admin", "leader", "manager_a", "rep_a1", "rep_solo"]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_downloads_yaml_and_reads_the_map(org, client_for, processes, role):
    client = client_for(getattr(org, role))
    for key in ("new_business", "renewal"):
        version = ProcessVersion.objects.get(process__key=key, is_current=True)
        download = client.get(reverse("process:export", args=[key, version.number]))
        assert download.status_code == 200
        assert parse_process(download.content.decode()).checksum() == version.checksum
        assert client.get(reverse("process:map", args=[key])).status_code == 200
        assert client.get(reverse("process:version_map", args=[key, 1])).status_code == 200


def test_missing_versions_are_404_and_anonymous_goes_to_login(client, org, client_for, processes):
    signed = client_for(org.rep_a1)
    assert signed.get(reverse("process:export", args=["new_business", 9])).status_code == 404
    assert signed.get(reverse("process:map", args=["nope"])).status_code == 404
    client.logout()
    response = client.get(reverse("process:map", args=["new_business"]))
    assert response.status_code == 302


def test_map_shows_stages_criteria_checks_actions_and_methodology(org, client_for, processes):
    version = ProcessVersion.objects.get(process__key="new_business", is_current=True)
    definition = ProcessDef.model_validate(version.definition)
    page = client_for(org.rep_a1).get(reverse("process:map", args=["new_business"]))
    html = page.content.decode()
    # The print styles are a static file (the Content-Security-Policy forbids inline <style>).
    assert "milepost/process-map.css" in html
    with open(finders.find("milepost/process-map.css")) as css:
        assert "@media print" in css.read()
    positions = [html.index(f'data-stage="{s.key}"') for s in definition.stages]
    assert positions == sorted(positions)
    packs = pack_definitions()
    mapped = 0
    for stage in definition.stages:
        if stage.buyer_goal:
            assert stage.buyer_goal.replace("'", "&#x27;") in html
        for c in stage.exit_criteria:
            assert f'data-criterion="{c.id}"' in html
            if c.rule is not None:
                assert rule_sentence(c.rule).replace("'", "&#x27;") in html
        for pack, spec in stage.methodology.items():
            section = html.split(f'data-stage="{stage.key}"', 1)[1].split("data-stage=", 1)[0]
            assert f'data-pack="{pack}"' in section
            for element in [*spec.required, *spec.recommended]:
                label = packs[pack].element(element).label if pack in packs else element
                assert f'<span data-element="{element}">{label}</span>' in section
                mapped += 1
    assert mapped, "the default process maps methodology elements onto its stages"


def test_map_links_each_stage_playbook_and_job_aid_of_its_version(org, client_for, processes):
    version = ProcessVersion.objects.get(process__key="new_business", is_current=True)
    definition = ProcessDef.model_validate(version.definition)
    client = client_for(org.rep_a1)
    html = client.get(reverse("process:map", args=["new_business"])).content.decode()
    for stage in definition.stages:
        section = html.split(f'data-stage="{stage.key}"', 1)[1].split("data-stage=", 1)[0]
        args = ["new_business", version.number, stage.key]
        for name in ("playbook_version", "job_aid_version", "job_aid_pdf_version"):
            url = reverse(f"playbooks:{name}", args=args)
            assert f'href="{url}"' in section
        assert client.get(reverse("playbooks:job_aid_pdf_version", args=args)).status_code == 200
