"""1:1 invitations as iCalendar (RFC 5545) files, downloaded or mailed.

Built with the ``icalendar`` library (pinned), never by string formatting: escaping, folding and
time zones are where hand-written calendars go wrong. The event's UID is stable per session and
its SEQUENCE is the session's version, so a re-sent invitation *updates* the meeting in the
attendees' calendars instead of adding a second one. A session from a cadence may carry the
cadence as an RRULE (a series), optional because most calendars then own the series.

Only the time, the people and a link go into the file: the agenda and notes are coaching
records (private), and an invitation travels through mail servers and shared calendars.
"""

from __future__ import annotations

from datetime import timedelta
from email.mime.text import MIMEText
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vRecur

from milepost.coaching.models import CoachingSession
from milepost.coaching.sessions.selectors import session_get
from milepost.coaching.sessions.services import WEEKDAYS, manages_session
from milepost.core.errors import InvalidChange
from milepost.team.models import User

PRODID = "-//Milepost//Coaching 1:1//EN"
_RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def session_uid(session: CoachingSession) -> str:
    """Stable per session (not per version), so updates replace the meeting."""
    domain = getattr(settings, "MILEPOST_ICS_DOMAIN", "milepost.invalid")
    return f"coaching-session-{session.pk}@{domain}"


def _address(user: User, role: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{user.email or user.username + '@milepost.invalid'}")
    address.params["CN"] = str(user)
    address.params["ROLE"] = role
    if role == "REQ-PARTICIPANT":
        address.params["PARTSTAT"] = "NEEDS-ACTION"
        address.params["RSVP"] = "TRUE"
    return address


def session_calendar(
    session: CoachingSession, *, with_rrule: bool = False, method: str = "REQUEST"
) -> Calendar:
    """The invitation for ``session`` as a calendar with one event (and its VTIMEZONE)."""
    cadence = session.cadence
    zone = ZoneInfo(cadence.timezone if cadence else settings.TIME_ZONE)
    start = session.scheduled_for.astimezone(zone)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", method)
    event = Event()
    event.add("uid", session_uid(session))
    event.add("sequence", session.version)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=session.duration_minutes))
    event.add("summary", f"1:1 {session.manager} / {session.rep}")
    event.add(
        "description",
        "Coaching 1:1 prepared in Milepost. The agenda is in Milepost (coaching notes are "
        "not sent by mail).",
    )
    event["organizer"] = _address(session.manager, "CHAIR")
    event.add("attendee", _address(session.rep, "REQ-PARTICIPANT"))
    event.add("status", "CANCELLED" if session.status == "cancelled" else "CONFIRMED")
    if with_rrule and cadence is not None and cadence.active:
        event.add(
            "rrule",
            vRecur(freq="WEEKLY", interval=cadence.every_weeks, byday=_RRULE_DAYS[cadence.weekday]),
        )
    cal.add_component(event)
    cal.add_missing_timezones()
    return cal


def session_ics(
    *, user: User, session_id: int, with_rrule: bool = False
) -> tuple[CoachingSession, bytes]:
    """The .ics bytes of a session ``user`` may see (NotFound otherwise)."""
    session = session_get(user, session_id)
    return session, session_calendar(session, with_rrule=with_rrule).to_ical()


def ics_filename(session: CoachingSession) -> str:
    return f"1-1-{session.rep.username}-{session.scheduled_for:%Y-%m-%d}.ics"


def session_invite_send(*, user: User, session_id: int, with_rrule: bool = False) -> int:
    """Mail the invitation to the rep (and a copy to the manager) as text/calendar with
    METHOD:REQUEST. Only the session's managers send it. Returns the number of messages sent."""
    session = session_get(user, session_id)
    if not manages_session(user, session):
        raise InvalidChange("only the rep's manager sends the invitation", field="session")
    recipients = [u.email for u in (session.rep, session.manager) if u.email]
    if not session.rep.email:
        raise InvalidChange("the rep has no e-mail address", field="rep")
    when = session.scheduled_for.astimezone(
        ZoneInfo(session.cadence.timezone if session.cadence else settings.TIME_ZONE)
    )
    weekday = WEEKDAYS[when.weekday()]
    message = EmailMessage(
        subject=f"1:1 {session.manager} / {session.rep} — {weekday} {when:%d %b %Y %H:%M %Z}",
        body=(
            f"{session.manager} invites you to a 1:1 on {weekday} {when:%d %b %Y at %H:%M %Z}.\n"
            "The agenda is in Milepost under Coaching."
        ),
        from_email=session.manager.email or None,
        to=recipients,
    )
    # Built as a MIME part so the content type carries ``method=REQUEST`` (what makes mail
    # clients show Accept / Decline instead of a plain attachment).
    part = MIMEText(
        session_calendar(session, with_rrule=with_rrule).to_ical().decode(), "calendar", "utf-8"
    )
    part.set_param("method", "REQUEST")
    part.add_header("Content-Disposition", "attachment", filename=ics_filename(session))
    message.attach(part)
    return message.send()
