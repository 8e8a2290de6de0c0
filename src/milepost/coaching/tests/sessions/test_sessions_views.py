"""The 1:1 pages: My 1:1s, drafting, the HTMX session page (moves keep the keyboard focus,
notes, action items, conflicts, completion), the action list, the deal partial and the
overdue column on inspection."""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from milepost.coaching.models import ActionItem, CoachingCadence, CoachingSession, SessionStatus
from milepost.coaching.sessions import services as svc
from milepost.testing.factories import make_opportunity

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def drafted(org, processes, client_for):
    make_opportunity(org.rep_a1, stage_key="commit", amount="90000", name="Globex expansion")
    make_opportunity(org.rep_a1, stage_key="discover", amount="20000", name="Initech pilot")
    client = client_for(org.manager_a)
    response = client.post(
        f"/coaching/reps/{org.rep_a1.id}/sessions/new/",
        {"scheduled_for": "2030-01-08T10:00", "duration_minutes": 30},
    )
    assert response.status_code == 302
    session = CoachingSession.objects.get()
    assert response["Location"] == f"/coaching/sessions/{session.id}/"
    return client, session


def order(session) -> list[str]:
    return list(session.items.order_by("position").values_list("title", flat=True))


def test_home_lists_the_team_for_a_manager_and_own_items_for_a_rep(org, processes, client_for):
    page = client_for(org.manager_a).get("/coaching/").content.decode()
    assert "Your team" in page
    assert str(org.rep_a1) in page
    assert str(org.rep_b1) not in page
    page = client_for(org.rep_a1).get("/coaching/").content.decode()
    assert "Your team" not in page
    assert "Your own 1:1s" in page


def test_drafted_session_page_shows_generated_items(drafted):
    client, session = drafted
    page = client.get(f"/coaching/sessions/{session.id}/").content.decode()
    assert "Globex expansion" in page
    assert "Not verified" in page
    assert "Ask:" in page
    assert "Start the 1:1" in page


def test_move_over_htmx_keeps_focus_on_the_moved_item(drafted):
    client, session = drafted
    before = order(session)
    second = session.items.get(position=2)
    response = client.post(
        f"/coaching/sessions/{session.id}/items/{second.id}/move/",
        {"direction": "up", "version": session.version},
        **HX,
    )
    assert response.status_code == 200
    assert order(session) == [before[1], before[0], *before[2:]]
    body = response.content.decode()
    # Now first: Up is disabled, so the keyboard goes to its Down button.
    assert re.search(rf'id="down-{second.id}"[^>]*data-focus', body)


def test_stale_version_answers_409_and_changes_nothing(drafted):
    client, session = drafted
    before = order(session)
    response = client.post(
        f"/coaching/sessions/{session.id}/items/add/",
        {"title": "Pricing", "version": session.version - 1 or 99},
        **HX,
    )
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    assert order(session) == before


def test_full_run_notes_action_item_complete(org, drafted):
    client, session = drafted
    base = f"/coaching/sessions/{session.id}"
    r = client.post(
        f"{base}/items/add/", {"title": "Hiring plan", "version": session.version}, **HX
    )
    assert r.status_code == 200
    session.refresh_from_db()
    r = client.post(f"{base}/start/", {"version": session.version}, **HX)
    assert r.status_code == 200
    session.refresh_from_db()
    assert session.status == SessionStatus.IN_PROGRESS
    item = session.items.get(title="Hiring plan")
    r = client.post(
        f"{base}/items/{item.id}/update/",
        {
            "version": session.version,
            "notes": "Two roles open",
            "discussed_sent": "1",
            "discussed": "on",
        },
        **HX,
    )
    assert r.status_code == 200
    item.refresh_from_db()
    assert (item.notes, item.discussed) == ("Two roles open", True)
    r = client.post(
        f"{base}/actions/add/",
        {"title": "Post the job ad", "owner": org.rep_a1.id, "due_date": "2030-01-15"},
        **HX,
    )
    assert r.status_code == 200, r.content
    assert ActionItem.objects.get().title == "Post the job ad"
    r = client.post(f"{base}/actions/add/", {"title": "x", "owner": org.rep_a1.id}, **HX)
    assert r.status_code == 422
    session.refresh_from_db()
    r = client.post(f"{base}/complete/", {"version": session.version}, **HX)
    assert r.status_code == 200
    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED
    assert "Start the 1:1" not in r.content.decode()
    assert "Add action item" not in r.content.decode()


