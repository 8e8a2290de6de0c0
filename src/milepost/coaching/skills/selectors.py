"""Skill ratings, the reads: the rep's skills page, the trends and the team heat map.

Ratings are coaching records, so they follow THE privacy rule of
:mod:`milepost.coaching.sessions.selectors`: the rep, managers above the rep, and (for ratings
given in a session) that session's manager — never peers, never a sales-ops admin by role alone.
A rep hidden from the asker is :class:`NotFound` (404) exactly like one that does not exist.
Writing is narrower (:mod:`milepost.coaching.skills.services`): only someone above the rep in
the reporting line rates them, and the rep rates only themself.

Ratings are append-only: the series is the trend. Reads are set-based: one query for the rows,
then Polars for "latest per competency" and the heat-map pivot — no per-rep loops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
from django.db.models import Q, QuerySet

from milepost.coaching.competencies.selectors import effective_competencies
from milepost.coaching.models import SkillRating
from milepost.coaching.sessions.selectors import (
    coaching_visible_rep_ids,
    manages_rep,
    session_scope,
)
from milepost.core.errors import NotFound
from milepost.engine.competency_schema import CompetencyDef
from milepost.team.models import User
from milepost.team.selectors import subordinate_ids

MIN_SCORE, MAX_SCORE = 1, 5


# --- Scope ------------------------------------------------------------------------------------


def rating_scope(user: User) -> QuerySet[SkillRating]:
    """Every rating ``user`` may see (the privacy rule applied to ratings)."""
    ids = coaching_visible_rep_ids(user)
    if not ids:
        return SkillRating.objects.none()
    return SkillRating.objects.filter(Q(rep_id__in=ids) | Q(session__manager_id=user.id))


def visible_rep(user: User, rep_id: int) -> User:
    """The rep whose skills ``user`` may see, or NotFound (missing and hidden look the same)."""
    visible = rep_id in coaching_visible_rep_ids(user) or (
        user.is_authenticated and session_scope(user).filter(rep_id=rep_id).exists()
    )
    rep = User.objects.filter(pk=rep_id, is_active=True).first() if visible else None
    if rep is None:
        raise NotFound("rep not found")
    return rep


def can_rate(user: User, rep_id: int) -> bool:
    """A manager above the rep rates them; nobody else does (the rep self-assesses)."""
    return manages_rep(user, rep_id)


# --- Reads: one rep ---------------------------------------------------------------------------


def rating_list(*, user: User, rep_id: int, competency: str | None = None) -> list[SkillRating]:
    """The rep's visible ratings, oldest first (the order of the trend)."""
    visible_rep(user, rep_id)
    qs = rating_scope(user).filter(rep_id=rep_id).select_related("rater")
    if competency:
        qs = qs.filter(competency=competency)
    return list(qs.order_by("rated_at", "id"))


@dataclass
class CompetencySkill:
    """One competency on a rep's page: latest scores and the two series (manager, self)."""

    competency: CompetencyDef
    manager: list[SkillRating] = field(default_factory=list)
    self_assessed: list[SkillRating] = field(default_factory=list)

    @property
    def latest_manager(self) -> SkillRating | None:
        return self.manager[-1] if self.manager else None

    @property
    def latest_self(self) -> SkillRating | None:
        return self.self_assessed[-1] if self.self_assessed else None

    @property
    def change(self) -> int | None:
        """Latest manager score minus the one before (None with fewer than two)."""
        if len(self.manager) < 2:
            return None
        return self.manager[-1].score - self.manager[-2].score


@dataclass
class RepSkills:
    rep: User
    competencies: list[CompetencySkill]
    # Ratings on competencies no longer in the model (kept: ratings are history).
    retired: list[CompetencySkill]
    can_rate: bool
    can_self_assess: bool


def rep_skills(*, user: User, rep_id: int) -> RepSkills:
    """Everything the rep's skills page shows, from one query for the ratings."""
    rep = visible_rep(user, rep_id)
    competencies = effective_competencies()
    by_key = {c.key: CompetencySkill(c) for c in competencies}
    retired: dict[str, CompetencySkill] = {}
    rows = rating_scope(user).filter(rep_id=rep.id).select_related("rater")
    for rating in rows.order_by("rated_at", "id"):
        slot = by_key.get(rating.competency)
        if slot is None:
            slot = retired.setdefault(
                rating.competency,
                CompetencySkill(
                    CompetencyDef(key=rating.competency, label=rating.competency, source="retired")
                ),
            )
        (slot.self_assessed if rating.is_self else slot.manager).append(rating)
    return RepSkills(
        rep=rep,
        competencies=list(by_key.values()),
        retired=list(retired.values()),
        can_rate=can_rate(user, rep.id),
        can_self_assess=user.id == rep.id,
    )


