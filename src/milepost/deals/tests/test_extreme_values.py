"""Extreme but storable deal values keep every page and endpoint that shows a deal up.

Issue 12 found pages that answered 500 for values the services had accepted (an amount at the
column's limit, a deal priced from 0). This property writes the extremes the deal schema allows
(amounts 0 and the maximum, empty and maximal strings, right-to-left text and emoji, dates at
both ends of the window, every nullable field null) through the services, then asks for the
board, the table, the deal page, the inspection page and API, the owner's 1:1 agenda draft and
the deal API as a rep, a manager, a leader and an admin: each answers 200. The set-based and the
explained inspection agree on the deal, too.

The organisation is built once for the module; each example writes inside a savepoint that is
rolled back, so examples do not see each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from milepost.inspection.deal import explain_criteria
from milepost.inspection.pipeline import inspect_pipeline
from milepost.pipeline.models import Opportunity
from milepost.pipeline.services import opportunity_create, opportunity_update
from milepost.pipeline.validation import (
    AMOUNT_MAX,
    DATE_MIN,
    NAME_MAX,
    NEXT_STEP_MAX,
    SOURCE_MAX,
    date_max,
)
from milepost.testing.factories import Org, ensure_default_processes, make_account, make_org
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Right-to-left, emoji (with a joiner and a skin tone), combining marks, markup-looking text.
ODD = "שלום مرحبا ‏‮😀👩🏽‍💻ée̊<b>&amp;\"'\t"
texts = st.text(alphabet=st.sampled_from(ODD) | st.characters(codec="utf-8"), max_size=40)


def _fit(text: str, size: int, *, required: bool = False) -> str:
    """``text`` trimmed as the schema trims it and cut to ``size`` (the test's job, not the
    service's), never empty when ``required``."""
    text = text.replace("\x00", "").strip()[:size].strip()
    return text or ("x" if required else "")


def _repeat(seed: str, size: int) -> str:
    return _fit((seed or "x") * size, size, required=True)


@st.composite
def extremes(draw: st.DrawFn) -> dict:
    def edge(lo, hi, middle):  # one end, the other, or in between
        return draw(st.sampled_from([lo, hi]) | middle)

    seed = draw(texts)
    name_full = draw(st.booleans())
    return {
        "name": _repeat(seed, NAME_MAX) if name_full else _fit(seed, NAME_MAX, required=True),
        "amount": edge(
            Decimal(0), AMOUNT_MAX, st.decimals(min_value=0, max_value=AMOUNT_MAX, places=2)
        ),
        "priced": draw(st.none() | st.sampled_from([Decimal(0), AMOUNT_MAX, Decimal("50000")])),
        "currency": draw(st.sampled_from(["USD", "EUR", "JPY", "XAF", "CHF"])),
        "close_date": edge(DATE_MIN, date_max(), st.dates(DATE_MIN, date_max())),
        "next_step": draw(st.sampled_from(["", _repeat(seed, NEXT_STEP_MAX), _fit(seed, 300)])),
        "next_step_date": draw(st.none() | st.sampled_from([DATE_MIN, date_max()])),
        "source": draw(st.sampled_from(["", _repeat(seed, SOURCE_MAX)])),
        "probability": draw(st.none() | st.sampled_from([0, 100])),
        "with_account": draw(st.booleans()),
    }


DRAFTERS = {"manager_a", "leader"}
ALL_NULL = {
    "name": "x",
    "amount": Decimal(0),
    "priced": None,
    "currency": "USD",
    "close_date": DATE_MIN,
    "next_step": "",
    "next_step_date": None,
    "source": "",
    "probability": None,
    "with_account": False,
}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[tuple[Org, int]]:
    with shared_world(django_db_blocker):
        ensure_default_processes()
        org = make_org()
        yield org, make_account("Extreme Co", owner=org.rep_a1).pk


def _clients(org: Org) -> dict[str, Client]:
    out = {}
    for user in (org.rep_a1, org.manager_a, org.leader, org.admin):
        client = Client()
        client.force_login(user)
        out[user.username] = client
    return out


def _write(org: Org, account_id: int, values: dict) -> Opportunity:
    opp = opportunity_create(
        user=org.manager_a,
        name=values["name"],
        amount=values["amount"],
        currency=values["currency"],
        close_date=values["close_date"],
        next_step=values["next_step"],
        next_step_date=values["next_step_date"],
        source=values["source"],
        probability=values["probability"],
        account_id=account_id if values["with_account"] else None,
        owner_id=org.rep_a1.pk,
    )
    if values["priced"] is not None and values["priced"] != opp.amount:
        opp = opportunity_update(
            user=org.rep_a1,
            opportunity_id=opp.pk,
            expected_version=opp.version,
            changes={"amount": values["priced"]},
        )
    return opp


def _paths(opp: Opportunity, rep_id: int) -> list[str]:
    return [
        reverse("pipeline:board"),
        reverse("pipeline:table"),
        reverse("pipeline:detail", args=[opp.pk]) + "?edit=amount",
        reverse("inspection:list"),
        reverse("inspection:explain", args=[opp.pk]),
        f"/api/v1/opportunities/{opp.pk}",
        f"/api/v1/inspection/deals/{opp.pk}",
        f"/api/v1/coaching/reps/{rep_id}/agenda-draft",
    ]


def _assert_agree(org: Org, opp: Opportunity) -> None:
    """The set-based inspection and the explained form say the same about the deal."""
    result = inspect_pipeline(
        user=org.admin, opportunity_ids=[opp.pk], include_closed=True, with_statuses=True
    )
    explained = explain_criteria(user=org.admin, opportunity_id=opp.pk, as_of=result.as_of)
    (row,) = result.deals.to_dicts()
    assert (row["verified_stage"], row["under_control"], row["first_gap"]) == (
        explained.verified_stage,
        explained.under_control,
        explained.first_gap,
    )
    statuses = {r["criterion_id"]: r["status"] for r in result.statuses.to_dicts()}
    for stage in explained.stages:
        for view in stage.criteria:
            assert statuses[view.criterion.id] == view.status, view.reason


@EXAMPLES
@given(values=extremes())
@example(values=ALL_NULL)
@example(
    values={
        **ALL_NULL,
        "name": "‮" + "😀" * (NAME_MAX - 1),
        "amount": AMOUNT_MAX,
        "close_date": date_max(),
        "next_step": "ש" * NEXT_STEP_MAX,
        "next_step_date": date_max(),
        "source": "🙂" * SOURCE_MAX,
        "probability": 100,
        "with_account": True,
    }
)
def test_extreme_values_keep_every_deal_page_up(world, values):
    org, account_id = world
    with transaction.atomic():
        opp = _write(org, account_id, values)
        clients = _clients(org)
        for username, client in clients.items():
            for path in _paths(opp, org.rep_a1.pk):
                if "agenda-draft" in path and username not in DRAFTERS:
                    continue  # only the rep's managers draft their 1:1 agenda
                response = client.get(path)
                assert response.status_code == 200, (username, path, response.content[:300])
        _assert_agree(org, opp)
        transaction.set_rollback(True)


def test_the_extremes_are_the_schema_bounds():
    """The examples above reach the bounds only if these are the bounds the schema enforces."""
    assert Decimal("999999999999.99") == AMOUNT_MAX
    assert date(2000, 1, 1) == DATE_MIN
    assert (NAME_MAX, NEXT_STEP_MAX, SOURCE_MAX) == (200, 300, 64)