def test_plain_forms_redirect_with_a_message(drafted):
    client, session = drafted
    r = client.post(
        f"/coaching/sessions/{session.id}/items/add/", {"title": "Q", "version": session.version}
    )
    assert r.status_code == 302
    page = client.get(r["Location"]).content.decode()
    assert "at least 3 characters" in page


def test_rep_marks_own_item_done_from_the_list(org, drafted, client_for):
    _, session = drafted
    item = svc.action_item_add(
        user=org.manager_a,
        session_id=session.id,
        title="Send the recap",
        due_date=date.today() - timedelta(days=1),
        owner_id=org.rep_a1.id,
    )
    rep = client_for(org.rep_a1)
    page = rep.get("/coaching/actions/").content.decode()
    assert "Send the recap" in page
    assert "overdue" in page
    r = rep.post(
        f"/coaching/actions/{item.id}/status/",
        {"status": "done", "version": 1, "next": "/coaching/actions/"},
    )
    assert r.status_code == 302
    item.refresh_from_db()
    assert item.status == "done"


def test_inspection_shows_overdue_items_per_rep_within_the_rule(org, drafted, client_for):
    _, session = drafted
    svc.action_item_add(
        user=org.manager_a,
        session_id=session.id,
        title="Overdue thing",
        due_date=timezone.localdate() - timedelta(days=3),
        owner_id=org.rep_a1.id,
    )
    page = _inspection_with_coaching_column(client_for(org.manager_a))
    assert "Overdue 1:1 items" in page
    assert re.search(r'data-coaching-overdue><span class="badge badge-danger">1</span>', page)
    admin_page = _inspection_with_coaching_column(client_for(org.admin))
    assert "Overdue 1:1 items" not in admin_page


def test_overdue_column_never_counts_another_teams_items(org, drafted, client_for):
    _, session = drafted
    svc.action_item_add(
        user=org.manager_a,
        session_id=session.id,
        title="Overdue thing",
        due_date=timezone.localdate() - timedelta(days=3),
        owner_id=org.rep_a1.id,
    )
    url = f"/coaching/reps/overdue/?rep={org.rep_a1.id}"
    mine = client_for(org.manager_a).get(url, **HX).content.decode()
    assert f'id="coaching-overdue-{org.rep_a1.id}" hx-swap-oob="true"' in mine
    other = client_for(org.manager_b).get(url, **HX).content.decode()
    assert "data-coaching-overdue" not in other
    assert client_for(org.manager_a).get(url).status_code == 302  # plain request: the list


def _inspection_with_coaching_column(client) -> str:
    """The inspection page plus what its coaching slot loads after it (the per-rep column)."""
    page = client.get("/inspection/").content.decode()
    slot = re.search(r'hx-get="(/coaching/reps/overdue/[^"]*)"', page)
    assert slot, "the inspection page loads the coaching column after the page"
    column = client.get(slot.group(1).replace("&amp;", "&"), **HX)
    assert column.status_code == 200
    return page + column.content.decode()


def test_deal_page_loads_the_coaching_partial(org, drafted):
    client, session = drafted
    deal = session.items.filter(opportunity__isnull=False).first().opportunity
    page = client.get(f"/pipeline/opportunities/{deal.id}/").content.decode()
    assert f"/coaching/deals/{deal.id}/actions/" in page
    svc.action_item_add(
        user=org.manager_a,
        session_id=session.id,
        title="Meet the CFO",
        due_date=date(2030, 1, 20),
        owner_id=org.rep_a1.id,
        opportunity_id=deal.id,
    )
    partial = client.get(f"/coaching/deals/{deal.id}/actions/", **HX).content.decode()
    assert "Meet the CFO" in partial
    assert "<html" not in partial
    full = client.get(f"/coaching/deals/{deal.id}/actions/").content.decode()
    assert "<html" in full


