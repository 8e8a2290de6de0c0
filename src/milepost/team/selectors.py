"""Who may see whom. The single place where the reporting hierarchy becomes row-level access.

A rep sees themself; a manager or leader sees everyone below them, at any depth; an admin sees
everyone. Every other selector in Milepost filters by :func:`visible_user_ids`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from milepost.team.models import Role, User

# Within one web request the team below a manager is looked up once (a page makes several
# row-scoped reads). Outside a request (services, commands, tests) nothing is cached.
_request_teams: ContextVar[dict[int, frozenset[int]] | None] = ContextVar(
    "milepost_request_teams", default=None
)


@contextmanager
def request_visibility_cache() -> Iterator[None]:
    """Memoise :func:`visible_user_ids` for the duration of one request."""
    token = _request_teams.set({})
    try:
        yield
    finally:
        _request_teams.reset(token)


def subordinate_ids(user_id: int) -> set[int]:
    """Everyone reporting to ``user_id`` directly or indirectly (not the user themself).

    One query per level of the hierarchy (a sales org is rarely deeper than 6), and it is safe
    against accidental cycles in the reporting line.
    """
    found: set[int] = set()
    frontier = {user_id}
    while frontier:
        level = set(User.objects.filter(manager_id__in=frontier).values_list("id", flat=True))
        frontier = level - found - {user_id}
        found |= frontier
    return found


def visible_user_ids(user: User) -> set[int] | None:
    """Ids of users whose records ``user`` may see; ``None`` means everyone (admins)."""
    if not user.is_authenticated or not user.is_active:
        return set()
    if user.is_admin:
        return None
    if user.role in (Role.MANAGER, Role.LEADER):
        cache = _request_teams.get()
        if cache is not None and user.id in cache:
            return set(cache[user.id])
        ids = {user.id} | subordinate_ids(user.id)
        if cache is not None:
            cache[user.id] = frozenset(ids)
        return ids
    return {user.id}


def user_list(*, user: User) -> list[User]:
    """Users the asker may see, for filters and pickers."""
    ids = visible_user_ids(user)
    qs = User.objects.filter(is_active=True)
    if ids is not None:
        qs = qs.filter(id__in=ids)
    return list(qs.order_by("last_name", "first_name"))


def team_members(*, user: User, manager_id: int) -> set[int] | None:
    """The team under ``manager_id`` (inclusive), intersected with what ``user`` may see.

    Returns ``None`` when the manager is not visible to the asker, so callers answer 404.
    """
    visible = visible_user_ids(user)
    if visible is not None and manager_id not in visible:
        return None
    members = {manager_id} | subordinate_ids(manager_id)
    return members if visible is None else members & visible
