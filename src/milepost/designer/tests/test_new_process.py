"""A brand-new process can be started in the designer, built on, and published as version 1."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from milepost.core.errors import InvalidChange
from milepost.designer import services, validation
from milepost.designer.publish import draft_publish
from milepost.process.models import ProcessDraft, SalesProcess

pytestmark = pytest.mark.django_db(databases=["default", "jobs"])


def test_new_process_draft_is_valid_and_publishes_as_version_1(org, processes):
    draft = services.draft_start_new(user=org.admin, key="partner_resale", name="Partner resale")
    assert draft.process is None
    assert validation.draft_problems(draft.document) == []
    draft = services.draft_stage_update(
        user=org.admin,
        draft_id=draft.pk,
        expected_version=draft.version,
        stage=0,
        label="Qualify partner",
    )
    result = draft_publish(user=org.admin, draft_id=draft.pk, expected_version=draft.version)
    process = SalesProcess.objects.get(key="partner_resale")
    assert result.version.process == process
    assert result.version.number == 1
    assert result.previous is None
    assert result.moved == 0
    assert [s.label for s in result.version.stages.order_by("position")] == [
        "Qualify partner",
        "Won",
        "Lost",
    ]


@pytest.mark.parametrize(
    ("key", "name", "field"),
    [
        ("new_business", "Again", "key"),  # exists: start a draft from it instead
        ("Bad Key", "Name", "key"),
        ("ok_key", "", "name"),
    ],
)
def test_bad_new_process_is_refused_naming_the_field(org, processes, key, name, field):
    with pytest.raises(InvalidChange) as info:
        services.draft_start_new(user=org.admin, key=key, name=name)
    assert info.value.field == field
    assert not ProcessDraft.objects.exists()


def test_a_new_process_draft_cannot_take_over_an_existing_key(org, processes):
    draft = services.draft_start_new(user=org.admin, key="brand_new", name="Brand new")
    doc = dict(draft.document, key="new_business")
    draft = services.draft_replace(
        user=org.admin, draft_id=draft.pk, expected_version=draft.version, document=doc
    )
    versions = SalesProcess.objects.get(key="new_business").versions.count()
    with pytest.raises(InvalidChange) as info:
        draft_publish(user=org.admin, draft_id=draft.pk, expected_version=draft.version)
    assert info.value.field == "key"
    assert SalesProcess.objects.get(key="new_business").versions.count() == versions


@pytest.mark.parametrize("role", ["rep_a1", "manager_a", "leader"])
def test_only_admins_start_a_new_process(org, processes, client_for, role):
    with pytest.raises(PermissionDenied):
        services.draft_start_new(user=getattr(org, role), key="x_process", name="X")
    url = reverse("process:draft_new_process")
    response = client_for(getattr(org, role)).post(url, {"key": "x_process", "name": "X"})
    assert response.status_code == 403
    assert not ProcessDraft.objects.exists()


def test_page_starts_a_new_process_draft(org, processes, client_for):
    client = client_for(org.admin)
    assert (
        'action="/process/designer/new/"'
        in client.get(reverse("process:designer")).content.decode()
    )
    response = client.post(reverse("process:draft_new_process"), {"key": "renewal_2", "name": "R2"})
    draft = ProcessDraft.objects.get()
    assert response["Location"] == reverse("process:draft", args=[draft.pk])
    refused = client.post(
        reverse("process:draft_new_process"), {"key": "renewal", "name": "Dup"}, follow=True
    )
    assert "exists" in refused.content.decode()
    assert ProcessDraft.objects.count() == 1


def test_api_starts_a_new_process_draft_for_admins_only(org, processes, client_for):
    url = "/api/v1/process-drafts"
    body = {"key": "channel", "name": "Channel"}
    rep = client_for(org.rep_a1).post(url, body, content_type="application/json")
    assert rep.status_code == 403
    admin = client_for(org.admin)
    created = admin.post(url, body, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["document"]["key"] == "channel"
    again = admin.post(url, {"key": "new_business", "name": "X"}, content_type="application/json")
    assert again.status_code == 422
    assert again.json()["field"] == "key"
    assert ProcessDraft.objects.count() == 1
