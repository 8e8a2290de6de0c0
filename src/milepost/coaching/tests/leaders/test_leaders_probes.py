"""Privacy probes of the leader pages and endpoints: a rep gets 404, a manager sees only their
own row, a leader the managers below, a sales-ops admin by role alone 404; the pages show
counts, never notes. The history is built once for the module; each test runs in a savepoint.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.urls import reverse

from milepost.coaching.models import CoachingSession
from milepost.coaching.tests.leaders.test_leaders import build_history
from milepost.testing.factories import Org, ensure_default_processes, make_org
from milepost.testing.probes import PLACEHOLDER, probed
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[Org]:
    with shared_world(django_db_blocker):
        ensure_default_processes()
        org = make_org()
        build_history(org)
        yield org


@pytest.fixture
def org(world: Org, db) -> Org:
    """This module's ``org`` is the shared world's (the package's builds one per test)."""
    return world


# --- Privacy probes on pages and API ------------------------------------------------------


def _urls(org):
    return {
        "page": reverse("coaching_leaders:overview"),
        "effect_a": reverse("coaching_leaders:effect", args=[org.manager_a.id]),
        "effect_b": reverse("coaching_leaders:effect", args=[org.manager_b.id]),
        "digest_a": reverse("coaching_leaders:digest") + f"?manager={org.manager_a.id}",
        "digest_b": reverse("coaching_leaders:digest") + f"?manager={org.manager_b.id}",
        "api": "/api/v1/coaching/leaders",
        "api_effect_a": f"/api/v1/coaching/leaders/{org.manager_a.id}/effect",
        "api_effect_b": f"/api/v1/coaching/leaders/{org.manager_b.id}/effect",
        "api_digest_a": f"/api/v1/coaching/digest?manager={org.manager_a.id}",
        "api_digest_b": f"/api/v1/coaching/digest?manager={org.manager_b.id}",
    }


PROBED = probed(*(("get", url) for url in _urls(PLACEHOLDER).values()))

EXPECTED = {
    # who: set of url keys answering 200; every other is 404
    "leader": {
        "page",
        "effect_a",
        "effect_b",
        "digest_a",
        "digest_b",
        "api",
        "api_effect_a",
        "api_effect_b",
        "api_digest_a",
        "api_digest_b",
    },
    "manager_a": {"page", "effect_a", "digest_a", "api", "api_effect_a", "api_digest_a"},
    "manager_b": {"page", "effect_b", "digest_b", "api", "api_effect_b", "api_digest_b"},
    "rep_a1": set(),
    "rep_solo": set(),
    "admin": set(),
}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_privacy_probes(org, client_for, who):
    client = client_for(getattr(org, who))
    for key, url in _urls(org).items():
        status = client.get(url).status_code
        assert status == (200 if key in EXPECTED[who] else 404), (who, key, status)


def test_pages_show_counts_but_no_notes(org, client_for):
    CoachingSession.objects.filter(manager=org.manager_a).update(notes="SECRET NOTE")
    client = client_for(org.leader)
    body = client.get(reverse("coaching_leaders:overview") + "?weeks=3").content.decode()
    assert "3 of 6 planned" in body
    assert "SECRET NOTE" not in body
    data = client.get("/api/v1/coaching/leaders?weeks=3").json()
    a = next(m for m in data["managers"] if m["manager"]["id"] == org.manager_a.id)
    assert (a["sessions_done"], a["sessions_expected"], a["actions_overdue"]) == (3, 6, 1)
    assert [p["id"] for p in a["reps_without_session"]] == [org.rep_a2.id]
    effect = client.get(f"/api/v1/coaching/leaders/{org.manager_a.id}/effect").json()
    assert effect["caveat"].startswith("Observational")
    page = client.get(reverse("coaching_leaders:effect", args=[org.manager_a.id])).content
    assert b"Observational" in page