def trend_frame(*, user: User, rep_id: int) -> pl.DataFrame:
    """The rep's series per competency: (competency, is_self, rated_at, score), in order."""
    visible_rep(user, rep_id)
    rows = list(
        rating_scope(user)
        .filter(rep_id=rep_id)
        .order_by("rated_at", "id")
        .values_list("competency", "is_self", "rated_at", "score")
    )
    return pl.DataFrame(
        rows,
        schema={
            "competency": pl.String,
            "is_self": pl.Boolean,
            "rated_at": pl.Datetime(time_zone="UTC"),
            "score": pl.Int64,
        },
        orient="row",
    )


# --- Reads: the team heat map -----------------------------------------------------------------


@dataclass(frozen=True)
class HeatCell:
    score: int | None
    count: int
    rated_at: datetime | None


@dataclass
class HeatRow:
    rep: User
    cells: list[HeatCell]

    @property
    def rated(self) -> int:
        return sum(1 for c in self.cells if c.score is not None)


@dataclass
class HeatMap:
    """Reps x competencies: the latest manager score and how many manager ratings there are."""

    manager: User
    competencies: list[CompetencyDef]
    rows: list[HeatRow]
    averages: list[float | None]


def heat_map_frame(rep_ids: set[int] | list[int]) -> pl.DataFrame:
    """Latest manager score and count per (rep, competency): one query, then Polars.

    Self-assessments are left out: the heat map is the managers' view of the team.
    Callers pass reps already checked against the privacy rule.
    """
    rows = list(
        SkillRating.objects.filter(rep_id__in=list(rep_ids), is_self=False).values_list(
            "rep_id", "competency", "score", "rated_at", "id"
        )
    )
    frame = pl.DataFrame(
        rows,
        schema={
            "rep_id": pl.Int64,
            "competency": pl.String,
            "score": pl.Int64,
            "rated_at": pl.Datetime(time_zone="UTC"),
            "id": pl.Int64,
        },
        orient="row",
    )
    return (
        frame.sort("rated_at", "id")
        .group_by("rep_id", "competency", maintain_order=True)
        .agg(
            pl.col("score").last().alias("score"),
            pl.len().alias("count"),
            pl.col("rated_at").last().alias("rated_at"),
        )
        .sort("rep_id", "competency")
    )


def heat_map_pivot(latest: pl.DataFrame, competencies: list[str]) -> pl.DataFrame:
    """rep_id x competency matrix of latest scores (null where never rated)."""
    if latest.is_empty():
        return pl.DataFrame({"rep_id": [], **{c: [] for c in competencies}})
    wide = latest.pivot(on="competency", index="rep_id", values="score")
    missing = [c for c in competencies if c not in wide.columns]
    return wide.with_columns(pl.lit(None, dtype=pl.Int64).alias(c) for c in missing)


def team_heat_map(*, user: User, manager_id: int | None = None) -> HeatMap:
    """The heat map of everyone below ``manager_id`` (default: the asker).

    A leader may look at a manager below them; anyone else's team is NotFound. A user with
    nobody below them gets an empty map (no rows), not somebody else's team.
    """
    manager_id = manager_id or user.id
    if manager_id != user.id and manager_id not in coaching_visible_rep_ids(user):
        raise NotFound("manager not found")
    manager = User.objects.filter(pk=manager_id, is_active=True).first()
    if manager is None:
        raise NotFound("manager not found")
    team = subordinate_ids(manager_id) & coaching_visible_rep_ids(user)
    reps = list(
        User.objects.filter(pk__in=team, is_active=True).order_by("last_name", "first_name")
    )
    competencies = effective_competencies()
    keys = [c.key for c in competencies]
    latest = heat_map_frame([r.pk for r in reps])
    cells: dict[tuple[int, str], HeatCell] = {
        (row["rep_id"], row["competency"]): HeatCell(row["score"], row["count"], row["rated_at"])
        for row in latest.iter_rows(named=True)
    }
    empty = HeatCell(None, 0, None)
    wide = heat_map_pivot(latest, keys)
    averages: list[float | None] = []
    for key in keys:
        mean = wide.get_column(key).mean() if key in wide.columns else None
        averages.append(round(float(mean), 1) if isinstance(mean, int | float) else None)
    return HeatMap(
        manager=manager,
        competencies=competencies,
        rows=[HeatRow(rep, [cells.get((rep.pk, k), empty) for k in keys]) for rep in reps],
        averages=averages,
    )


def heat_map_dict(heat: HeatMap) -> dict[str, Any]:
    """The heat map as plain data (API and tests)."""
    return {
        "manager_id": heat.manager.pk,
        "competencies": [
            {"key": c.key, "label": c.label, "source": c.source} for c in heat.competencies
        ],
        "averages": heat.averages,
        "rows": [
            {
                "rep_id": row.rep.pk,
                "rep": str(row.rep),
                "cells": [
                    {"competency": c.key, "score": cell.score, "count": cell.count}
                    for c, cell in zip(heat.competencies, row.cells, strict=True)
                ],
            }
            for row in heat.rows
        ],
    }
