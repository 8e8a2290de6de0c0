"""Weekly digest: what slipped in the week, who is due a 1:1, what is overdue; mailed once per
(manager, week) with a plain-text body and an HTML alternative (locmem outbox)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from milepost.coaching.leaders.digest import digest_for
from milepost.coaching.models import (
    ActionItem,
    ActionStatus,
    CoachingCadence,
    CoachingSession,
    DigestDelivery,
    SessionStatus,
)
from milepost.engine.coaching_effect import week_start
from milepost.pipeline.choices import TransitionSource
from milepost.pipeline.models import OpportunityChange, StageTransition
from milepost.process.models import Stage
from milepost.testing.factories import make_opportunity

pytestmark = pytest.mark.django_db

WEEK = week_start(timezone.localdate()) - timedelta(days=7)  # last week, all in the past


def _at(days: float) -> datetime:
    """``days`` after the week's Monday 00:00."""
    start = datetime.combine(WEEK, time.min, tzinfo=timezone.get_current_timezone())
    return start + timedelta(days=days)


def _session(manager, rep, at: datetime) -> CoachingSession:
    return CoachingSession.objects.create(
        manager=manager, rep=rep, scheduled_for=at, status=SessionStatus.COMPLETED, completed_at=at
    )


def _action(session, title: str, due, status=ActionStatus.OPEN) -> None:
    now = timezone.now()
    ActionItem.objects.create(
        session=session,
        owner=session.rep,
        title=title,
        due_date=due,
        status=status,
        completed_at=now if status == ActionStatus.DONE else None,
        created_at=now,
        updated_at=now,
    )


def _push(deal, at: datetime, days: int) -> None:
    OpportunityChange.objects.create(
        opportunity=deal,
        changed_at=at,
        source=TransitionSource.USER,
        close_date_from=deal.close_date,
        close_date_to=deal.close_date + timedelta(days=days),
        close_date_shift_days=days,
    )


@pytest.fixture
def week(org, processes):
    org.manager_a.email = "mona@example.com"
    org.manager_a.save()
    pushed = make_opportunity(org.rep_a1, name="Pushed deal", at=_at(-30))
    _push(pushed, _at(2), 12)
    old_push = make_opportunity(org.rep_a1, name="Pushed last month", at=_at(-30))
    _push(old_push, _at(-10), 5)
    pulled_in = make_opportunity(org.rep_a1, name="Pulled in", at=_at(-30))
    _push(pulled_in, _at(2), -5)  # moved earlier: not a slip
    back = make_opportunity(org.rep_a2, name="Went back", stage_key="discover", at=_at(-30))
    stages = {s.key: s for s in Stage.objects.filter(version=back.stage.version)}
    StageTransition.objects.create(
        opportunity=back,
        from_stage=stages["evaluate"],
        to_stage=stages["discover"],
        moved_at=_at(3),
        amount=back.amount,
        currency="USD",
        close_date=back.close_date,
        source=TransitionSource.USER,
    )
    other_team = make_opportunity(org.rep_b1, name="Other team push", at=_at(-30))
    _push(other_team, _at(2), 30)
    for rep in (org.rep_a1, org.rep_a2):
        CoachingCadence.objects.create(
            manager=org.manager_a,
            rep=rep,
            weekday=1,
            time_of_day=time(10),
            starts_on=WEEK - timedelta(days=60),
        )
    recent = _session(org.manager_a, org.rep_a1, _at(1))
    old = _session(org.manager_a, org.rep_a2, _at(-20))
    _action(recent, "Overdue call plan", WEEK + timedelta(days=2))
    _action(old, "Done on time", WEEK, status=ActionStatus.DONE)
    _action(recent, "Due later", WEEK + timedelta(days=20))
    b_session = _session(org.manager_b, org.rep_b1, _at(-30))
    _action(b_session, "Other manager's overdue", WEEK)
    return org


def test_digest_lists_slipped_due_and_overdue(week):
    org = week
    d = digest_for(viewer=org.manager_a, manager=org.manager_a, week=WEEK + timedelta(days=4))
    assert d.week_start == WEEK
    slipped = {s.opportunity.name: s.reasons for s in d.slipped}
    assert set(slipped) == {"Pushed deal", "Went back"}
    assert slipped["Pushed deal"][0] == "close date pushed 12 days"
    assert slipped["Went back"][0].startswith("moved back from")
    assert [r.rep.username for r in d.due] == ["rep_a2"]
    assert [a.title for a in d.overdue] == ["Overdue call plan"]


def test_command_mails_once_per_manager_and_week(week, capsys):
    call_command("coaching_digest", "--week", WEEK.isoformat())
    assert len(mail.outbox) == 1  # manager_b has no email
    message = mail.outbox[0]
    assert message.to == ["mona@example.com"]
    assert "Pushed deal" in message.body
    assert "close date pushed 12 days" in message.body
    assert "Overdue call plan" in message.body
    assert "Other manager's overdue" not in message.body
    html, mime = message.alternatives[0]
    assert mime == "text/html"
    assert "Pushed deal" in html
    assert "<h1>" in html
    assert DigestDelivery.objects.filter(manager=week.manager_a, week_start=WEEK).count() == 1
    call_command("coaching_digest", "--week", (WEEK + timedelta(days=3)).isoformat())
    assert len(mail.outbox) == 1  # same week: nothing sent again
    call_command(
        "coaching_digest",
        "--week",
        (WEEK + timedelta(days=7)).isoformat(),
        "--manager",
        "manager_a",
    )
    assert len(mail.outbox) == 2  # the next week is a new digest
    assert "0 sent" not in capsys.readouterr().out.splitlines()[-1]


def test_command_refuses_an_unknown_manager(week):
    with pytest.raises(CommandError):
        call_command("coaching_digest", "--manager", "nobody")
    assert mail.outbox == []


def test_digest_page_for_the_manager(week, client_for):
    body = client_for(week.manager_a).get(f"/coaching/digest/?week={WEEK}").content.decode()
    assert "Pushed deal" in body
    assert "Overdue call plan" in body
    assert "Other manager&#x27;s overdue" not in body


def test_an_archived_deal_leaves_the_digest(week):
    """Archiving hides a deal everywhere (issue 12): the digest reads Opportunity directly, so it
    filters archived deals itself."""
    org = week
    pushed = org.rep_a1.opportunities.get(name="Pushed deal")
    pushed.archived_at = timezone.now()
    pushed.save(update_fields=["archived_at"])
    d = digest_for(viewer=org.manager_a, manager=org.manager_a, week=WEEK + timedelta(days=4))
    assert {s.opportunity.name for s in d.slipped} == {"Went back"}
