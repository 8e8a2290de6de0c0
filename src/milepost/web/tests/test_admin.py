"""The Django admin is for sales-ops admins only, and cannot rewrite stage history."""

from __future__ import annotations

import pytest

from milepost.pipeline.models import StageTransition
from milepost.testing.factories import make_opportunity

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["rep_a1", "manager_a", "leader"])
def test_non_admins_cannot_enter_the_admin(org, client_for, role):
    response = client_for(getattr(org, role)).get("/admin/pipeline/opportunity/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_admin_reads_transitions_but_cannot_add_change_or_delete(org, processes, client_for):
    opp = make_opportunity(org.rep_a1)
    row = StageTransition.objects.get(opportunity=opp)
    client = client_for(org.admin)
    assert client.get("/admin/pipeline/stagetransition/").status_code == 200
    assert client.get("/admin/pipeline/stagetransition/add/").status_code == 403
    assert (
        client.post(
            f"/admin/pipeline/stagetransition/{row.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert StageTransition.objects.filter(pk=row.pk).exists()
