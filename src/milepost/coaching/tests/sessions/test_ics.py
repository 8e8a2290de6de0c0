"""Invitations: the .ics parses back with icalendar with the right people, times, time zone,
a stable UID and SEQUENCE = session version; mailed as text/calendar; method=REQUEST."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from icalendar import Calendar

from milepost.coaching.sessions import services as svc
from milepost.coaching.sessions.ics import session_ics, session_invite_send
from milepost.core.errors import InvalidChange, NotFound

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def people(org):
    for u in (org.manager_a, org.rep_a1):
        u.email = f"{u.username}@example.com"
        u.save()
    return org


def parse(body: bytes):
    cal = Calendar.from_ical(body)
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    return cal, events[0]


def test_invitation_round_trips(people):
    org = people
    when = datetime(2030, 1, 8, 9, 0, tzinfo=ZoneInfo("UTC"))
    session = svc.session_create(
        user=org.manager_a, rep_id=org.rep_a1.id, scheduled_for=when, duration_minutes=45
    )
    _, body = session_ics(user=org.rep_a1, session_id=session.id)
    cal, event = parse(body)
    assert str(cal["METHOD"]) == "REQUEST"
    assert event.decoded("DTSTART") == when
    assert event.decoded("DTEND") == when + timedelta(minutes=45)
    assert event.decoded("DTSTART").tzinfo is not None
    assert str(event["ORGANIZER"]) == "mailto:manager_a@example.com"
    assert str(event["ATTENDEE"]) == "mailto:rep_a1@example.com"
    assert event["ATTENDEE"].params["CN"] == str(org.rep_a1)
    assert int(event["SEQUENCE"]) == session.version
    uid = str(event["UID"])

    # An update keeps the UID and raises the SEQUENCE, so calendars replace the meeting.
    svc.session_update(
        user=org.manager_a,
        session_id=session.id,
        expected_version=session.version,
        scheduled_for=when + timedelta(hours=1),
        notes="Confidential: struggles with pricing talks",
    )
    _, body2 = session_ics(user=org.manager_a, session_id=session.id)
    _, event2 = parse(body2)
    assert str(event2["UID"]) == uid
    assert int(event2["SEQUENCE"]) == session.version + 1
    assert event2.decoded("DTSTART") == when + timedelta(hours=1)
    # The coaching notes never travel in the invitation.
    assert b"Confidential" not in body2


def test_cadence_session_carries_its_time_zone_and_optional_rrule(people):
    org = people
    cadence = svc.cadence_set(
        user=org.manager_a,
        rep_id=org.rep_a1.id,
        every_weeks=2,
        weekday=3,
        time_of_day=time(10, 0),
        starts_on=date(2030, 1, 1),
        tz="Europe/Paris",
    )
    first = svc.next_sessions(cadence, datetime(2030, 1, 1, tzinfo=PARIS), 1)[0]
    session = svc.session_create(
        user=org.manager_a, rep_id=org.rep_a1.id, scheduled_for=first.start, cadence=cadence
    )
    _, body = session_ics(user=org.manager_a, session_id=session.id)
    cal, event = parse(body)
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert event.decoded("DTSTART") == datetime(2030, 1, 3, 10, 0, tzinfo=PARIS)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Paris"]
    assert "RRULE" not in event

    _, body = session_ics(user=org.manager_a, session_id=session.id, with_rrule=True)
    _, event = parse(body)
    rule = event["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"]
    assert rule["INTERVAL"] == [2]
    assert rule["BYDAY"] == ["TH"]


def test_mailed_invitation_is_a_calendar_request(people):
    org = people
    session = svc.session_create(
        user=org.manager_a,
        rep_id=org.rep_a1.id,
        scheduled_for=datetime(2030, 1, 8, 9, 0, tzinfo=ZoneInfo("UTC")),
    )
    assert session_invite_send(user=org.manager_a, session_id=session.id) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0].message()
    assert set(mail.outbox[0].to) == {"rep_a1@example.com", "manager_a@example.com"}
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    assert parts[0].get_param("method") == "REQUEST"
    _, event = parse(parts[0].get_payload(decode=True))
    assert int(event["SEQUENCE"]) == session.version


@pytest.mark.parametrize(("who", "error"), [("rep_a1", InvalidChange), ("rep_a2", NotFound)])
def test_only_the_manager_mails(people, who, error):
    org = people
    session = svc.session_create(
        user=org.manager_a,
        rep_id=org.rep_a1.id,
        scheduled_for=datetime(2030, 1, 8, 9, 0, tzinfo=ZoneInfo("UTC")),
    )
    with pytest.raises(error):
        session_invite_send(user=getattr(org, who), session_id=session.id)
    assert mail.outbox == []


def test_download_and_api_answer_text_calendar(people, client):
    org = people
    session = svc.session_create(
        user=org.manager_a,
        rep_id=org.rep_a1.id,
        scheduled_for=datetime(2030, 1, 8, 9, 0, tzinfo=ZoneInfo("UTC")),
    )
    client.force_login(org.rep_a1)
    for path in (
        f"/coaching/sessions/{session.id}/invite.ics",
        f"/api/v1/coaching/sessions/{session.id}/invite.ics",
    ):
        response = client.get(path)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/calendar")
        assert "attachment" in response["Content-Disposition"]
        parse(response.content)
