"""Process API export: everyone signed in downloads a version as YAML that loads back the same."""

from __future__ import annotations

import pytest

from milepost.engine.process_schema import parse_process
from milepost.process.models import ProcessVersion
from milepost.testing.probes import probed

pytestmark = pytest.mark.django_db
API = "/api/v1"
EXPORT = f"{API}/processes/new_business/versions/1/export.yaml"
PROBED = probed(("get", EXPORT))


@pytest.mark.parametrize("role", ["admin", "leader", "manager_a", "rep_a1", "rep_solo"])
def test_everyone_signed_in_exports_yaml(org, client_for, processes, role):
    response = client_for(getattr(org, role)).get(EXPORT)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    assert 'filename="new_business-v1.yaml"' in response["Content-Disposition"]
    version = ProcessVersion.objects.get(process__key="new_business", number=1)
    assert parse_process(response.content.decode()).checksum() == version.checksum


def test_export_needs_sign_in_and_an_existing_version(client, org, client_for, processes):
    assert client.get(f"{API}/processes/new_business/versions/1/export.yaml").status_code == 401
    signed = client_for(org.rep_a1)
    assert signed.get(f"{API}/processes/new_business/versions/9/export.yaml").status_code == 404
