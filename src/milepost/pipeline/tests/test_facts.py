"""The derived facts inspection reads (activity summary, contact engagement, stage steps)
stay equal to what the raw rows say through every way of writing them."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction

from milepost.accounts.models import Contact
from milepost.inspection.moves import opportunity_move_stage
from milepost.pipeline.append_only import append_only_unlocked
from milepost.pipeline.facts import (
    activity_facts_mismatches,
    activity_facts_refresh,
    role_facts_mismatches,
    transition_steps_mismatches,
)
from milepost.pipeline.models import (
    Activity,
    ActivitySummary,
    BuyingRoleSummary,
    ContactEngagement,
    Opportunity,
    StageTransition,
)
from milepost.pipeline.services import (
    activity_log,
    opportunity_contact_add,
    opportunity_contact_remove,
)
from milepost.testing.factories import make_contact, make_opportunity

pytestmark = pytest.mark.django_db
JUST = "Buyer confirmed it on the call"
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def _log(user, deal, kind, at, contacts=()):
    return activity_log(
        user=user,
        opportunity_id=deal.pk,
        type=kind,
        subject=kind,
        occurred_at=at,
        contact_ids=[c.pk for c in contacts],
    )


def test_logged_activities_are_summed_per_type_with_the_last_of_each(org, processes):
    deal = make_opportunity(org.rep_a1)
    ann, bob = make_contact(deal.account), make_contact(deal.account)
    _log(org.rep_a1, deal, "call", T0, [ann])
    _log(org.rep_a1, deal, "call", T0 + timedelta(days=2), [ann, bob])
    _log(org.rep_a1, deal, "meeting", T0 + timedelta(days=1), [bob])

    summary = ActivitySummary.objects.get(opportunity=deal)
    assert (summary.activities, summary.last_activity_at) == (3, T0 + timedelta(days=2))
    assert (summary.call_count, summary.call_last_at) == (2, T0 + timedelta(days=2))
    assert (summary.meeting_count, summary.meeting_last_at) == (1, T0 + timedelta(days=1))
    assert (summary.demo_count, summary.demo_last_at) == (0, None)
    engaged = dict(
        ContactEngagement.objects.filter(opportunity=deal).values_list(
            "contact_id", "last_engaged_at"
        )
    )
    assert engaged == {ann.pk: T0 + timedelta(days=2), bob.pk: T0 + timedelta(days=2)}
    assert ContactEngagement.objects.get(opportunity=deal, contact=ann).activities == 2
    assert activity_facts_mismatches() == []


def test_edits_moves_and_deletes_through_the_orm_keep_the_facts(org, processes):
    """What the admin and the shell do: plain ORM saves and deletes, contact edits from both
    sides of the many-to-many."""
    deal, other = make_opportunity(org.rep_a1), make_opportunity(org.rep_a1)
    ann = make_contact(deal.account)
    call = _log(org.rep_a1, deal, "call", T0, [ann])
    demo = _log(org.rep_a1, deal, "demo", T0 + timedelta(days=3))

    call.type, call.occurred_at = "meeting", T0 + timedelta(days=5)
    call.save()
    assert ActivitySummary.objects.get(opportunity=deal).meeting_count == 1
    assert activity_facts_mismatches() == []

    demo.opportunity = other
    demo.save()
    assert ActivitySummary.objects.get(opportunity=other).demo_count == 1
    assert ActivitySummary.objects.get(opportunity=deal).demo_count == 0
    assert activity_facts_mismatches() == []

    call.contacts.remove(ann)
    assert not ContactEngagement.objects.filter(opportunity=deal).exists()
    ann.activities.add(call)  # from the contact's side
    assert ContactEngagement.objects.filter(opportunity=deal, contact=ann).exists()
    ann.activities.clear()
    assert not ContactEngagement.objects.exists()
    call.contacts.set([ann])
    assert activity_facts_mismatches() == []

    Contact.objects.filter(pk=ann.pk).delete()  # its links and engagements go with it
    assert not ContactEngagement.objects.exists()
    call.delete()
    assert not ActivitySummary.objects.filter(opportunity=deal).exists()
    Activity.objects.filter(pk=demo.pk).delete()
    assert not ActivitySummary.objects.exists()
    assert activity_facts_mismatches() == []


def test_bulk_inserts_are_caught_by_the_check_and_fixed_by_a_refresh(org, processes):
    deal = make_opportunity(org.rep_a1)
    Activity.objects.bulk_create(
        [Activity(opportunity=deal, type="call", occurred_at=T0, owner=org.rep_a1, subject="x")]
    )
    (problem,) = activity_facts_mismatches()
    assert f"activity summary of deal {deal.pk}" in problem
    activity_facts_refresh([deal.pk])
    assert activity_facts_mismatches() == []
    assert ActivitySummary.objects.get(opportunity=deal).call_count == 1


def _move(user, deal, key):
    deal.refresh_from_db()
    return opportunity_move_stage(
        justification=JUST,
        user=user,
        opportunity_id=deal.pk,
        to_stage_key=key,
        expected_version=deal.version,
    ).transition


def test_stage_steps_count_positions_moved_by_a_person(org, processes):
    deal = make_opportunity(org.rep_a1)
    (first,) = deal.transitions.all()
    assert first.stage_steps is None  # the first stage: not a move
    assert _move(org.rep_a1, deal, "discover").stage_steps == 1
    assert _move(org.rep_a1, deal, "justify").stage_steps == 3  # skipped commit and evaluate
    assert _move(org.rep_a1, deal, "commit").stage_steps == -2  # went back
    assert _move(org.rep_a1, deal, "won").stage_steps == 4  # negotiate..won: skips too
    lost = make_opportunity(org.rep_a1)
    assert _move(org.rep_a1, lost, "lost").stage_steps is None
    assert _move(org.rep_a1, lost, "engage").stage_steps is None  # reopened
    assert transition_steps_mismatches() == []
    with append_only_unlocked("test: a tool that bypassed the application wrote a bad value"):
        StageTransition.objects.filter(pk=first.pk).update(stage_steps=2)
    (problem,) = transition_steps_mismatches()
    assert f"transition {first.pk} of deal {deal.pk}" in problem


@pytest.mark.django_db(transaction=True)
def test_two_writers_on_one_deal_at_once_both_count(org, processes) -> None:
    """A second transaction logging on the same deal waits for the first (the deal lock taken
    by the refresh) and then counts both activities, instead of failing on the summary's key
    or missing the first one."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    deal = make_opportunity(org.rep_a1)
    first_logged, second_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            first_logged.wait(timeout=30)
            _log(org.rep_a1, deal, "meeting", T0 + timedelta(days=1))
        except BaseException as error:  # reported by the assertions below
            errors.append(error)
        finally:
            connection.close()
            second_done.set()

    worker = threading.Thread(target=second)
    worker.start()
    with transaction.atomic():
        _log(org.rep_a1, deal, "call", T0)
        first_logged.set()
        # Commit only once the second writer is blocked behind this transaction.
        _wait_for_a_lock_wait(other_than=connection.cursor().connection.info.backend_pid)
    worker.join(timeout=30)
    assert second_done.is_set()
    assert errors == []
    summary = ActivitySummary.objects.get(opportunity=deal)
    assert (summary.activities, summary.call_count, summary.meeting_count) == (2, 1, 1)
    assert activity_facts_mismatches() == []


