"""Reads for the process designer: drafts (admins only), what publishing a draft would change,
and which stages with open deals it needs a mapping for."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from milepost.core.errors import NotFound
from milepost.designer.access import require_designer
from milepost.designer.validation import draft_definition
from milepost.engine.process_diff import describe_changes, diff_processes
from milepost.engine.process_merge import MergeResult, merge_processes
from milepost.engine.process_schema import ProcessDef
from milepost.pipeline.models import Opportunity
from milepost.process.models import ProcessDraft, ProcessVersion, Stage, StageKind
from milepost.team.models import User


def draft_list(*, user: User) -> list[ProcessDraft]:
    require_designer(user)
    return list(
        ProcessDraft.objects.select_related("process", "based_on", "created_by", "published_as")
    )


def draft_get(*, user: User, draft_id: int) -> ProcessDraft:
    require_designer(user)
    draft = (
        ProcessDraft.objects.select_related("process", "based_on", "created_by", "published_as")
        .filter(pk=draft_id)
        .first()
    )
    if draft is None:
        raise NotFound(f"draft {draft_id} not found")
    return draft


def live_version(draft: ProcessDraft) -> ProcessVersion | None:
    if draft.process_id is None:
        return None
    return ProcessVersion.objects.filter(process_id=draft.process_id, is_current=True).first()


def draft_diff(draft: ProcessDraft) -> list[str]:
    """Readable lines from the live version to the (valid) draft; raises ProcessInvalid."""
    new = draft_definition(draft.document)
    live = live_version(draft)
    if live is None:
        return [f"new process {new.key!r} with {len(new.stages)} stages"]
    old = ProcessDef.model_validate(live.definition)
    return describe_changes(diff_processes(old, new))


@dataclass(frozen=True)
class StageOnHold:
    """An old stage with open deals that the new version cannot take as it is."""

    key: str
    label: str
    open_deals: int

    def __str__(self) -> str:
        deals = f"{self.open_deals} open deal{'s' if self.open_deals != 1 else ''}"
        return f"{self.label} ({self.key}): {deals}"


def open_deals_by_stage(*, process_id: int) -> dict[str, StageOnHold]:
    """Open deals on every version of the process, by stage key (label of the newest version)."""
    counts: Counter[str] = Counter(
        Opportunity.objects.filter(
            stage__version__process_id=process_id, stage__kind=StageKind.OPEN
        ).values_list("stage__key", flat=True)
    )
    labels: dict[str, str] = {}
    for key, label in (
        Stage.objects.filter(version__process_id=process_id, key__in=list(counts))
        .order_by("version__number")
        .values_list("key", "label")
    ):
        labels[key] = label
    return {key: StageOnHold(key, labels.get(key, key), n) for key, n in sorted(counts.items())}


def stages_needing_mapping(*, process_id: int | None, new: ProcessDef) -> list[StageOnHold]:
    """Old stages with open deals whose key is not an open stage of ``new``."""
    if process_id is None:
        return []
    open_keys = {s.key for s in new.open_stages}
    held = open_deals_by_stage(process_id=process_id)
    return [stage for key, stage in held.items() if key not in open_keys]


def draft_is_stale(draft: ProcessDraft) -> ProcessVersion | None:
    """The live version when it is newer than the draft's base (the draft is stale), else None."""
    live = live_version(draft)
    if live is None or draft.based_on_id == live.pk:
        return None
    return live


def draft_rebase_preview(draft: ProcessDraft) -> MergeResult | None:
    """What rebasing a stale draft would give (its conflicts for the three-way view); None
    when the draft is not stale."""
    live = draft_is_stale(draft)
    if live is None:
        return None
    base = draft.based_on.definition if draft.based_on else {}
    ours = draft.document if isinstance(draft.document, dict) else {}
    return merge_processes(base, ours, live.definition)
