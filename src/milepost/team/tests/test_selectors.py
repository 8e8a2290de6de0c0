"""The row-level rule: who may see whom, through a hierarchy of any depth."""

from __future__ import annotations

import pytest

from milepost.team.models import Role, User
from milepost.team.selectors import subordinate_ids, team_members, visible_user_ids
from milepost.testing.factories import make_user

pytestmark = pytest.mark.django_db


def _ids(org, *names):
    return {getattr(org, n).id for n in names}


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("rep_a1", ["rep_a1"]),
        ("rep_solo", ["rep_solo"]),
        ("manager_a", ["manager_a", "rep_a1", "rep_a2"]),
        ("manager_b", ["manager_b", "rep_b1"]),
        ("leader", ["leader", "manager_a", "manager_b", "rep_a1", "rep_a2", "rep_b1"]),
    ],
)
def test_each_role_sees_itself_and_everyone_below(org, who, sees):
    assert visible_user_ids(getattr(org, who)) == _ids(org, *sees)


def test_admin_sees_everyone(org):
    assert visible_user_ids(org.admin) is None


def test_inactive_user_sees_nothing(org):
    org.manager_a.is_active = False
    org.manager_a.save()
    assert visible_user_ids(org.manager_a) == set()


def test_hierarchy_of_any_depth():
    chain = [make_user("level0", Role.LEADER)]
    for depth in range(1, 8):
        chain.append(make_user(f"level{depth}", Role.MANAGER, chain[-1]))
    assert subordinate_ids(chain[0].id) == {u.id for u in chain[1:]}
    assert subordinate_ids(chain[3].id) == {u.id for u in chain[4:]}


def test_cycle_in_reporting_line_terminates():
    a = make_user("cyc_a", Role.MANAGER)
    b = make_user("cyc_b", Role.MANAGER, a)
    User.objects.filter(pk=a.pk).update(manager=b)  # a bad import could do this
    assert subordinate_ids(a.id) == {b.id}


def test_team_filter_is_limited_to_what_the_asker_sees(org):
    assert team_members(user=org.leader, manager_id=org.manager_a.id) == _ids(
        org, "manager_a", "rep_a1", "rep_a2"
    )
    assert team_members(user=org.manager_a, manager_id=org.manager_b.id) is None
    assert team_members(user=org.rep_a1, manager_id=org.manager_a.id) is None
