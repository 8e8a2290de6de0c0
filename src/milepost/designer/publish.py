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
it runs in one transaction with the version store: if anything fails, nothing is written. The
deals move in chunks, each reported to ``progress`` (the background job shows "moving deals:
400 of 1,346"); the chunks are still one transaction.

A draft started from an older version than the live one is *stale* (:class:`StaleDraft`):
publishing it would silently undo what was published since, so it is refused until the draft
is rebased (:func:`milepost.designer.services.draft_rebase`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

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
    "updated_by",
    "version",
]


# Deals moved (and progress reported) per chunk; one transaction for all of them.
CHUNK = 200
ProgressFn = Callable[[int, int, str], None]


class StaleDraft(InvalidChange):
    """The draft was started from an older version than the live one (``based_on`` → ``live``)."""

    def __init__(self, draft: ProcessDraft, live: ProcessVersion):
        self.draft_id = draft.pk
        self.based_on = draft.based_on.number if draft.based_on else None
        self.live = live.number
        based = f"version {self.based_on}" if self.based_on else "a version since deleted"
        super().__init__(
            f"draft {draft.pk} is stale: it was started from {based} and version {live.number} "
            "has been published since; rebase it onto the live version before publishing",
            field="based_on",
        )


def check_not_stale(draft: ProcessDraft) -> None:
    """Raise :class:`StaleDraft` when a newer version than the draft's base is live."""
    if draft.process_id is None:
        return
    live = ProcessVersion.objects.filter(process_id=draft.process_id, is_current=True).first()
    if live is not None and draft.based_on_id != live.pk:
        raise StaleDraft(draft, live)


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
                gettext(
                    "stage %(old)r is mapped to %(target)r, which is not an open "
                    "stage of the new version (open stages: %(join)s)"
                )
                % {"old": old, "target": target, "join": ", ".join(open_keys)},
                field="mapping",
            )
    missing = [s for s in needed if s.key not in clean]
    if missing:
        raise MappingRequired(missing)
    return clean


def _checked(
    draft: ProcessDraft, expected_version: int, mapping: dict[str, str] | None
) -> tuple[ProcessDef, dict[str, str]]:
    """Everything that refuses a publish before anything is written: the new definition and
    the cleaned mapping."""
    if draft.version != expected_version:
        raise VersionConflict(draft.version, what="draft")
    if draft.published_as_id is not None:
        raise InvalidChange(gettext("this draft was already published"), field="draft")
    check_not_stale(draft)
    new = draft_definition(draft.document)
    if draft.process is None and SalesProcess.objects.filter(key=new.key).exists():
        raise InvalidChange(
            gettext("a process with key %(key)r exists already; a new process needs its own key")
            % {"key": new.key},
            field="key",
        )
    if draft.process is not None and new.key != draft.process.key:
        raise InvalidChange(
            gettext("the process key is %(key)r; a draft cannot change it")
            % {"key": draft.process.key},
            field="key",
        )
    clean = _check_mapping(
        stages_needing_mapping(process_id=draft.process_id, new=new), mapping or {}, new
    )
    return new, clean


def publish_check(
    *, user: User, draft_id: int, expected_version: int, mapping: dict[str, str] | None = None
) -> ProcessDef:
    """Refuse at once what the publish job would refuse (same errors), writing nothing.

    The page and the API call it before queueing the job, so a stale draft or a missing
    mapping is answered in the request; the job checks again under the draft's lock.
    """
    require_designer(user)
    draft = ProcessDraft.objects.select_related("process").filter(pk=draft_id).first()
    if draft is None:
        raise NotFound(gettext("draft %(draft_id)s not found") % {"draft_id": draft_id})
    return _checked(draft, expected_version, mapping)[0]


def draft_publish(
    *,
    user: User,
    draft_id: int,
    expected_version: int,
    mapping: dict[str, str] | None = None,
    at: datetime | None = None,
    progress: ProgressFn | None = None,
) -> PublishResult:
    """Validate the draft, store it as the live version and move the open deals onto it.

    Raises ``ProcessInvalid`` (the CLI's validator), :class:`MappingRequired`,
    :class:`StaleDraft`, ``InvalidChange``, ``VersionConflict`` (the draft changed since it was
    read) or ``NotFound``; in every such case nothing is written. ``progress(done, total,
    what)`` is called after each chunk of deals moved.
    """
    require_designer(user)
    with transaction.atomic():
        draft = ProcessDraft.objects.select_for_update().filter(pk=draft_id).first()
        if draft is None:
            raise NotFound(gettext("draft %(draft_id)s not found") % {"draft_id": draft_id})
        new, clean = _checked(draft, expected_version, mapping)
        previous = (
            ProcessVersion.objects.filter(process_id=draft.process_id, is_current=True).first()
            if draft.process_id
            else None
        )
        stored = process_store(
            definition=new,
            source_text=export_process(new),
            source_name=f"process designer (draft {draft.pk})",
            user=user,
        )
        if not stored.created:
            raise InvalidChange(gettext("the draft is the same as the live version"), field="draft")
        moves = _move_open_deals(
            user=user,
            version=stored.version,
            mapping=clean,
            at=at or timezone.now(),
            progress=progress,
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
    progress: ProgressFn | None = None,
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
    moves: Counter[tuple[str, str]] = Counter()
    if progress:
        progress(0, len(deals), "moving deals")
    for start in range(0, len(deals), CHUNK):
        chunk = deals[start : start + CHUNK]
        transitions = [_move(opp, targets, mapping, user, version, at, moves) for opp in chunk]
        Opportunity.objects.bulk_update(chunk, _MOVED_FIELDS, batch_size=500)
        StageTransition.objects.bulk_create(transitions, batch_size=500)
        if progress:
            progress(start + len(chunk), len(deals), "moving deals")
    return dict(moves)


def _move(
    opp: Opportunity,
    targets: dict[str, Stage],
    mapping: dict[str, str],
    user: User,
    version: ProcessVersion,
    at: datetime,
    moves: Counter[tuple[str, str]],
) -> StageTransition:
    """Put one deal on the new version's stage (in memory) and return its transition."""
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
    moves[(old_stage.key, new_key)] += 1
    return transition
