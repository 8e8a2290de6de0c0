"""Designer pages: only admins reach them; edits save, problems show at their field, the
publish page shows the diff and asks for a mapping when open deals need one."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from milepost.core.models import JobProgress
from milepost.designer import services, validation
from milepost.pipeline.models import Opportunity, StageTransition
from milepost.process.models import ProcessDraft, ProcessVersion
from milepost.testing.factories import make_opportunity
from milepost.testing.probes import PLACEHOLDER, probed

pytestmark = pytest.mark.django_db(databases=["default", "jobs"])

NOT_DESIGNERS = ["leader", "manager_a", "rep_a1"]


@pytest.fixture
def draft(org, processes) -> ProcessDraft:
    return services.draft_start(user=org.admin, process_key="new_business")


def _pages(draft: ProcessDraft) -> list[str]:
    return [
        reverse("process:designer"),
        reverse("process:draft", args=[draft.pk]),
        reverse("process:draft_stage", args=[draft.pk, 0]),
        reverse("process:draft_yaml", args=[draft.pk]),
        reverse("process:draft_publish", args=[draft.pk]),
    ]


def _posts(draft: ProcessDraft) -> list[tuple[str, dict]]:
    v = {"version": draft.version}
    return [
        (reverse("process:draft_new", args=["new_business"]), {}),
        (reverse("process:draft_new_process"), {"key": "sneaky", "name": "Sneaky"}),
        (reverse("process:draft_settings", args=[draft.pk]), {**v, "name": "X"}),
        (
            reverse("process:draft_stage_add", args=[draft.pk]),
            {**v, "new-key": "extra", "new-label": "Extra", "new-kind": "open"},
        ),
        (reverse("process:draft_stage_move", args=[draft.pk, 0]), {**v, "direction": "down"}),
        (reverse("process:draft_stage_delete", args=[draft.pk, 0]), v),
        (reverse("process:draft_stage", args=[draft.pk, 0]), {**v, "part": "fields"}),
        (
            reverse("process:draft_criterion_add", args=[draft.pk, 0]),
            {**v, "new-key": "extra", "new-label": "Extra"},
        ),
        (reverse("process:draft_criterion", args=[draft.pk, 0, 0]), {**v, "c0-label": "X"}),
        (
            reverse("process:draft_criterion_move", args=[draft.pk, 0, 0]),
            {**v, "direction": "down"},
        ),
        (reverse("process:draft_criterion_delete", args=[draft.pk, 0, 0]), v),
        (reverse("process:draft_yaml", args=[draft.pk]), {**v, "text": "key: x"}),
        (reverse("process:draft_publish", args=[draft.pk]), v),
        (reverse("process:draft_discard", args=[draft.pk]), {}),
    ]


PROBED = probed(
    *(("get", url) for url in _pages(PLACEHOLDER)),
    *(("post", url) for url, _ in _posts(PLACEHOLDER)),
)


@pytest.mark.parametrize("role", NOT_DESIGNERS)
def test_other_roles_get_403_on_every_designer_page_and_write(org, client_for, draft, role):
    client = client_for(getattr(org, role))
    for url in [*_pages(draft), reverse("process:draft", args=[draft.pk + 100])]:
        assert client.get(url).status_code == 403, url
    for url, data in _posts(draft):
        assert client.post(url, data).status_code == 403, url
    draft.refresh_from_db()
    assert draft.version == 1
    assert ProcessDraft.objects.count() == 1
    assert ProcessVersion.objects.filter(process__key="new_business").count() == 1


def test_admin_reaches_every_page_and_a_missing_draft_is_404(org, client_for, draft):
    client = client_for(org.admin)
    for url in _pages(draft):
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("process:draft", args=[draft.pk + 100])).status_code == 404
    assert client.get(reverse("process:draft_stage", args=[draft.pk, 99])).status_code == 404


def test_anonymous_is_sent_to_login(client, draft):
    response = client.get(reverse("process:draft", args=[draft.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_start_a_draft_from_the_detail_page_button(org, client_for, processes):
    client = client_for(org.admin)
    detail = client.get(reverse("process:detail", args=["new_business"])).content.decode()
    assert reverse("process:draft_new", args=["new_business"]) in detail
    assert reverse("process:version_map", args=["new_business", 1]) in detail
    response = client.post(reverse("process:draft_new", args=["new_business"]))
    draft = ProcessDraft.objects.get()
    assert response["Location"] == reverse("process:draft", args=[draft.pk])
    rep_detail = client_for(org.rep_a1).get(reverse("process:detail", args=["new_business"]))
    assert reverse("process:draft_new", args=["new_business"]) not in rep_detail.content.decode()


def test_stage_form_saves_and_problems_show_at_the_field(org, client_for, draft):
    client = client_for(org.admin)
    url = reverse("process:draft_stage", args=[draft.pk, 1])
    data = {
        "version": draft.version,
        "part": "fields",
        "key": "discover",
        "label": "Discovery",
        "kind": "open",
        "buyer_phase": "explore",
        "probability": 150,
        "forecast_category": "pipeline",
        "expected_days": 21,
        "max_days": 45,
    }
    assert client.post(url, data).status_code == 302
    draft.refresh_from_db()
    assert draft.document["stages"][1]["label"] == "Discovery"
    page = client.get(url).content.decode()
    assert 'data-problem="probability"' in page
    assert "should be less than or equal to 100" in page
    # the input is marked invalid and described by its problem, for screen readers
    field = re.search(r'<input[^>]*name="probability"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in field
    described = re.search(r'aria-describedby="([^"]+)"', field).group(1).split()
    problems = page.split(f'id="{described[0]}"', 1)[1].split("</div>", 1)[0]
    assert "should be less than or equal to 100" in problems
    label = re.search(r'<input[^>]*name="label"[^>]*>', page).group(0)
    assert "aria-invalid" not in label
    overview = client.get(reverse("process:draft", args=[draft.pk])).content.decode()
    assert "1 problem to fix" in overview


def test_a_stale_form_is_a_conflict_and_changes_nothing(org, client_for, draft):
    client = client_for(org.admin)
    url = reverse("process:draft_settings", args=[draft.pk])
    base = {"gate_policy": "warn", "currency": "USD", "description": ""}
    client.post(url, {**base, "version": 1, "name": "First"})
    response = client.post(url, {**base, "version": 1, "name": "Second"}, follow=True)
    assert "Someone else changed this draft" in response.content.decode()
    draft.refresh_from_db()
    assert draft.document["name"] == "First"


def test_htmx_reorder_answers_with_the_draft_body_and_focus_stays_on_the_button(
    org, client_for, draft
):
    client = client_for(org.admin)
    response = client.post(
        reverse("process:draft_stage_move", args=[draft.pk, 1]),
        {"version": draft.version, "direction": "up", "focus": "up-discover"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="draft-body"' in body
    assert 'id="up-discover"' in body
    assert "autofocus" in body.split('id="up-discover"', 1)[1].split(">", 1)[0]
    draft.refresh_from_db()
    assert [s["key"] for s in draft.document["stages"][:2]] == ["discover", "engage"]
    assert f'name="version" value="{draft.version}"' in body


def test_criterion_rule_as_yaml_and_a_yaml_syntax_error_is_refused(org, client_for, draft):
    client = client_for(org.admin)
    url = reverse("process:draft_criterion", args=[draft.pk, 0, 0])
    data = {
        "c0-version": draft.version,
        "c0-id": "buyer_agreed_to_explore",
        "c0-statement": "A named buyer agreed to talk",
        "c0-verifier": "buyer",
        "c0-rule": "any:\n  - activity: {type: call}\n  - not: {field_set: product}\n",
    }
    # The version field is prefixed too.
    assert client.post(url, data).status_code == 302
    draft.refresh_from_db()
    assert draft.document["stages"][0]["exit_criteria"][0]["rule"] == {
        "any": [{"activity": {"type": "call"}}, {"not": {"field_set": "product"}}]
    }
    response = client.post(url, {**data, "c0-version": draft.version, "c0-rule": "any: [x"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.version == 2  # refused, nothing saved


def test_yaml_page_saves_the_whole_document(org, client_for, draft):
    client = client_for(org.admin)
    url = reverse("process:draft_yaml", args=[draft.pk])
    text = validation.document_yaml(draft.document).replace(
        "name: New business", "name: New logo business"
    )
    assert client.post(url, {"version": 1, "text": text}).status_code == 302
    draft.refresh_from_db()
    assert draft.document["name"] == "New logo business"
    bad = client.post(url, {"version": draft.version, "text": "key: [x"})
    assert bad.status_code == 422
    assert "not valid YAML" in bad.content.decode()


def test_publish_page_shows_the_diff_and_asks_for_a_mapping(org, client_for, draft):
    deals = [make_opportunity(org.rep_a1, stage_key="discover") for _ in range(2)]
    draft = services.draft_stage_delete(
        user=org.admin, draft_id=draft.pk, expected_version=draft.version, stage=1
    )
    client = client_for(org.admin)
    url = reverse("process:draft_publish", args=[draft.pk])
    page = client.get(url).content.decode()
    assert "stage &#x27;discover&#x27; removed" in page or "stage 'discover' removed" in page
    assert "Discover (discover) — 2 open deals move to" in page

    refused = client.post(url, {"version": draft.version})
    assert refused.status_code == 422
    assert ProcessVersion.objects.filter(process__key="new_business").count() == 1

    done = client.post(url, {"version": draft.version, "map__discover": "commit"})
    assert done.status_code == 302
    job = JobProgress.objects.get()
    assert done["Location"] == reverse("process:draft_publish_job", args=[draft.pk, job.pk])
    result = client.get(done["Location"]).content.decode()
    assert "Published as version 2" in result
    assert reverse("process:version", args=["new_business", 2]) in result
    for deal in deals:
        moved = Opportunity.objects.select_related("stage__version").get(pk=deal.pk)
        assert (moved.stage.key, moved.stage.version.number) == ("commit", 2)
    assert StageTransition.objects.filter(source="process_change").count() == 2


def test_publish_page_lists_problems_instead_of_publishing(org, client_for, draft):
    draft = services.draft_update_settings(
        user=org.admin, draft_id=draft.pk, expected_version=draft.version, gate_policy="never"
    )
    client = client_for(org.admin)
    url = reverse("process:draft_publish", args=[draft.pk])
    assert "cannot be published yet" in client.get(url).content.decode()
    assert client.post(url, {"version": draft.version}).status_code == 422
    assert ProcessVersion.objects.filter(process__key="new_business").count() == 1
