"""Permission probes of the methodology panel and Blue Sheet pages: the owner, their managers
and an admin read and write; every other role gets 404 on every URL (plain and HTMX) and writes
nothing. The world (a deal of rep_a1 with one buying influence) is built once for the module;
each test runs in its own savepoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.urls import reverse

from milepost.methodology.models import (
    BuyingInfluence,
    BuyingInfluenceEvent,
    ElementAssessment,
    ElementAssessmentEvent,
)
from milepost.methodology.tests.panel_support import ProbeWorld as World
from milepost.methodology.tests.panel_support import (
    build_probe_world,
)
from milepost.methodology.tests.test_views import HTMX, influence_body, panel_url, save_url
from milepost.pipeline.models import Opportunity
from milepost.testing.factories import Org
from milepost.testing.probes import PLACEHOLDER, probed
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """Built once for the module; each test runs in its own savepoint."""
    yield from shared_world(django_db_blocker, lambda: build_probe_world(name="Method deal"))


@pytest.fixture
def org(world: World, db) -> Org:
    return world.org


@pytest.fixture
def deal(world: World, db) -> Opportunity:
    return world.deal


# --- permission probes --------------------------------------------------------------------

# Owner rep_a1 (team a). Who may read and write: the owner, their managers, an admin.
ALLOWED = ["rep_a1", "manager_a", "leader", "admin"]
DENIED = ["rep_a2", "rep_b1", "manager_b", "rep_solo"]


def _probe_urls(deal, influence, remove_version: str) -> list[tuple[str, str, dict]]:
    eve = influence.contact
    return [
        ("get", panel_url(deal), {}),
        ("get", reverse("methodology:history", args=[deal.pk, "qual", "decision"]), {}),
        ("get", reverse("methodology:blue_sheet", args=[deal.pk, "sheet"]), {}),
        ("post", save_url(deal, "decision"), {"level": "confirmed", "version": "0"}),
        (
            "post",
            reverse("methodology:influence_add", args=[deal.pk, "sheet"]),
            influence_body(eve, role="coach"),
        ),
        (
            "post",
            reverse("methodology:influence_edit", args=[deal.pk, "sheet", influence.pk]),
            influence_body(eve, rating="1", version="1"),
        ),
        (
            "post",
            reverse("methodology:influence_remove", args=[deal.pk, "sheet", influence.pk]),
            {"version": remove_version},
        ),
    ]


PROBED = probed(*((method, url) for method, url, _ in _probe_urls(PLACEHOLDER, PLACEHOLDER, "1")))


@pytest.mark.parametrize("role", DENIED)
def test_other_users_get_404_on_every_url_and_nothing_is_written(
    role, world, org, deal, client_for
):
    influence = BuyingInfluence.objects.get(pk=world.influence_id)
    client = client_for(getattr(org, role))
    for method, url, body in _probe_urls(deal, influence, "1"):
        for extra in ({}, HTMX):
            response = getattr(client, method)(url, body, **extra)
            assert response.status_code == 404, (role, method, url)
    assert not ElementAssessment.objects.exists()
    assert BuyingInfluence.objects.get().version == 1
    assert BuyingInfluenceEvent.objects.count() == 1


@pytest.mark.parametrize("role", ALLOWED)
def test_owner_managers_and_admin_may_read_and_write(role, world, org, deal, client_for):
    influence = BuyingInfluence.objects.get(pk=world.influence_id)
    user = getattr(org, role)
    client = client_for(user)
    # the edit before the remove moved the influence to version 2
    for method, url, body in _probe_urls(deal, influence, "2"):
        response = getattr(client, method)(url, body, **HTMX)
        assert response.status_code == 200, (role, method, url, response.content[:300])
    assessment = ElementAssessment.objects.get()
    assert assessment.updated_by == user
    assert ElementAssessmentEvent.objects.get().actor == user
    assert not BuyingInfluence.objects.filter(pk=influence.pk).exists()
    later = BuyingInfluenceEvent.objects.order_by("id")[1:]  # after the owner's setup row
    assert [(e.action, e.actor) for e in later] == [
        ("added", user),
        ("updated", user),
        ("removed", user),
    ]
