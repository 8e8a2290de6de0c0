"""Skill ratings: who may rate whom (table-driven, nothing written when refused), trends in
time order, the heat map's values, and pack skills appearing as competencies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from milepost.coaching.competencies.selectors import competency_model, effective_competencies
from milepost.coaching.models import CoachingSession, SkillRating
from milepost.coaching.skills import selectors, services
from milepost.core.errors import InvalidChange, NotFound
from milepost.engine.vocabulary import CORE_SKILLS
from milepost.testing.factories import make_user

pytestmark = pytest.mark.django_db

OBS = "Recapped the buyer's three priorities and got them confirmed."

# (actor, rep, competency, score, observation, expected outcome, field for InvalidChange)
RULES = [
    ("manager_a", "rep_a1", "business_acumen", 4, OBS, "manager", ""),
    ("leader", "rep_a1", "call_planning", 3, OBS, "manager", ""),
    ("rep_a1", "rep_a1", "active_listening", 2, "", "self", ""),
    ("manager_a", "manager_a", "disarming", 3, "", "self", ""),
    ("manager_a", "rep_a1", "business_acumen", 0, OBS, InvalidChange, "score"),
    ("manager_a", "rep_a1", "business_acumen", 6, OBS, InvalidChange, "score"),
    ("rep_a1", "rep_a1", "active_listening", -1, "", InvalidChange, "score"),
    ("manager_a", "rep_a1", "juggling", 3, OBS, InvalidChange, "competency"),
    ("manager_a", "rep_a1", "business_acumen", 3, "   ", InvalidChange, "observation"),
    ("rep_a2", "rep_a1", "business_acumen", 3, OBS, NotFound, ""),  # peer
    ("rep_a1", "rep_a2", "business_acumen", 3, OBS, NotFound, ""),  # a rep rating someone else
    ("rep_a1", "manager_a", "business_acumen", 3, OBS, NotFound, ""),  # a rep rating upwards
    ("manager_a", "rep_b1", "business_acumen", 3, OBS, NotFound, ""),  # another team
    ("manager_b", "rep_a1", "business_acumen", 3, OBS, NotFound, ""),
    ("admin", "rep_a1", "business_acumen", 3, OBS, NotFound, ""),  # admin by role alone
    ("rep_solo", "rep_a1", "business_acumen", 3, OBS, NotFound, ""),
    ("manager_a", "rep_solo", "business_acumen", 3, OBS, NotFound, ""),
]


@pytest.mark.parametrize(("actor", "rep", "competency", "score", "obs", "expected", "field"), RULES)
def test_rating_rules(org, actor, rep, competency, score, obs, expected, field):
    user, target = getattr(org, actor), getattr(org, rep)
    before = SkillRating.objects.count()
    if isinstance(expected, str):
        rating = services.rating_add(
            user=user, rep_id=target.pk, competency=competency, score=score, observation=obs
        )
        assert rating.is_self is (expected == "self")
        assert (rating.rep_id, rating.rater_id, rating.score) == (target.pk, user.pk, score)
        assert SkillRating.objects.count() == before + 1
        return
    with pytest.raises(expected) as info:
        services.rating_add(
            user=user, rep_id=target.pk, competency=competency, score=score, observation=obs
        )
    if field:
        assert info.value.field == field
    assert SkillRating.objects.count() == before


def test_unknown_rep_is_not_found_like_a_hidden_one(org):
    with pytest.raises(NotFound):
        services.rating_add(
            user=org.manager_a, rep_id=99999, competency="disarming", score=3, observation=OBS
        )


def test_session_manager_not_above_the_rep_sees_but_may_not_rate(org):
    # manager_b ran a 1:1 with rep_a1 (e.g. covering): may see rep_a1's page, not rate them.
    session = CoachingSession.objects.create(
        manager=org.manager_b, rep=org.rep_a1, scheduled_for=timezone.now()
    )
    assert selectors.visible_rep(org.manager_b, org.rep_a1.pk) == org.rep_a1
    with pytest.raises(PermissionDenied):
        services.rating_add(
            user=org.manager_b,
            rep_id=org.rep_a1.pk,
            competency="disarming",
            score=3,
            observation=OBS,
            session_id=session.pk,
        )
    assert not SkillRating.objects.exists()


def test_rating_in_a_session_must_be_that_reps_session(org):
    other = CoachingSession.objects.create(
        manager=org.manager_a, rep=org.rep_a2, scheduled_for=timezone.now()
    )
    with pytest.raises(InvalidChange) as info:
        services.rating_add(
            user=org.manager_a,
            rep_id=org.rep_a1.pk,
            competency="disarming",
            score=3,
            observation=OBS,
            session_id=other.pk,
        )
    assert info.value.field == "session"
    own = CoachingSession.objects.create(
        manager=org.manager_a, rep=org.rep_a1, scheduled_for=timezone.now()
    )
    rating = services.rating_add(
        user=org.manager_a,
        rep_id=org.rep_a1.pk,
        competency="disarming",
        score=3,
        observation=OBS,
        session_id=own.pk,
    )
    assert rating.session_id == own.pk


def test_admin_by_role_alone_cannot_see_ratings(org):
    services.rating_add(
        user=org.manager_a, rep_id=org.rep_a1.pk, competency="disarming", score=2, observation=OBS
    )
    for reader in (org.admin, org.rep_a2, org.manager_b, org.rep_solo):
        with pytest.raises(NotFound):
            selectors.rating_list(user=reader, rep_id=org.rep_a1.pk)
        with pytest.raises(NotFound):
            selectors.rep_skills(user=reader, rep_id=org.rep_a1.pk)
        assert not selectors.rating_scope(reader).exists()
    with pytest.raises(NotFound):
        selectors.team_heat_map(user=org.admin, manager_id=org.manager_a.pk)
    assert selectors.team_heat_map(user=org.admin).rows == []
    for reader in (org.rep_a1, org.manager_a, org.leader):
        assert len(selectors.rating_list(user=reader, rep_id=org.rep_a1.pk)) == 1


def _rate(org, rep, competency, score, days_ago, *, rater=None, is_self=False):
    return SkillRating.objects.create(
        rep=rep,
        rater=rater or (rep if is_self else org.manager_a),
        competency=competency,
        score=score,
        observation="" if is_self else OBS,
        is_self=is_self,
        rated_at=timezone.now() - timedelta(days=days_ago),
    )


def test_trend_is_in_time_order_whatever_the_insert_order(org):
    # Inserted out of order: the trend follows rated_at, not ids.
    _rate(org, org.rep_a1, "call_planning", 4, days_ago=1)
    _rate(org, org.rep_a1, "call_planning", 2, days_ago=30)
    _rate(org, org.rep_a1, "call_planning", 3, days_ago=10)
    _rate(org, org.rep_a1, "call_planning", 5, days_ago=20, is_self=True)
    _rate(org, org.rep_a1, "call_planning", 4, days_ago=2, is_self=True)

    listed = selectors.rating_list(user=org.manager_a, rep_id=org.rep_a1.pk)
    assert [r.score for r in listed] == [2, 5, 3, 4, 4]

    data = selectors.rep_skills(user=org.rep_a1, rep_id=org.rep_a1.pk)
    call = next(c for c in data.competencies if c.competency.key == "call_planning")
    assert [r.score for r in call.manager] == [2, 3, 4]
    assert [r.score for r in call.self_assessed] == [5, 4]
    assert (call.latest_manager.score, call.latest_self.score, call.change) == (4, 4, 1)
    assert data.can_self_assess
    assert not data.can_rate

    frame = selectors.trend_frame(user=org.leader, rep_id=org.rep_a1.pk)
    managers = frame.filter(~frame["is_self"])
    assert managers["score"].to_list() == [2, 3, 4]
    assert managers["rated_at"].is_sorted()


def test_heat_map_latest_manager_score_with_counts(org):
    _rate(org, org.rep_a1, "business_acumen", 2, days_ago=20)
    _rate(org, org.rep_a1, "business_acumen", 4, days_ago=5)
    _rate(org, org.rep_a1, "business_acumen", 5, days_ago=1, is_self=True)  # not in the map
    _rate(org, org.rep_a2, "business_acumen", 1, days_ago=3)
    _rate(org, org.rep_a2, "call_planning", 3, days_ago=3)
    _rate(org, org.rep_b1, "call_planning", 5, days_ago=3, rater=org.manager_b)

    heat = selectors.team_heat_map(user=org.manager_a)
    data = selectors.heat_map_dict(heat)
    cells = {
        (row["rep_id"], cell["competency"]): (cell["score"], cell["count"])
        for row in data["rows"]
        for cell in row["cells"]
    }
    assert {row["rep_id"] for row in data["rows"]} == {org.rep_a1.pk, org.rep_a2.pk}
    assert cells[(org.rep_a1.pk, "business_acumen")] == (4, 2)
    assert cells[(org.rep_a2.pk, "business_acumen")] == (1, 1)
    assert cells[(org.rep_a2.pk, "call_planning")] == (3, 1)
    assert cells[(org.rep_a1.pk, "call_planning")] == (None, 0)
    averages = dict(zip([c["key"] for c in data["competencies"]], data["averages"], strict=True))
    assert averages["business_acumen"] == 2.5
    assert averages["call_planning"] == 3.0
    assert averages["disarming"] is None

    # A leader sees a manager's team on request, and the whole org below by default.
    by_leader = selectors.team_heat_map(user=org.leader, manager_id=org.manager_b.pk)
    assert [r.rep.pk for r in by_leader.rows] == [org.rep_b1.pk]
    assert (
        by_leader.rows[0]
        .cells[[c.key for c in by_leader.competencies].index("call_planning")]
        .score
        == 5
    )
    everyone = {r.rep.pk for r in selectors.team_heat_map(user=org.leader).rows}
    assert everyone == {
        org.manager_a.pk,
        org.manager_b.pk,
        org.rep_a1.pk,
        org.rep_a2.pk,
        org.rep_b1.pk,
    }
    with pytest.raises(NotFound):
        selectors.team_heat_map(user=org.manager_a, manager_id=org.manager_b.pk)
    assert selectors.team_heat_map(user=org.rep_a1).rows == []


def test_heat_map_is_one_query_for_ratings(org, django_assert_max_num_queries):
    for rep in (org.rep_a1, org.rep_a2):
        for key in CORE_SKILLS:
            _rate(org, rep, key, 3, days_ago=2)
    heat_reps = [org.rep_a1.pk, org.rep_a2.pk]
    with django_assert_max_num_queries(1):
        frame = selectors.heat_map_frame(heat_reps)
    assert frame.height == 2 * len(CORE_SKILLS)


@pytest.mark.usefixtures("without_definitions")
def test_core_competencies_without_processes(org):
    keys = [c.key for c in effective_competencies()]
    assert keys[: len(CORE_SKILLS)] == list(CORE_SKILLS)
    assert "multithreading" not in keys
    with pytest.raises(InvalidChange):
        services.rating_add(
            user=org.manager_a,
            rep_id=org.rep_a1.pk,
            competency="multithreading",
            score=3,
            observation=OBS,
        )


def test_pack_skills_of_current_processes_are_competencies(org, processes):
    competencies = {c.key: c for c in effective_competencies()}
    model_keys = {c.key for c in competency_model().competencies}
    # The default processes use SPIN, MEDDPICC and Strategic Selling.
    assert competencies["multithreading"].source == "meddpicc"
    assert competencies["question_sequencing"].source == "spin"
    assert "account_planning" in competencies
    assert "teaching" not in competencies  # Challenger is loaded by no current process
    assert model_keys < set(competencies)
    rating = services.rating_add(
        user=org.manager_a,
        rep_id=org.rep_a1.pk,
        competency="multithreading",
        score=3,
        observation=OBS,
    )
    assert rating.competency == "multithreading"
    heat = selectors.team_heat_map(user=org.manager_a)
    assert "multithreading" in [c.key for c in heat.competencies]


def _page_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_pages_do_not_query_per_rep_or_per_rating(org, processes, client_for):
    client = client_for(org.manager_a)
    for rep in (org.rep_a1, org.rep_a2):
        _rate(org, rep, "call_planning", 3, days_ago=3)
    team_before = _page_queries(client, "/coaching/skills/team/")
    rep_before = _page_queries(client, f"/coaching/skills/reps/{org.rep_a1.pk}/")
    # Given more reps and more ratings each,
    for n in range(4):
        rep = make_user(f"rep_a_extra{n}", manager=org.manager_a)
        for key in CORE_SKILLS:
            _rate(org, rep, key, 1 + n, days_ago=5)
            _rate(org, org.rep_a1, key, 2, days_ago=n + 1)
    # then the pages make the same number of queries.
    assert _page_queries(client, "/coaching/skills/team/") == team_before
    assert _page_queries(client, f"/coaching/skills/reps/{org.rep_a1.pk}/") == rep_before
