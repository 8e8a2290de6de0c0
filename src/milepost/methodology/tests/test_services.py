"""The rules of scoring elements and recording buying influences, table-driven: each refused
change names its field and writes nothing (no row, no history). Also who may write on which
deal, and the history rows written with their actor."""

from __future__ import annotations

from typing import Any

import pytest

from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.methodology.models import (
    BuyingInfluence,
    BuyingInfluenceEvent,
    ElementAssessment,
    ElementAssessmentEvent,
)
from milepost.methodology.services import assessment_record, influence_remove, influence_save
from milepost.methodology.tests.panel_support import contact, load_test_methodology, make_deal
from milepost.testing.factories import make_account, make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(org):
    load_test_methodology()
    return make_deal(org.rep_a1, stage_key="second")


def nothing_written(assessments: int = 0, influences: int = 0) -> None:
    assert ElementAssessment.objects.count() == assessments
    assert ElementAssessmentEvent.objects.count() == assessments
    assert BuyingInfluence.objects.count() == influences
    assert BuyingInfluenceEvent.objects.count() == influences


def stranger_id(org) -> int:
    return make_contact(make_account(owner=org.rep_a1), first="Sam", last="Stranger").pk


# Each case: the keyword arguments that differ from a valid score, and the field named.
BAD_ASSESSMENTS: list[tuple[str, dict[str, Any], str]] = [
    ("bad level", {"level": "sure"}, "level"),
    ("unknown element", {"element": "nope"}, "element"),
    ("pack not used by the process", {"pack": "meddpicc_like"}, "pack"),
    ("unknown field", {"answers": {"colour": "red"}}, "answers.colour"),
    ("number field", {"element": "pain", "answers": {"cost": "lots"}}, "answers.cost"),
    ("date field", {"element": "pain", "answers": {"since": "2025-13-40"}}, "answers.since"),
    ("choice field", {"answers": {"style": "chaotic"}}, "answers.style"),
    ("notes too long", {"notes": "x" * 4001}, "notes"),
]


@pytest.mark.parametrize(
    ("change", "field"),
    [(c, f) for _, c, f in BAD_ASSESSMENTS],
    ids=[n for n, _, _ in BAD_ASSESSMENTS],
)
def test_a_bad_score_names_the_field_and_writes_nothing(org, deal, change, field):
    kwargs = {"pack": "qual", "element": "decision", "level": "partial", **change}
    with pytest.raises(InvalidChange) as caught:
        assessment_record(user=org.rep_a1, opportunity_id=deal.pk, **kwargs)
    assert caught.value.field == field
    nothing_written()


@pytest.mark.parametrize("where", ["contacts", "answers.who"])
def test_a_contact_from_another_account_is_refused(org, deal, where):
    other = stranger_id(org)
    extra = (
        {"contact_ids": [other]}
        if where == "contacts"
        else {"element": "economic_buyer", "answers": {"who": other}}
    )
    kwargs = {"pack": "qual", "element": "decision", "level": "partial", **extra}
    with pytest.raises(InvalidChange) as caught:
        assessment_record(user=org.rep_a1, opportunity_id=deal.pk, **kwargs)
    assert caught.value.field == where
    nothing_written()


def test_a_stale_version_changes_nothing(org, deal):
    first = assessment_record(
        user=org.rep_a1, opportunity_id=deal.pk, pack="qual", element="pain", level="partial"
    )
    with pytest.raises(InvalidChange) as missing:
        assessment_record(
            user=org.manager_a,
            opportunity_id=deal.pk,
            pack="qual",
            element="pain",
            level="confirmed",
        )
    assert missing.value.field == "version"
    for version in (0, 2):
        with pytest.raises(VersionConflict):
            assessment_record(
                user=org.manager_a,
                opportunity_id=deal.pk,
                pack="qual",
                element="pain",
                level="confirmed",
                expected_version=version,
            )
    first.refresh_from_db()
    assert (first.level, first.version, first.updated_by) == ("partial", 1, org.rep_a1)
    nothing_written(assessments=1)


def test_every_change_is_kept_with_who_and_when(org, deal):
    eve = contact(deal, "Economic")
    assessment_record(
        user=org.rep_a1,
        opportunity_id=deal.pk,
        pack="qual",
        element="economic_buyer",
        level="partial",
        contact_ids=[eve.pk],
    )
    assessment_record(
        user=org.manager_a,
        opportunity_id=deal.pk,
        pack="qual",
        element="economic_buyer",
        level="confirmed",
        notes="Met her",
        expected_version=1,
    )
    events = list(ElementAssessmentEvent.objects.order_by("id"))
    assert [(e.actor, e.previous_level, e.level, e.contact_ids) for e in events] == [
        (org.rep_a1, "", "partial", [eve.pk]),
        (org.manager_a, "partial", "confirmed", []),
    ]
    assert events[0].at <= events[1].at


