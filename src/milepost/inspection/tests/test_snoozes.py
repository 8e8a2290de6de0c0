"""Snoozes: who may snooze, the bounds (each refusal names its field), expiry by the moment
inspected (no job), the list leaving snoozed deals out of "needs attention now", a snoozed
signal adding nothing to the risk, and the set-based and explained forms agreeing with
snoozes in place, deal by deal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.core.models import AppendOnlyError
from milepost.engine.risk_model import RiskModel
from milepost.inspection.deal import inspect_opportunity
from milepost.inspection.forms import DealFilters
from milepost.inspection.models import SnoozeAction, SnoozeEvent
from milepost.inspection.pipeline import inspect_pipeline
from milepost.inspection.risk import risk_models
from milepost.inspection.snoozes.selectors import snooze_list
from milepost.inspection.snoozes.services import MAX_DAYS_AHEAD, snooze_create, snooze_end
from milepost.inspection.tests.test_views import World, build_world
from milepost.testing.factories import ensure_default_processes, make_opportunity, make_org
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db
# The instant this module's dates (the parametrize lists included) are computed from.
NOW = timezone.now()
TODAY = timezone.localdate(NOW)


@pytest.fixture(autouse=True)
def _same_day(monkeypatch):
    """The dates above are computed at collection, the services read the clock when called: a
    run across midnight would move "today" between the two. The services see NOW."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    def build() -> World:
        ensure_default_processes()
        return build_world(make_org())

    yield from shared_world(django_db_blocker, build)


def _snooze(world: World, opp, **kw):
    kw.setdefault("reason", "Customer's fiscal year starts in March")
    kw.setdefault("until", TODAY + timedelta(days=30))
    return snooze_create(user=world.org.manager_a, opportunity_id=opp.pk, **kw)


