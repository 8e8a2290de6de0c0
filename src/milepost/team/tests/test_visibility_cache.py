"""The team below a manager is looked up once per request, and never cached across requests."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from milepost.team.selectors import request_visibility_cache, visible_user_ids
from milepost.testing.factories import Org, make_opportunity

pytestmark = pytest.mark.django_db


def _queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def test_outside_a_request_every_call_reads_the_hierarchy(org: Org) -> None:
    assert _queries(lambda: visible_user_ids(org.manager_a)) > 0
    assert _queries(lambda: visible_user_ids(org.manager_a)) > 0


def test_inside_a_request_the_team_is_read_once_and_callers_cannot_spoil_it(org: Org) -> None:
    with request_visibility_cache():
        first = visible_user_ids(org.manager_a)
        first.add(org.rep_b1.pk)  # a caller mutating its copy
        assert _queries(lambda: visible_user_ids(org.manager_a)) == 0
        assert org.rep_b1.pk not in visible_user_ids(org.manager_a)
        assert visible_user_ids(org.manager_b) == {org.manager_b.pk, org.rep_b1.pk}


def test_a_team_change_shows_on_the_next_request(org: Org, processes, client_for) -> None:
    deal = make_opportunity(owner=org.rep_b1, name="Moved rep's deal")
    client = client_for(org.manager_a)
    url = reverse("pipeline:detail", args=[deal.pk])
    assert client.get(url).status_code == 404
    org.rep_b1.manager = org.manager_a
    org.rep_b1.save()
    assert client.get(url).status_code == 200
