"""A new contact given a role in one step (both rows or neither), a changed role, and an
activity edited or deleted only by its owner, with the facts tables following."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from milepost.accounts.models import Contact
from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.pipeline.engagement import (
    activity_delete,
    activity_update,
    opportunity_contact_create,
    opportunity_contact_update,
)
from milepost.pipeline.models import Activity, ActivitySummary, OpportunityContact
from milepost.pipeline.services import (
    activity_log,
    opportunity_contact_add,
    opportunity_contact_remove,
)
from milepost.testing.factories import make_contact, make_opportunity

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(org, processes):
    return make_opportunity(org.rep_a1, name="Deal", stage_key="commit")


def test_new_contact_and_role_are_written_together(org, deal):
    link = opportunity_contact_create(
        user=org.rep_a1,
        opportunity_id=deal.pk,
        first_name="Nia",
        last_name="Cole",
        buying_role="economic_buyer",
        email="nia@example.com",
    )
    assert link.contact.account_id == deal.account_id
    assert deal.role_summary.economic_buyer == 1


def test_a_refused_role_undoes_the_new_contact(org, deal):
    contacts = Contact.objects.count()
    with pytest.raises(InvalidChange) as exc:
        opportunity_contact_create(
            user=org.rep_a1,
            opportunity_id=deal.pk,
            first_name="Nia",
            last_name="Cole",
            buying_role="boss",
        )
    assert exc.value.field == "buying_role"
    assert Contact.objects.count() == contacts


def test_hidden_deal_is_not_found_and_writes_nothing(org, deal):
    contacts = Contact.objects.count()
    with pytest.raises(NotFound):
        opportunity_contact_create(
            user=org.rep_b1,
            opportunity_id=deal.pk,
            first_name="Nia",
            last_name="Cole",
            buying_role="coach",
        )
    assert Contact.objects.count() == contacts


def test_changing_a_role_refuses_a_duplicate(org, deal):
    ann = make_contact(deal.account, first="Ann")
    coach = opportunity_contact_add(
        user=org.rep_a1, opportunity_id=deal.pk, contact_id=ann.pk, buying_role="coach"
    )
    opportunity_contact_add(
        user=org.rep_a1, opportunity_id=deal.pk, contact_id=ann.pk, buying_role="champion"
    )
    with pytest.raises(InvalidChange):
        opportunity_contact_update(
            user=org.rep_a1,
            opportunity_id=deal.pk,
            link_id=coach.pk,
            buying_role="champion",
            expected_version=1,
        )
    changed = opportunity_contact_update(
        user=org.rep_a1,
        opportunity_id=deal.pk,
        link_id=coach.pk,
        buying_role="economic_buyer",
        expected_version=1,
    )
    assert changed.version == 2
    assert changed.buying_role == "economic_buyer"
    deal.role_summary.refresh_from_db()
    assert (deal.role_summary.coach, deal.role_summary.economic_buyer) == (0, 1)
    with pytest.raises(NotFound):
        opportunity_contact_update(
            user=org.rep_b1,
            opportunity_id=deal.pk,
            link_id=coach.pk,
            buying_role="coach",
            expected_version=2,
        )
    assert OpportunityContact.objects.get(pk=coach.pk).buying_role == "economic_buyer"


def test_only_the_owner_edits_or_deletes_an_activity(org, deal):
    ann = make_contact(deal.account, first="Ann")
    call = activity_log(user=org.rep_a1, opportunity_id=deal.pk, type="call", subject="Call")
    for user in (org.manager_a, org.admin, org.rep_b1):
        with pytest.raises(NotFound):
            activity_update(
                user=user,
                opportunity_id=deal.pk,
                activity_id=call.pk,
                type="demo",
                subject="Mine",
                occurred_at=None,
                expected_version=1,
            )
        with pytest.raises(NotFound):
            activity_delete(
                user=user, opportunity_id=deal.pk, activity_id=call.pk, expected_version=1
            )
    when = timezone.now() - timedelta(days=1)
    done = activity_update(
        user=org.rep_a1,
        opportunity_id=deal.pk,
        activity_id=call.pk,
        type="meeting",
        subject="Meeting",
        occurred_at=when,
        contact_ids=[ann.pk],
        expected_version=1,
    )
    assert (done.type, done.subject, done.occurred_at) == ("meeting", "Meeting", when)
    summary = ActivitySummary.objects.get(opportunity=deal)
    assert (summary.call_count, summary.meeting_count) == (0, 1)
    activity_delete(
        user=org.rep_a1, opportunity_id=deal.pk, activity_id=call.pk, expected_version=2
    )
    assert not Activity.objects.filter(pk=call.pk).exists()
    assert not ActivitySummary.objects.filter(opportunity=deal).exists()


def test_a_stale_or_missing_version_changes_no_activity_or_role(org, deal):
    ann = make_contact(deal.account, first="Ann")
    link = opportunity_contact_add(
        user=org.rep_a1, opportunity_id=deal.pk, contact_id=ann.pk, buying_role="coach"
    )
    call = activity_log(user=org.rep_a1, opportunity_id=deal.pk, type="call", subject="Call")
    edit = {"type": "demo", "subject": "Changed", "occurred_at": None}
    for version, error in ((None, InvalidChange), (7, VersionConflict)):
        with pytest.raises(error) as caught:
            opportunity_contact_update(
                user=org.rep_a1,
                opportunity_id=deal.pk,
                link_id=link.pk,
                buying_role="champion",
                expected_version=version,
            )
        if version is None:
            assert caught.value.field == "version"
        with pytest.raises(error):
            opportunity_contact_remove(
                user=org.rep_a1, opportunity_id=deal.pk, link_id=link.pk, expected_version=version
            )
        with pytest.raises(error):
            activity_update(
                user=org.rep_a1,
                opportunity_id=deal.pk,
                activity_id=call.pk,
                expected_version=version,
                **edit,
            )
        with pytest.raises(error):
            activity_delete(
                user=org.rep_a1,
                opportunity_id=deal.pk,
                activity_id=call.pk,
                expected_version=version,
            )
    link.refresh_from_db()
    call.refresh_from_db()
    assert (link.buying_role, link.version) == ("coach", 1)
    assert (call.type, call.subject, call.version) == ("call", "Call", 1)
