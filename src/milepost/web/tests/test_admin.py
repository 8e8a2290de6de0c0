"""The Django admin is for sales-ops admins only, and cannot rewrite stage history."""

from __future__ import annotations

import pytest
from django.utils import timezone

from milepost.coaching.models import SkillRating
from milepost.pipeline.models import Opportunity, StageTransition
from milepost.team.models import User
from milepost.testing.factories import make_opportunity, make_user

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


def test_admin_cannot_delete_a_deal_with_its_history(org, processes, client_for):
    """The database refuses to delete a deal's history, so the admin refuses to delete the deal
    (for one deal and through the bulk action) instead of failing, and the deal stays."""
    opp = make_opportunity(org.rep_a1)
    client = client_for(org.admin)
    response = client.post(f"/admin/pipeline/opportunity/{opp.pk}/delete/", {"post": "yes"})
    assert response.status_code == 200
    assert "Cannot delete" in response.text
    response = client.post(
        "/admin/pipeline/opportunity/",
        {"action": "delete_selected", "_selected_action": [opp.pk], "post": "yes"},
    )
    assert response.status_code == 200
    assert "Cannot delete" in response.text
    assert Opportunity.objects.filter(pk=opp.pk).exists()


def test_admin_cannot_delete_a_rep_with_skill_ratings(org, client_for):
    """Skill ratings have no admin page, so only KeepsHistoryAdmin stops the cascade here."""
    rep = make_user("rated_rep", manager=org.manager_a)
    SkillRating.objects.create(
        rep=rep, rater=org.manager_a, competency="discovery", score=3, rated_at=timezone.now()
    )
    client = client_for(org.admin)
    response = client.post(f"/admin/team/user/{rep.pk}/delete/", {"post": "yes"})
    assert response.status_code == 200
    assert "Skill rating:" in response.text
    assert User.objects.filter(pk=rep.pk).exists()
    unrated = make_user("unrated_rep", manager=org.manager_a)
    response = client.post(f"/admin/team/user/{unrated.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=unrated.pk).exists()
