"""Numbers a client may send past what the databases store are a 422 naming the field, not a 500.

Found by a probe (issue 14): an offset of 2**63 on the lists and 2**70 on the inspection deals,
a rep id of 2**70 on the 1:1 list, all answered 500 with a traceback.
"""

from __future__ import annotations

import pytest

from milepost.testing.clients import api_client

pytestmark = pytest.mark.django_db

HUGE = str(2**70)
AT_LIMIT = str(2**63)

CASES = [
    ("/api/v1/opportunities?offset=" + AT_LIMIT, "offset"),
    ("/api/v1/accounts?offset=" + AT_LIMIT, "offset"),
    ("/api/v1/contacts?offset=" + AT_LIMIT, "offset"),
    ("/api/v1/inspection/deals?offset=" + HUGE, "offset"),
    ("/api/v1/coaching/sessions?rep_id=" + HUGE, "rep_id"),
    ("/api/v1/coaching/action-items?rep_id=" + HUGE, "rep_id"),
    ("/api/v1/coaching/action-items?opportunity_id=" + HUGE, "opportunity_id"),
]


@pytest.mark.parametrize(("path", "field"), CASES, ids=[c[0].split("/v1/")[1] for c in CASES])
def test_numbers_past_the_database_are_refused_naming_the_field(org, path, field):
    for user in (org.admin, org.rep_a1):
        response = api_client(user).get(path)
        assert response.status_code == 422, (user.username, response.content[:300])
        assert response.json()["field"] == field


def test_the_largest_stored_id_finds_nothing_rather_than_failing(org):
    response = api_client(org.manager_a).get(f"/api/v1/coaching/sessions?rep_id={2**63 - 1}")
    assert response.status_code == 200
    assert response.json() == []