# --- buying influences ----------------------------------------------------------------------


def valid_influence(deal) -> dict[str, Any]:
    return {
        "pack": "sheet",
        "contact_id": contact(deal, "Economic").pk,
        "role": "economic",
        "degree": "high",
        "response_mode": "growth",
        "rating": 0,
    }


BAD_INFLUENCES: list[tuple[str, dict[str, Any], str]] = [
    ("rating above range", {"rating": 6}, "rating"),
    ("rating below range", {"rating": -6}, "rating"),
    ("rating not whole", {"rating": 1.5}, "rating"),
    ("unknown role", {"role": "king"}, "role"),
    ("unknown degree", {"degree": "huge"}, "degree"),
    ("unknown response mode", {"response_mode": "panic"}, "response_mode"),
    ("pack without influences", {"pack": "qual"}, "pack"),
    ("pack not used by the process", {"pack": "elsewhere"}, "pack"),
]


@pytest.mark.parametrize(
    ("change", "field"),
    [(c, f) for _, c, f in BAD_INFLUENCES],
    ids=[n for n, _, _ in BAD_INFLUENCES],
)
def test_a_bad_influence_names_the_field_and_writes_nothing(org, deal, change, field):
    with pytest.raises(InvalidChange) as caught:
        influence_save(
            user=org.rep_a1, opportunity_id=deal.pk, **{**valid_influence(deal), **change}
        )
    assert caught.value.field == field
    nothing_written()


def test_an_influence_with_a_contact_of_another_account_is_refused(org, deal):
    with pytest.raises(InvalidChange) as caught:
        influence_save(
            user=org.rep_a1,
            opportunity_id=deal.pk,
            **{**valid_influence(deal), "contact_id": stranger_id(org)},
        )
    assert caught.value.field == "contact"
    nothing_written()


def test_the_rating_range_ends_are_allowed(org, deal):
    low = influence_save(
        user=org.rep_a1, opportunity_id=deal.pk, **{**valid_influence(deal), "rating": -5}
    )
    high = influence_save(
        user=org.rep_a1,
        opportunity_id=deal.pk,
        **{**valid_influence(deal), "rating": 5, "role": "coach"},
    )
    assert (low.rating, high.rating) == (-5, 5)


def test_stale_influence_edits_and_removals_change_nothing(org, deal):
    influence = influence_save(user=org.rep_a1, opportunity_id=deal.pk, **valid_influence(deal))
    with pytest.raises(VersionConflict):
        influence_save(
            user=org.rep_a1,
            opportunity_id=deal.pk,
            **{**valid_influence(deal), "rating": 3},
            influence_id=influence.pk,
            expected_version=2,
        )
    with pytest.raises(VersionConflict):
        influence_remove(
            user=org.rep_a1, opportunity_id=deal.pk, influence_id=influence.pk, expected_version=2
        )
    influence.refresh_from_db()
    assert (influence.rating, influence.version) == (0, 1)
    nothing_written(influences=1)


def test_an_influence_of_another_deal_is_not_found_through_this_deal(org, deal):
    other = make_deal(org.rep_a1, stage_key="second")
    influence = influence_save(user=org.rep_a1, opportunity_id=other.pk, **valid_influence(other))
    with pytest.raises(NotFound):
        influence_remove(
            user=org.rep_a1, opportunity_id=deal.pk, influence_id=influence.pk, expected_version=1
        )
    assert BuyingInfluence.objects.filter(pk=influence.pk).exists()


# --- who may write ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["rep_a2", "rep_b1", "manager_b", "rep_solo"])
def test_users_who_cannot_see_the_deal_cannot_write_on_it(role, org, deal):
    user = getattr(org, role)
    with pytest.raises(NotFound):
        assessment_record(
            user=user, opportunity_id=deal.pk, pack="qual", element="pain", level="partial"
        )
    with pytest.raises(NotFound):
        influence_save(user=user, opportunity_id=deal.pk, **valid_influence(deal))
    nothing_written()


@pytest.mark.parametrize("role", ["rep_a1", "manager_a", "leader", "admin"])
def test_owner_managers_and_admin_write_and_are_the_actor(role, org, deal):
    user = getattr(org, role)
    assessment_record(
        user=user, opportunity_id=deal.pk, pack="qual", element="pain", level="partial"
    )
    influence = influence_save(user=user, opportunity_id=deal.pk, **valid_influence(deal))
    influence_remove(
        user=user, opportunity_id=deal.pk, influence_id=influence.pk, expected_version=1
    )
    assert ElementAssessmentEvent.objects.get().actor == user
    assert [(e.action, e.actor) for e in BuyingInfluenceEvent.objects.order_by("id")] == [
        ("added", user),
        ("removed", user),
    ]