def test_cadence_from_the_home_page_then_draft_next_from_it(org, processes, client_for):
    client = client_for(org.manager_a)
    r = client.post(
        f"/coaching/reps/{org.rep_a1.id}/cadence/",
        {
            "every_weeks": 2,
            "weekday": 3,
            "time_of_day": "09:30",
            "duration_minutes": 45,
            "timezone": "Europe/Paris",
            "starts_on": "2030-01-01",
        },
    )
    assert r.status_code == 302
    page = client.get("/coaching/").content.decode()
    assert "every 2 weeks, 09:30 Europe/Paris" in page
    assert '<option value="3" selected>Thursday</option>' in page
    r = client.post(f"/coaching/reps/{org.rep_a1.id}/sessions/next/")
    assert r.status_code == 302
    session = CoachingSession.objects.get()
    local = session.scheduled_for.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.weekday(), local.hour, local.minute) == (3, 9, 30)
    assert session.duration_minutes == 45
    # The next one skips the meeting that already has a session.
    client.post(f"/coaching/reps/{org.rep_a1.id}/sessions/next/")
    later = CoachingSession.objects.exclude(pk=session.pk).get()
    assert later.scheduled_for - session.scheduled_for == timedelta(weeks=2)


def test_changing_a_cadence_on_the_page_carries_the_version_read(org, processes, client_for):
    client = client_for(org.manager_a)
    url = f"/coaching/reps/{org.rep_a1.id}/cadence/"
    form = {
        "every_weeks": 1,
        "weekday": 1,
        "time_of_day": "10:00",
        "duration_minutes": 30,
        "timezone": "UTC",
        "starts_on": "2030-01-01",
    }
    client.post(url, form)
    assert 'name="version" value="1"' in client.get("/coaching/").content.decode()
    client.post(url, {**form, "every_weeks": 3})  # no version: refused, nothing changed
    assert CoachingCadence.objects.get().every_weeks == 1
    client.post(url, {**form, "every_weeks": 3, "version": 1})
    assert (CoachingCadence.objects.get().every_weeks, CoachingCadence.objects.get().version) == (
        3,
        2,
    )
    client.post(url, {**form, "every_weeks": 4, "version": 1})  # stale: refused
    assert CoachingCadence.objects.get().every_weeks == 3


def test_rep_page_lists_open_items_for_those_who_may_see_them(org, drafted, client_for):
    _, session = drafted
    svc.action_item_add(
        user=org.manager_a,
        session_id=session.id,
        title="Map the buying group",
        due_date=date.today() + timedelta(days=3),
        owner_id=org.rep_a1.id,
    )
    url = f"/coaching/skills/reps/{org.rep_a1.id}/"
    for who in (org.rep_a1, org.manager_a):
        page = client_for(who).get(url).content.decode()
        section = page.split('id="rep-actions-h"', 1)[1]
        assert "Map the buying group" in section
    for outsider in (org.rep_a2, org.manager_b, org.admin):
        assert client_for(outsider).get(url).status_code == 404


def test_session_page_with_deal_and_skill_items_added_without_a_detail(org, processes, client_for):
    """A deal item added through the API (or by the demo) has no drafted detail; the page used
    to answer 500 on it (the money filter's currency argument was missing). Found by
    ``bin/bench load``."""
    deal = make_opportunity(org.rep_a1, stage_key="commit", amount="90000", name="Globex deal")
    session = svc.session_create(
        user=org.manager_a,
        rep_id=org.rep_a1.id,
        scheduled_for=timezone.now() + timedelta(days=1),
    )
    svc.agenda_item_add(
        user=org.manager_a,
        session_id=session.id,
        expected_version=session.version,
        title="Globex deal",
        kind="deal",
        opportunity_id=deal.id,
    )
    session.refresh_from_db()
    svc.agenda_item_add(
        user=org.manager_a,
        session_id=session.id,
        expected_version=session.version,
        title="Skill: call planning",
        kind="skill",
    )
    response = client_for(org.manager_a).get(f"/coaching/sessions/{session.id}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Globex deal" in page
    assert "Skill: call planning" in page
    assert " of  of the rep" not in page  # no sentence built from missing numbers
