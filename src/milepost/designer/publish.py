"""Publishing a draft: a new process version, and every open deal moved onto it, atomically.

Open deals point at a ``Stage`` row of one version. When a new version is published they move
to the new version's stage with the same key, or — when that key is gone, or is no longer an
open stage — to the open stage an admin names in an explicit mapping (old key → new key). No
mapping, no publish: the refusal names the stages and how many open deals sit on each.
Closed (won / lost) deals stay on the stages they closed in: their history means what it meant.

Each move appends a :class:`StageTransition` (source ``process_change``, note
"process change vN -> vM") and bumps the deal's lock version. Amounts and close dates are
untouched. Time in stage, decided here:

- same key (the stage carries on in the new version): ``stage_entered_at`` is kept, so days in
  stage and the stalled signal continue; the transition has no ``seconds_in_from_stage`` (the
  stay is not over, and counting it here would cut one stay in two for velocity). A forecast
  category a person chose (different from the old stage's default) is kept;
- mapped to another key (the deal is now in a stage it was not in): ``stage_entered_at`` is the
  publish moment and the transition records the time spent in the old stage, as for any move.
  The forecast category becomes the new stage's default.

Probability follows the stage default unless a person overrode it (as for every move). All of
it runs in one transaction with the version store: if anything fails, nothing is written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.designer.access import require_designer
from milepost.designer.selectors import StageOnHold, stages_needing_mapping
from milepost.designer.validation import draft_definition
from milepost.engine.process_export import export_process
from milepost.engine.process_schema import ProcessDef
from milepost.pipeline.choices import TransitionSource
from milepost.pipeline.models import Opportunity, StageTransition
from milepost.pipeline.services import stage_change
from milepost.process.models import ProcessDraft, ProcessVersion, SalesProcess, Stage, StageKind
from milepost.process.services import process_store
from milepost.team.models import User

_MOVED_FIELDS = [
    "stage",
    "stage_entered_at",
    "forecast_category",
    "probability",
    "probability_overridden",
    "probability_set_by",
    "probability_set_at",
    "closed_at",
    "updated_at",
    "version",
]


class MappingRequired(InvalidChange):
    """Publishing needs a target stage for these old stages (``stages``)."""

    def __init__(self, stages: list[StageOnHold]):
        self.stages = stages
        super().__init__(
            "open deals sit on stages the new version removes or closes; map each to a stage "
            "of the new version: " + "; ".join(str(s) for s in stages),
            field="mapping",
        )


@dataclass(frozen=True)
class PublishResult:
    version: ProcessVersion
    previous: ProcessVersion | None
    moved: int
    # (old key, new key) -> deals moved that way
    moves: dict[tuple[str, str], int] = field(default_factory=dict)


def _check_mapping(
    needed: list[StageOnHold], mapping: dict[str, str], new: ProcessDef
) -> dict[str, str]:
    open_keys = [s.key for s in new.open_stages]
    clean = {str(k): str(v) for k, v in (mapping or {}).items() if v}
    for old, target in clean.items():
        if target not in open_keys:
            raise InvalidChange(
                f"stage {old!r} is mapped to {target!r}, which is not an open stage of the new "
                f"version (open stages: {', '.join(open_keys)})",
                field="mapping",
            )
    missing = [s for s in needed if s.key not in clean]
    if missing:
        raise MappingRequired(missing)
    return clean


def draft_publish(
    *,
    user: User,
    draft_id: int,
    expected_version: int,
    mapping: dict[str, str] | None = None,
    at: datetime | None = None,
) -> PublishResult:
    """Validate the draft, store it as the live version and move the open deals onto it.

    Raises ``ProcessInvalid`` (the CLI's validator), :class:`MappingRequired`,
    ``InvalidChange``, ``VersionConflict`` (the draft changed since it was read) or
    ``NotFound``; in every such case nothing is written.
    """
    require_designer(user)
    with transaction.atomic():
        draft = ProcessDraft.objects.select_for_update().filter(pk=draft_id).first()
        if draft is None:
            raise NotFound(f"draft {draft_id} not found")
        if draft.version != expected_version:
            raise VersionConflict(draft.version, what="draft")
        if draft.published_as_id is not None:
            raise InvalidChange("this draft was already published", field="draft")
        new = draft_definition(draft.document)
        if draft.process is None and SalesProcess.objects.filter(key=new.key).exists():
            raise InvalidChange(
                f"a process with key {new.key!r} exists already; a new process needs its own key",
                field="key",
            )
        if draft.process is not None and new.key != draft.process.key:
            raise InvalidChange(
                f"the process key is {draft.process.key!r}; a draft cannot change it",
                field="key",
            )
        previous = (
            ProcessVersion.objects.filter(process_id=draft.process_id, is_current=True).first()
            if draft.process_id
            else None
        )
        clean = _check_mapping(
            stages_needing_mapping(process_id=draft.process_id, new=new), mapping or {}, new
        )
        stored = process_store(
            definition=new,
            source_text=export_process(new),
            source_name=f"process designer (draft {draft.pk})",
            user=user,
        )
        if not stored.created:
            raise InvalidChange("the draft is the same as the live version", field="draft")
        moves = _move_open_deals(
            user=user,
            version=stored.version,
            mapping=clean,
            at=at or timezone.now(),
        )
        ProcessDraft.objects.filter(pk=draft.pk).update(
            published_as=stored.version, version=draft.version + 1
        )
        return PublishResult(
            version=stored.version, previous=previous, moved=sum(moves.values()), moves=moves
        )


def _move_open_deals(
    *,
    user: User,
    version: ProcessVersion,
    mapping: dict[str, str],
    at: datetime,
) -> dict[tuple[str, str], int]:
    targets = {s.key: s for s in Stage.objects.filter(version=version)}
    deals = list(
        Opportunity.objects.select_for_update()
        .filter(
            stage__version__process_id=version.process_id,
            stage__kind=StageKind.OPEN,
        )
        .exclude(stage__version=version)
        .select_related("stage", "stage__version")
        .order_by("pk")
    )
    transitions: list[StageTransition] = []
    moves: Counter[tuple[str, str]] = Counter()
    for opp in deals:
        old_stage = opp.stage
        new_key = mapping.get(old_stage.key, old_stage.key)
        target = targets[new_key]
        carries_on = new_key == old_stage.key
        entered, category = opp.stage_entered_at, opp.forecast_category
        note = f"process change v{old_stage.version.number} -> v{version.number}"
        transition = stage_change(
            opportunity=opp,
            target=target,
            at=at,
            moved_by=user,
            source=TransitionSource.PROCESS_CHANGE,
            note=note,
        )
        if carries_on:
            opp.stage_entered_at = entered
            transition.seconds_in_from_stage = None
            if category != old_stage.default_forecast_category:
                opp.forecast_category = category
        opp.updated_at = at
        opp.version += 1
        transitions.append(transition)
        moves[(old_stage.key, new_key)] += 1
    Opportunity.objects.bulk_update(deals, _MOVED_FIELDS, batch_size=500)
    StageTransition.objects.bulk_create(transitions, batch_size=500)
    return dict(moves)
