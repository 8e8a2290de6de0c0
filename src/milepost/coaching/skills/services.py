"""Skill ratings, the write: a manager rates a rep 1-5 per competency with an observation, the
rep may self-assess.

Only someone above the rep in the reporting line rates them
(:func:`~milepost.coaching.sessions.selectors.manages_rep`), and the rep rates only themself;
who may *see* ratings is the privacy rule applied in :mod:`milepost.coaching.skills.selectors`.
Ratings are append-only: the series is the trend.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from milepost.coaching.competencies.selectors import competency_keys
from milepost.coaching.models import CoachingSession, SkillRating
from milepost.coaching.sessions.selectors import session_scope
from milepost.coaching.skills.selectors import MAX_SCORE, MIN_SCORE, can_rate, visible_rep
from milepost.core.errors import InvalidChange
from milepost.team.models import User

MAX_OBSERVATION = 4000


def rating_add(
    *,
    user: User,
    rep_id: int,
    competency: str,
    score: int,
    observation: str,
    session_id: int | None = None,
) -> SkillRating:
    """Record one rating: a manager's (observation required) or the rep's self-assessment.

    Raises NotFound (rep not visible), PermissionDenied (visible but not allowed to rate, e.g.
    a session manager no longer above the rep) or InvalidChange (bad score, competency not in
    the model nor added by a pack in use, missing observation, a session of another rep).
    Never updates an earlier rating: a new one extends the trend.
    """
    rep = visible_rep(user, rep_id)
    is_self = user.id == rep.id
    if not is_self and not can_rate(user, rep.id):
        raise PermissionDenied(gettext("only a manager above the rep rates them"))
    if isinstance(score, bool) or not isinstance(score, int):
        raise InvalidChange(gettext("the score is a whole number from 1 to 5"), field="score")
    if not MIN_SCORE <= score <= MAX_SCORE:
        raise InvalidChange(
            gettext("the score is from 1 to 5 (got %(score)s)") % {"score": score}, field="score"
        )
    if competency not in competency_keys():
        raise InvalidChange(
            gettext("'%(competency)s' is not a competency of the model or of a methodology in use")
            % {"competency": competency},
            field="competency",
        )
    observation = (observation or "").strip()
    if not is_self and not observation:
        raise InvalidChange(
            gettext("say what you observed: a rating without an observation cannot be coached"),
            field="observation",
        )
    if len(observation) > MAX_OBSERVATION:
        raise InvalidChange(
            gettext("the observation is at most %(MAX_OBSERVATION)s characters")
            % {"MAX_OBSERVATION": MAX_OBSERVATION},
            field="observation",
        )
    session: CoachingSession | None = None
    if session_id is not None:
        session = session_scope(user).filter(pk=session_id, rep_id=rep.id).first()
        if session is None:
            raise InvalidChange(gettext("no such session with this rep"), field="session")
    with transaction.atomic():
        return SkillRating.objects.create(
            rep=rep,
            rater=user,
            competency=competency,
            score=score,
            observation=observation,
            is_self=is_self,
            session=session,
            rated_at=timezone.now(),
        )