def _wait_for_a_lock_wait(*, other_than: int) -> None:
    """Poll pg_stat_activity (a condition, not a fixed delay) until another backend of this
    database waits on a lock; fail after 30 s."""
    deadline = time.monotonic() + 30
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # stats are cached per transaction
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> %s AND wait_event_type = 'Lock'",
                [other_than],
            )
            if cursor.fetchone()[0]:
                return
    pytest.fail("the second writer never waited for the first")


def test_the_command_checks_and_rebuilds(org, processes, capsys):
    deal = make_opportunity(org.rep_a1)
    call_command("pipeline_facts", "--check")
    assert "match" in capsys.readouterr().out
    Activity.objects.bulk_create(
        [Activity(opportunity=deal, type="demo", occurred_at=T0, owner=org.rep_a1, subject="x")]
    )
    with pytest.raises(CommandError, match="1 difference"):
        call_command("pipeline_facts", "--check")
    assert f"activity summary of deal {deal.pk}" in capsys.readouterr().out
    call_command("pipeline_facts", "--rebuild")
    call_command("pipeline_facts", "--check")
    assert ActivitySummary.objects.get(opportunity=deal).demo_count == 1


def test_buying_role_counts_follow_the_contact_roles(org, processes):
    deal = make_opportunity(org.rep_a1)
    ann, bob = make_contact(deal.account), make_contact(deal.account)
    opportunity_contact_add(
        user=org.rep_a1, opportunity_id=deal.pk, contact_id=ann.pk, buying_role="champion"
    )
    link = opportunity_contact_add(
        user=org.rep_a1, opportunity_id=deal.pk, contact_id=bob.pk, buying_role="champion"
    )
    opportunity_contact_add(
        user=org.rep_a1, opportunity_id=deal.pk, contact_id=ann.pk, buying_role="economic_buyer"
    )
    summary = BuyingRoleSummary.objects.get(opportunity=deal)
    assert (summary.champion, summary.economic_buyer, summary.coach) == (2, 1, 0)
    opportunity_contact_remove(
        user=org.rep_a1, opportunity_id=deal.pk, link_id=link.pk, expected_version=link.version
    )
    assert BuyingRoleSummary.objects.get(opportunity=deal).champion == 1
    Contact.objects.filter(pk=ann.pk).delete()  # its roles go, and the counts follow
    assert not BuyingRoleSummary.objects.filter(opportunity=deal).exists()
    assert role_facts_mismatches() == []


def test_deleting_a_deal_takes_its_facts_along(org, processes):
    deal = make_opportunity(org.rep_a1)
    ann = make_contact(deal.account)
    _log(org.rep_a1, deal, "call", T0, [ann])
    opportunity_contact_add(
        user=org.rep_a1, opportunity_id=deal.pk, contact_id=ann.pk, buying_role="coach"
    )
    with append_only_unlocked("test: a deal deleted with its history"):
        Opportunity.objects.filter(pk=deal.pk).delete()
    assert not ActivitySummary.objects.exists()
    assert not ContactEngagement.objects.exists()
    assert not BuyingRoleSummary.objects.exists()
