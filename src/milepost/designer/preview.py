"""What publishing a draft would do, shown before the admin publishes: nothing is written.

Every open deal of the process moves onto the new version; some change stage (a mapped,
removed or renamed stage), and the new exit criteria may put deals under control or take them
out of it. :func:`publish_preview` computes it set-based with the inspection machinery
(:func:`milepost.inspection.process_change.inspect_process_change`): the deals that change
stage (per stage and the first of them by name), and the deals under control before → after,
overall and per team (the owner's manager). The publish job records the same figures, and
the actual ones after publishing, so the two can be compared.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from milepost.designer.access import require_designer
from milepost.designer.validation import draft_definition
from milepost.inspection.process_change import inspect_process_change
from milepost.pipeline.models import Opportunity
from milepost.process.models import ProcessDraft, Stage
from milepost.team.models import User

# How many deals that change stage are named on the page (the counts cover all of them).
LISTED = 50
NO_TEAM = "(no manager)"


@dataclass(frozen=True)
class StageMove:
    from_key: str
    from_label: str
    to_key: str
    to_label: str
    deals: int


@dataclass(frozen=True)
class TeamImpact:
    team: str
    deals: int
    under_control_before: int
    under_control_after: int


@dataclass(frozen=True)
class MovingDeal:
    id: int
    name: str
    from_label: str
    to_label: str


@dataclass(frozen=True)
class PublishPreview:
    """The effect of publishing on the open deals, computed without writing."""

    open_deals: int
    under_control_before: int
    under_control_after: int
    stage_moves: list[StageMove] = field(default_factory=list)
    moving_deals: list[MovingDeal] = field(default_factory=list)
    teams: list[TeamImpact] = field(default_factory=list)

    @property
    def changing_stage(self) -> int:
        return sum(m.deals for m in self.stage_moves)

    @property
    def not_under_control_before(self) -> int:
        return self.open_deals - self.under_control_before

    @property
    def not_under_control_after(self) -> int:
        return self.open_deals - self.under_control_after

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "changing_stage": self.changing_stage,
            "not_under_control_before": self.not_under_control_before,
            "not_under_control_after": self.not_under_control_after,
        }


def publish_preview(
    *,
    user: User,
    draft: ProcessDraft,
    mapping: dict[str, str],
    as_of: datetime | None = None,
) -> PublishPreview:
    """The effect of publishing ``draft`` with ``mapping``; raises ``ProcessInvalid``.

    ``mapping`` must cover every stage that needs one (the publish page asks first); a new
    process has no deals, so its preview is empty.
    """
    require_designer(user)
    new = draft_definition(draft.document)
    if draft.process_id is None:
        return PublishPreview(0, 0, 0)
    change = inspect_process_change(
        user=user, process_id=draft.process_id, new=new, mapping=mapping, as_of=as_of
    )
    before = change.before.select("opportunity_id", "owner_id", "stage_key", "under_control")
    after = change.after.select(
        "opportunity_id", pl.col("stage_key").alias("new_key"), pl.col("under_control").alias("ok")
    )
    joined = before.join(after, on="opportunity_id", how="left")
    new_labels = {s.key: s.label for s in new.stages}
    old_labels = dict(
        Stage.objects.filter(version__process_id=draft.process_id)
        .order_by("version__number")
        .values_list("key", "label")
    )
    moving = joined.filter(pl.col("stage_key") != pl.col("new_key")).sort("opportunity_id")
    counts: Counter[tuple[str, str]] = Counter(
        zip(moving["stage_key"].to_list(), moving["new_key"].to_list(), strict=True)
    )
    stage_moves = [
        StageMove(old, old_labels.get(old, old), new_key, new_labels.get(new_key, new_key), n)
        for (old, new_key), n in sorted(counts.items())
    ]
    listed = moving.head(LISTED)
    names = dict(
        Opportunity.objects.filter(pk__in=listed["opportunity_id"].to_list()).values_list(
            "id", "name"
        )
    )
    moving_deals = [
        MovingDeal(
            row["opportunity_id"],
            names.get(row["opportunity_id"], ""),
            old_labels.get(row["stage_key"], row["stage_key"]),
            new_labels.get(row["new_key"], row["new_key"]),
        )
        for row in listed.iter_rows(named=True)
    ]
    return PublishPreview(
        open_deals=joined.height,
        under_control_before=int(joined["under_control"].sum()),
        under_control_after=int(joined["ok"].fill_null(False).sum()),
        stage_moves=stage_moves,
        moving_deals=moving_deals,
        teams=_teams(joined),
    )


def _teams(joined: pl.DataFrame) -> list[TeamImpact]:
    """Per front-line team (the owner's manager), deals and under-control before → after."""
    owners = joined["owner_id"].unique().to_list()
    manager_of = dict(User.objects.filter(pk__in=owners).values_list("id", "manager_id"))
    managers = {
        u.pk: str(u) for u in User.objects.filter(pk__in={m for m in manager_of.values() if m})
    }
    teams = joined.with_columns(
        pl.col("owner_id")
        .replace_strict(
            {o: managers.get(m, NO_TEAM) if m else NO_TEAM for o, m in manager_of.items()},
            default=NO_TEAM,
            return_dtype=pl.String,
        )
        .alias("team")
    )
    summary = (
        teams.group_by("team")
        .agg(
            pl.len().alias("deals"),
            pl.col("under_control").sum().alias("before"),
            pl.col("ok").fill_null(False).sum().alias("after"),
        )
        .sort("team")
    )
    return [
        TeamImpact(r["team"], r["deals"], int(r["before"]), int(r["after"]))
        for r in summary.iter_rows(named=True)
    ]