def _ids(frame) -> list[int]:
    return frame["opportunity_id"].to_list()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reason": "   "}, "reason"),
        ({"reason": "fiscal\x00year"}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"until": TODAY - timedelta(days=1)}, "until"),
        ({"until": TODAY + timedelta(days=MAX_DAYS_AHEAD + 1)}, "until"),
        ({"signal": "no_such_signal"}, "signal"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(world, changes, field):
    with pytest.raises(InvalidChange) as refused:
        _snooze(world, world.big_a1, **changes)
    assert refused.value.field == field
    assert not snooze_list(user=world.org.admin, as_of=NOW, active=None).exists()
    assert not SnoozeEvent.objects.exists()


def test_the_bounds_themselves_are_allowed(world):
    assert _snooze(world, world.big_a1, until=TODAY).until == TODAY
    longest = _snooze(world, world.mid_a2, until=TODAY + timedelta(days=MAX_DAYS_AHEAD))
    assert longest.until == TODAY + timedelta(days=MAX_DAYS_AHEAD)
    assert _snooze(world, world.calm_a2, reason="x" * 500).reason == "x" * 500


def test_managers_and_above_snooze_the_deals_they_see_reps_do_not(world):
    org = world.org
    with pytest.raises(PermissionDenied):
        snooze_create(user=org.rep_a1, opportunity_id=world.big_a1.pk, reason="r", until=TODAY)
    with pytest.raises(NotFound):  # another team's deal: as if missing
        snooze_create(user=org.manager_b, opportunity_id=world.big_a1.pk, reason="r", until=TODAY)
    with pytest.raises(NotFound):
        snooze_create(user=org.rep_b1, opportunity_id=world.big_a1.pk, reason="r", until=TODAY)
    for user in (org.leader, org.admin):
        z = snooze_create(user=user, opportunity_id=world.other_b1.pk, reason="r", until=TODAY)
        snooze_end(user=user, snooze_id=z.pk, version=z.version)
    assert not snooze_list(user=org.admin, as_of=timezone.now()).exists()


def test_a_closed_deal_cannot_be_snoozed(world):
    won = make_opportunity(world.org.rep_a1, stage_key="won")
    with pytest.raises(InvalidChange) as refused:
        _snooze(world, won)
    assert refused.value.field == "opportunity_id"


def test_one_active_snooze_per_deal_or_signal(world):
    _snooze(world, world.big_a1)
    with pytest.raises(InvalidChange) as refused:
        _snooze(world, world.big_a1)
    assert refused.value.field == "signal"
    _snooze(world, world.big_a1, signal="close_date_past")  # a signal of it is another target


def test_ending_early_is_locked_audited_and_cannot_repeat(world):
    z = _snooze(world, world.big_a1)
    with pytest.raises(InvalidChange) as missing:
        snooze_end(user=world.org.manager_a, snooze_id=z.pk, version=None)
    assert missing.value.field == "version"
    with pytest.raises(VersionConflict):
        snooze_end(user=world.org.manager_a, snooze_id=z.pk, version=z.version + 1)
    with pytest.raises(NotFound):
        snooze_end(user=world.org.manager_b, snooze_id=z.pk, version=z.version)
    ended = snooze_end(user=world.org.leader, snooze_id=z.pk, version=z.version)
    assert (ended.ended_by, ended.version) == (world.org.leader, 2)
    with pytest.raises(InvalidChange) as again:
        snooze_end(user=world.org.leader, snooze_id=z.pk, version=ended.version)
    assert again.value.field == "snooze"
    events = list(SnoozeEvent.objects.filter(snooze=z).order_by("id"))
    assert [(e.action, e.actor) for e in events] == [
        (SnoozeAction.CREATED, world.org.manager_a),
        (SnoozeAction.ENDED, world.org.leader),
    ]
    assert events[0].reason == "Customer's fiscal year starts in March"
    with pytest.raises(AppendOnlyError):
        events[0].delete()


def test_the_list_leaves_out_snoozed_deals_until_they_expire_or_end(world):
    manager = world.org.manager_a
    # Not under control and open: Big A1 and Mid A2 (see test_views), ranked by money at risk.
    assert _ids(DealFilters().deals(inspect_pipeline(user=manager))) == [
        world.big_a1.pk,
        world.mid_a2.pk,
    ]
    # Big A1 snoozed until tomorrow, Mid A2 snoozed 40..10 days ago (expired).
    _snooze(world, world.big_a1, until=TODAY + timedelta(days=1))
    _snooze(
        world,
        world.mid_a2,
        until=TODAY - timedelta(days=10),
        now=NOW - timedelta(days=40),
    )
    result = inspect_pipeline(user=manager)
    assert _ids(DealFilters().deals(result)) == [world.mid_a2.pk]
    assert _ids(DealFilters(snoozed="yes").deals(result)) == [world.big_a1.pk]
    assert _ids(DealFilters(snoozed="all").deals(result)) == [world.big_a1.pk, world.mid_a2.pk]
    # Twenty days ago Mid A2's snooze applied and Big A1's did not exist yet.
    past = inspect_pipeline(user=manager, as_of=NOW - timedelta(days=20))
    assert world.mid_a2.pk not in _ids(DealFilters(control="all").deals(past))
    assert _ids(DealFilters(control="all", snoozed="yes").deals(past)) == [world.mid_a2.pk]
    # Past its last day, Big A1's snooze no longer applies: nothing had to run.
    later = inspect_pipeline(user=manager, as_of=timezone.now() + timedelta(days=2))
    assert world.big_a1.pk in _ids(DealFilters().deals(later))
    # The deal's risk is its own, snoozed or not.
    assert (
        result.deals.filter(opportunity_id=world.big_a1.pk)["risk"][0]
        == (later.deals.filter(opportunity_id=world.big_a1.pk)["risk"][0])
    )


def test_another_team_does_not_see_the_snooze(world):
    _snooze(world, world.big_a1)
    assert inspect_pipeline(user=world.org.manager_b).snoozes.is_empty()
    assert not snooze_list(user=world.org.manager_b, as_of=timezone.now()).exists()
    assert (
        snooze_list(user=world.org.rep_a1, as_of=timezone.now()).count() == 1
    )  # the owner sees it


def _fired(result, opportunity_id: int) -> dict[str, float]:
    rows = result.signals.filter(opportunity_id=opportunity_id)
    return dict(zip(rows["signal"], rows["contribution"], strict=True))


def test_a_snoozed_signal_adds_nothing_to_the_risk_while_it_applies(world):
    manager, big = world.org.manager_a, world.big_a1
    before = inspect_pipeline(user=manager)
    fired = _fired(before, big.pk)
    assert len(fired) >= 2  # past its close date in commit, at least two signals
    snoozed = max(fired, key=fired.__getitem__)
    _snooze(world, big, signal=snoozed)
    after = inspect_pipeline(user=manager)
    remaining = {s: c for s, c in fired.items() if s != snoozed}
    assert _fired(after, big.pk) == remaining
    model = risk_models([big.stage.version_id]).get(big.stage.version_id)
    weights = dict(zip(before.signals["signal"], before.signals["weight"], strict=True))
    model = model or RiskModel.fallback(weights)
    row = after.deals.filter(opportunity_id=big.pk).row(0, named=True)
    assert row["risk_probability"] == pytest.approx(model.probability(remaining))
    assert (
        row["risk_probability"] < before.deals.filter(opportunity_id=big.pk)["risk_probability"][0]
    )
    assert row["priority"] == pytest.approx(float(big.amount) * row["risk_probability"])
    # A signal snooze leaves the deal in "needs attention now".
    assert big.pk in _ids(DealFilters().deals(after))


def test_set_based_and_explained_agree_deal_by_deal_with_snoozes(world):
    """The golden rule with an active deal snooze, an active signal snooze, an expired and an
    ended one: same risk, same signals, same snoozes for every deal."""
    org = world.org
    fired = _fired(inspect_pipeline(user=org.admin), world.big_a1.pk)
    _snooze(world, world.big_a1, signal=next(iter(fired)))
    _snooze(world, world.mid_a2)
    _snooze(world, world.noisy_a1, until=TODAY - timedelta(days=1), now=NOW - timedelta(days=5))
    ended = _snooze(world, world.calm_a2)
    snooze_end(user=org.manager_a, snooze_id=ended.pk, version=1)
    as_of = timezone.now()
    for user in (org.manager_a, org.admin):
        result = inspect_pipeline(user=user, as_of=as_of)
        assert result.deals.height
        for row in result.deals.iter_rows(named=True):
            deal = row["opportunity_id"]
            one = inspect_opportunity(user=user, opportunity_id=deal, as_of=as_of)
            assert one.risk == row["risk"]
            assert one.risk_probability == pytest.approx(row["risk_probability"])
            assert {s["signal"] for s in one.signals} == set(_fired(result, deal))
            snoozes = result.snoozes.filter(opportunity_id=deal)
            assert sorted(z.pk for z in one.snoozes) == sorted(snoozes["snooze_id"])
            assert (one.deal_snooze is not None) == ("" in snoozes["signal"].to_list())
    assert sorted(inspect_pipeline(user=org.admin, as_of=as_of).snoozes["opportunity_id"]) == [
        world.big_a1.pk,
        world.mid_a2.pk,
    ]
