"""The deal page's editors: inline edits swap the facts back, refusals come back next to the
field with the focus on it, a lost optimistic-locking race says who changed what, signal links
open the editor they name, and closing goes through the gate (a loss needs a reason).

The organisation and its deals are built once for the module; each test runs in a savepoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from milepost.coaching.agenda.services import session_create_from_draft
from milepost.pipeline.models import Opportunity
from milepost.pipeline.services import opportunity_update
from milepost.testing.factories import Org, ensure_default_processes, make_opportunity, make_org
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[tuple[Org, int]]:
    with shared_world(django_db_blocker):
        ensure_default_processes()
        org = make_org()
        org.manager_a.first_name, org.manager_a.last_name = "Ana", "Lopez"
        org.manager_a.save()
        opp = make_opportunity(org.rep_a1, name="Edited deal", amount="10000")
        yield org, opp.pk


@pytest.fixture
def org(world, db) -> Org:
    return world[0]


@pytest.fixture
def opp(world, db) -> Opportunity:
    return Opportunity.objects.get(pk=world[1])


def edit(opp: Opportunity) -> str:
    return reverse("pipeline:edit", args=[opp.pk])


def _focused(html: str) -> str:
    """The tag carrying ``autofocus`` (the field the page puts the focus on)."""
    return html[: html.index("autofocus")].rsplit("<", 1)[-1]


def test_signal_link_opens_the_editor_focused_on_its_field(org, opp, client_for):
    client = client_for(org.rep_a1)
    html = client.get(reverse("pipeline:detail", args=[opp.pk]) + "?edit=next_step").content
    html = html.decode()
    assert 'class="inline-edit"' in html
    assert 'name="next_step"' in _focused(html)
    assert '<label for="id_next_step">' in html
    assert 'id="contacts"' in html  # contact signals link to #contacts


def test_inline_edit_saves_and_returns_the_facts(org, opp, client_for):
    client = client_for(org.rep_a1)
    data = {"group": "next_step", "next_step": " Call the CFO ", "version": opp.version}
    response = client.post(edit(opp), {**data, "next_step_date": ""}, **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="deal-facts"' in html
    assert "Call the CFO" in html
    assert 'class="inline-edit"' not in html
    # The process map listens for this event and re-fetches criteria, banner and signals.
    assert response["HX-Trigger"] == "deal-changed"
    opp.refresh_from_db()
    assert (opp.next_step, opp.next_step_date, opp.version) == ("Call the CFO", None, 2)


def test_inline_edit_refusal_is_next_to_the_field_with_focus(org, opp, client_for):
    client = client_for(org.rep_a1)
    data = {"group": "amount", "amount": "10.005", "currency": "USD", "version": opp.version}
    response = client.post(edit(opp), data, **HX)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_amount_error"' in html
    assert "2 decimal places" in html
    assert 'name="amount"' in _focused(html)
    assert 'aria-invalid="true"' in html
    opp.refresh_from_db()
    assert opp.version == 1


def test_conflict_says_who_changed_what(org, opp, client_for):
    opportunity_update(
        user=org.manager_a, opportunity_id=opp.pk, expected_version=1, changes={"amount": 12000}
    )
    client = client_for(org.rep_a1)
    data = {"group": "amount", "amount": "11000", "currency": "USD", "version": 1}
    response = client.post(edit(opp), data, **HX)
    assert response.status_code == 409
    html = response.content.decode()
    assert "Ana Lopez changed amount from 10,000 to 12,000 at" in html
    assert "reload to see it" in html
    opp.refresh_from_db()
    assert opp.amount == 12000


def test_conflict_names_the_writer_of_any_field(org, opp, client_for):
    opportunity_update(
        user=org.manager_a, opportunity_id=opp.pk, expected_version=1, changes={"amount": 12000}
    )
    opportunity_update(
        user=org.manager_a,
        opportunity_id=opp.pk,
        expected_version=2,
        changes={"next_step": "Call the CFO"},
    )
    opp.refresh_from_db()
    assert opp.updated_by == org.manager_a
    client = client_for(org.rep_a1)
    data = {"group": "amount", "amount": "11000", "currency": "USD", "version": 2}
    response = client.post(edit(opp), data, **HX)
    assert response.status_code == 409
    html = response.content.decode()
    assert "Ana Lopez changed this deal at" in html
    assert "reload to see it" in html
    assert "changed amount" not in html  # an older change is not the one that conflicted
    opp.refresh_from_db()
    assert (opp.amount, opp.next_step) == (12000, "Call the CFO")


def test_plain_form_post_without_htmx_redirects_or_shows_the_page(org, opp, client_for):
    client = client_for(org.rep_a1)
    bad = {"group": "name", "name": "", "version": opp.version}
    response = client.post(edit(opp), bad)
    assert response.status_code == 422
    assert 'id="id_name_error"' in response.content.decode()
    good = {"group": "name", "name": "Renamed", "version": opp.version}
    response = client.post(edit(opp), good)
    assert response.status_code == 302
    opp.refresh_from_db()
    assert opp.name == "Renamed"


def test_close_as_lost_needs_a_reason(org, opp, client_for):
    client = client_for(org.rep_a1)
    close = reverse("pipeline:close", args=[opp.pk])
    response = client.post(close, {"outcome": "lost", "version": opp.version}, **HX)
    assert response.status_code == 422
    assert "lost" in response.content.decode()
    opp.refresh_from_db()
    assert opp.stage.kind == "open"
    data = {"outcome": "lost", "lost_reason": "Went with a rival", "version": opp.version}
    assert client.post(close, data).status_code == 302
    opp.refresh_from_db()
    assert (opp.stage.kind, opp.lost_reason) == ("lost", "Went with a rival")


def test_close_as_won_meets_the_gate(org, opp, client_for):
    client = client_for(org.rep_a1)
    close = reverse("pipeline:close", args=[opp.pk])
    response = client.post(close, {"outcome": "won", "version": opp.version}, **HX)
    assert response.status_code == 422
    assert "exit criteria are not met" in response.content.decode()
    data = {"outcome": "won", "justification": "PO received today", "version": opp.version}
    assert client.post(close, data).status_code == 302
    opp.refresh_from_db()
    assert opp.stage.kind == "won"
    assert opp.transitions.last().criteria_result["justification"] == "PO received today"


# --- links that fix signals ------------------------------------------------------------------


def test_explanation_links_each_signal_to_its_fix(org, opp, client_for):
    html = client_for(org.manager_a).get(reverse("inspection:explain", args=[opp.pk]), **HX)
    html = html.content.decode()
    detail = reverse("pipeline:detail", args=[opp.pk])
    assert f'href="{detail}?edit=next_step#next-step"' in html  # "no next step" fires


def test_agenda_links_each_signal_to_its_fix(org, opp, client_for):
    session = session_create_from_draft(
        org.manager_a, org.rep_a1.pk, timezone.now() + timedelta(days=1)
    )
    html = client_for(org.manager_a).get(reverse("coaching:session", args=[session.pk]))
    html = html.content.decode()
    detail = reverse("pipeline:detail", args=[opp.pk])
    assert f'href="{detail}?edit=next_step#next-step"' in html
