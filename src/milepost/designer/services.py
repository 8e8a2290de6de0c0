"""Writes of the process designer: start a draft, then one small locked service per edit.

A draft (:class:`~milepost.process.models.ProcessDraft`) holds the process document as plain
JSON and may be invalid while being worked on. Every edit takes the draft's
``expected_version`` (optimistic lock: a second editor working from a stale page gets a
:class:`VersionConflict` instead of silently overwriting), applies one change to the document
and bumps the version. Edits do not validate the whole process: the pages show the
validator's problems at their fields (:mod:`milepost.designer.validation`). Publishing, which
moves open deals, is :mod:`milepost.designer.publish`; a draft left behind by a newer
published version is rebased onto it with :func:`draft_rebase`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import yaml
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext

from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.designer.access import require_designer
from milepost.designer.selectors import draft_get
from milepost.designer.validation import draft_definition
from milepost.engine import yaml_text
from milepost.engine.process_merge import Conflict, merge_processes, resolve
from milepost.process.models import ProcessDraft, SalesProcess
from milepost.team.models import User

# What a stage form may set; anything else in a stage is left as it is.
STAGE_FIELDS = (
    "key",
    "label",
    "kind",
    "buyer_phase",
    "buyer_goal",
    "probability",
    "forecast_category",
    "expected_days",
    "max_days",
    "suggested_actions",
    "methodology",
    "playbook",
    "job_aid",
)
CRITERION_FIELDS = ("id", "statement", "verifier", "rule", "evidence", "guidance")
SETTINGS_FIELDS = ("name", "description", "gate_policy", "currency", "methodologies")


def _json_safe(value: Any) -> Any:
    """Plain JSON data from parsed YAML (dates and decimals as the text the schema reads)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@transaction.atomic
def draft_start(*, user: User, process_key: str) -> ProcessDraft:
    """A new draft holding a copy of the process's live version."""
    require_designer(user)
    process = SalesProcess.objects.filter(key=process_key).first()
    live = process.current_version() if process else None
    if process is None or live is None:
        raise NotFound(gettext("process %(process_key)r not found") % {"process_key": process_key})
    return ProcessDraft.objects.create(
        process=process,
        based_on=live,
        document=copy.deepcopy(live.definition),
        created_by=user,
    )


_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def new_process_document(*, key: str, name: str) -> dict[str, Any]:
    """The smallest valid process: one open stage, won and lost, for the admin to build on."""
    return {
        "key": key,
        "name": name,
        "description": "",
        "currency": "USD",
        "gate_policy": "warn",
        "stages": [
            {
                "key": "first_stage",
                "label": "First stage",
                "kind": "open",
                "buyer_phase": "explore",
                "probability": 10,
                "forecast_category": "pipeline",
            },
            {
                "key": "won",
                "label": "Won",
                "kind": "won",
                "buyer_phase": "closed",
                "probability": 100,
                "forecast_category": "closed",
            },
            {
                "key": "lost",
                "label": "Lost",
                "kind": "lost",
                "buyer_phase": "closed",
                "probability": 0,
                "forecast_category": "omitted",
            },
        ],
    }


def draft_start_new(*, user: User, key: str, name: str) -> ProcessDraft:
    """A draft of a process that does not exist yet (published as its version 1)."""
    require_designer(user)
    key, name = (key or "").strip(), (name or "").strip()
    if not _KEY.match(key):
        raise InvalidChange(
            gettext(
                "the key is lower-case letters, digits and underscores, starting with a letter"
            ),
            field="key",
        )
    if SalesProcess.objects.filter(key=key).exists():
        raise InvalidChange(
            gettext("a process with key %(key)r exists: start a draft from it instead")
            % {"key": key},
            field="key",
        )
    if not name or len(name) > 120:
        raise InvalidChange(gettext("name the process (at most 120 characters)"), field="name")
    document = new_process_document(key=key, name=name)
    draft_definition(document)  # the skeleton itself must be valid
    return ProcessDraft.objects.create(process=None, document=document, created_by=user)


def _edit(
    *, user: User, draft_id: int, expected_version: int, change: Callable[[dict[str, Any]], None]
) -> ProcessDraft:
    """Apply ``change`` to a copy of the document under the draft's optimistic lock."""
    require_designer(user)
    with transaction.atomic():
        draft = ProcessDraft.objects.select_for_update().filter(pk=draft_id).first()
        if draft is None:
            raise NotFound(gettext("draft %(draft_id)s not found") % {"draft_id": draft_id})
        if draft.published_as_id is not None:
            raise InvalidChange(
                gettext("this draft was published; start a new draft"), field="draft"
            )
        if draft.version != expected_version:
            raise VersionConflict(draft.version, what="draft")
        document = copy.deepcopy(draft.document)
        if not isinstance(document, dict):
            document = {}
        change(document)
        updated = ProcessDraft.objects.filter(pk=draft.pk, version=expected_version).update(
            document=document, version=F("version") + 1
        )
        if updated != 1:  # pragma: no cover - the row lock serialises writers on PostgreSQL
            raise VersionConflict(ProcessDraft.objects.get(pk=draft.pk).version, what="draft")
        draft.refresh_from_db()
        return draft


def _stages(document: dict[str, Any]) -> list[dict[str, Any]]:
    stages = document.setdefault("stages", [])
    if not isinstance(stages, list):
        raise InvalidChange(
            gettext("the draft's stages are not a list; edit it as YAML"), field="stages"
        )
    return stages


def _stage(document: dict[str, Any], index: int) -> dict[str, Any]:
    stages = _stages(document)
    if not 0 <= index < len(stages) or not isinstance(stages[index], dict):
        raise InvalidChange(
            gettext("there is no stage #%(value)s") % {"value": index + 1}, field="stage"
        )
    return stages[index]


def _criteria(stage: dict[str, Any]) -> list[dict[str, Any]]:
    criteria = stage.setdefault("exit_criteria", [])
    if not isinstance(criteria, list):
        raise InvalidChange(
            gettext("exit criteria are not a list; edit it as YAML"), field="exit_criteria"
        )
    return criteria


def _criterion(stage: dict[str, Any], index: int) -> dict[str, Any]:
    criteria = _criteria(stage)
    if not 0 <= index < len(criteria):
        raise InvalidChange(
            gettext("there is no criterion #%(value)s") % {"value": index + 1}, field="criterion"
        )
    return criteria[index]


def _set(target: dict[str, Any], values: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise InvalidChange(
            gettext("cannot set %(join)s here") % {"join": ", ".join(unknown)}, field=unknown[0]
        )
    for name, value in values.items():
        if value is None or value == "" or value == [] or value == {}:
            target.pop(name, None)  # unset: the schema's default applies
        else:
            target[name] = _json_safe(value)


def _swap(items: list[Any], index: int, direction: str) -> None:
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down"):
        raise InvalidChange(gettext("direction is up or down"), field="direction")
    if not 0 <= index < len(items) or not 0 <= other < len(items):
        raise InvalidChange(
            gettext("item #%(value)s cannot move %(direction)s")
            % {"value": index + 1, "direction": direction},
            field="direction",
        )
    items[index], items[other] = items[other], items[index]


def draft_update_settings(
    *, user: User, draft_id: int, expected_version: int, **values: Any
) -> ProcessDraft:
    """Name, description, gate policy, currency, the methodologies the process uses."""
    return _edit(
        user=user,
        draft_id=draft_id,
        expected_version=expected_version,
        change=lambda doc: _set(doc, values, SETTINGS_FIELDS),
    )


def draft_stage_add(
    *, user: User, draft_id: int, expected_version: int, position: int | None = None, **values: Any
) -> ProcessDraft:
    """Insert a stage at ``position`` (0-based; default: after the last open stage)."""

    def change(doc: dict[str, Any]) -> None:
        stages = _stages(doc)
        stage: dict[str, Any] = {}
        _set(stage, values, STAGE_FIELDS)
        at = position
        if at is None:
            kinds = [s.get("kind") if isinstance(s, dict) else None for s in stages]
            at = max((i + 1 for i, k in enumerate(kinds) if k == "open"), default=0)
        stages.insert(max(0, min(at, len(stages))), stage)

    return _edit(user=user, draft_id=draft_id, expected_version=expected_version, change=change)


def draft_stage_update(
    *, user: User, draft_id: int, expected_version: int, stage: int, **values: Any
) -> ProcessDraft:
    """Change fields of one stage. A new key is followed by the inspection settings naming it."""

    def change(doc: dict[str, Any]) -> None:
        target = _stage(doc, stage)
        old_key, new_key = target.get("key"), values.get("key")
        _set(target, values, STAGE_FIELDS)
        inspection = doc.get("inspection")
        if new_key and old_key and new_key != old_key and isinstance(inspection, dict):
            for name in ("single_threaded_from", "economic_buyer_by"):
                if inspection.get(name) == old_key:
                    inspection[name] = new_key

    return _edit(user=user, draft_id=draft_id, expected_version=expected_version, change=change)


def draft_stage_move(
    *, user: User, draft_id: int, expected_version: int, stage: int, direction: str
) -> ProcessDraft:
    return _edit(
        user=user,
        draft_id=draft_id,
        expected_version=expected_version,
        change=lambda doc: _swap(_stages(doc), stage, direction),
    )


def draft_stage_delete(
    *, user: User, draft_id: int, expected_version: int, stage: int
) -> ProcessDraft:
    def change(doc: dict[str, Any]) -> None:
        _stage(doc, stage)
        del doc["stages"][stage]

    return _edit(user=user, draft_id=draft_id, expected_version=expected_version, change=change)


def parse_rule(text: str) -> Any:
    """A rule typed as YAML (``contact_role: {role: champion}``); None when empty."""
    if not text.strip():
        return None
    try:
        return _json_safe(yaml_text.safe_load(text))
    except yaml_text.YamlTooComplex as exc:
        raise InvalidChange(
            gettext("the rule is %(problem)s") % {"problem": exc.problem}, field="rule"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise InvalidChange(
            gettext("the rule is not valid YAML%(where)s") % {"where": where}, field="rule"
        ) from None


def draft_criterion_add(
    *, user: User, draft_id: int, expected_version: int, stage: int, **values: Any
) -> ProcessDraft:
    def change(doc: dict[str, Any]) -> None:
        criterion: dict[str, Any] = {}
        _set(criterion, values, CRITERION_FIELDS)
        _criteria(_stage(doc, stage)).append(criterion)

    return _edit(user=user, draft_id=draft_id, expected_version=expected_version, change=change)


def draft_criterion_update(
    *, user: User, draft_id: int, expected_version: int, stage: int, criterion: int, **values: Any
) -> ProcessDraft:
    return _edit(
        user=user,
        draft_id=draft_id,
        expected_version=expected_version,
        change=lambda doc: _set(
            _criterion(_stage(doc, stage), criterion), values, CRITERION_FIELDS
        ),
    )


def draft_criterion_move(
    *,
    user: User,
    draft_id: int,
    expected_version: int,
    stage: int,
    criterion: int,
    direction: str,
) -> ProcessDraft:
    return _edit(
        user=user,
        draft_id=draft_id,
        expected_version=expected_version,
        change=lambda doc: _swap(_criteria(_stage(doc, stage)), criterion, direction),
    )


def draft_criterion_delete(
    *, user: User, draft_id: int, expected_version: int, stage: int, criterion: int
) -> ProcessDraft:
    def change(doc: dict[str, Any]) -> None:
        _criterion(_stage(doc, stage), criterion)
        del doc["stages"][stage]["exit_criteria"][criterion]

    return _edit(user=user, draft_id=draft_id, expected_version=expected_version, change=change)


def draft_replace(
    *, user: User, draft_id: int, expected_version: int, document: Any = None, text: str = ""
) -> ProcessDraft:
    """Replace the whole document: JSON data (API) or YAML text (the "edit as YAML" page).

    Only YAML syntax is checked here (a mapping is needed); the schema is checked on publish
    and shown as problems meanwhile.
    """
    if document is None:
        try:
            document = yaml_text.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            if isinstance(exc, yaml_text.YamlTooComplex):
                raise InvalidChange(
                    gettext("the YAML is %(problem)s%(where)s")
                    % {"problem": exc.problem, "where": where},
                    field="document",
                ) from None
            raise InvalidChange(
                gettext("not valid YAML%(where)s") % {"where": where}, field="document"
            ) from None
    if not isinstance(document, dict):
        raise InvalidChange(
            gettext("a process is a mapping with key, name, stages"), field="document"
        )
    clean = _json_safe(document)

    def change(doc: dict[str, Any]) -> None:
        doc.clear()
        doc.update(clean)

    return _edit(user=user, draft_id=draft_id, expected_version=expected_version, change=change)


@transaction.atomic
def draft_discard(*, user: User, draft_id: int) -> None:
    """Delete an unpublished draft (a published one stays as the record of who published)."""
    draft = draft_get(user=user, draft_id=draft_id)
    if draft.published_as_id is not None:
        raise InvalidChange(gettext("a published draft is kept"), field="draft")
    draft.delete()


class RebaseConflicts(InvalidChange):
    """The draft and the live version changed the same things differently (``conflicts``)."""

    def __init__(self, conflicts: list[Conflict]):
        self.conflicts = conflicts
        places = "; ".join(c.where for c in conflicts)
        super().__init__(
            f"the draft and the live version both changed: {places}; resolve each (keep the "
            "draft's or take the live version's) to rebase",
            field="document",
        )


def draft_rebase(
    *, user: User, draft_id: int, expected_version: int, prefer: str | None = None
) -> ProcessDraft:
    """Re-apply the draft's changes onto the live version: a stale draft becomes current.

    A three-way merge (:mod:`milepost.engine.process_merge`; base = the version the draft was
    started from). Without ``prefer`` a conflict refuses the rebase (:class:`RebaseConflicts`,
    nothing written); ``prefer`` = "ours" keeps the draft's value where both changed, "theirs"
    takes the live version's. The merged draft may have problems, shown as for any draft.
    """
    require_designer(user)
    if prefer not in (None, "ours", "theirs"):
        raise InvalidChange(gettext("resolve conflicts with ours or theirs"), field="prefer")
    with transaction.atomic():
        draft = ProcessDraft.objects.select_for_update().filter(pk=draft_id).first()
        if draft is None:
            raise NotFound(gettext("draft %(draft_id)s not found") % {"draft_id": draft_id})
        if draft.published_as_id is not None:
            raise InvalidChange(
                gettext("this draft was published; start a new draft"), field="draft"
            )
        if draft.version != expected_version:
            raise VersionConflict(draft.version, what="draft")
        live = draft.process.current_version() if draft.process else None
        if live is None or draft.based_on_id == live.pk:
            raise InvalidChange(
                gettext("the draft is based on the live version already"), field="draft"
            )
        base = draft.based_on.definition if draft.based_on else {}
        ours = draft.document if isinstance(draft.document, dict) else {}
        if prefer is None:
            merged = merge_processes(base, ours, live.definition)
            if not merged.clean:
                raise RebaseConflicts(merged.conflicts)
            document = merged.document
        else:
            document = resolve(base, ours, live.definition, prefer=prefer)
        ProcessDraft.objects.filter(pk=draft.pk).update(
            document=_json_safe(document), based_on=live, version=F("version") + 1
        )
        draft.refresh_from_db()
        return draft


# --- a draft from a process-effectiveness suggestion ------------------------------------------

CHANGE_ACTIONS = ("remove_criterion", "move_criterion", "set_stage_field", "set_process_field")
# The fields a suggestion may propose to change, and what their new value must be.
CHANGE_STAGE_FIELDS = ("max_days",)
CHANGE_PROCESS_FIELDS = ("gate_policy",)
GATE_POLICIES = ("open", "warn", "block")


def _open_stage(document: dict[str, Any], key: Any) -> dict[str, Any]:
    for stage in _stages(document):
        if isinstance(stage, dict) and stage.get("key") == key and stage.get("kind") == "open":
            return stage
    raise InvalidChange(
        gettext("the live process has no open stage %(key)r") % {"key": key}, field="stage"
    )


def _take_criterion(stage: dict[str, Any], criterion_id: Any) -> dict[str, Any]:
    criteria = _criteria(stage)
    for index, criterion in enumerate(criteria):
        if isinstance(criterion, dict) and criterion.get("id") == criterion_id:
            return criteria.pop(index)
    raise InvalidChange(
        gettext("stage %(stage)r of the live process has no exit criterion %(criterion)r")
        % {"stage": stage.get("key"), "criterion": criterion_id},
        field="criterion",
    )


def _as_was(current: Any, expected: Any, field: str) -> None:
    """The suggestion was computed against ``expected``; refuse if the live process differs
    (a later version changed it), rather than apply it to something else."""
    if str(current) != str(expected):
        raise InvalidChange(
            gettext(
                "%(field)s is %(current)s in the live process, not %(expected)s as the "
                "suggestion assumed; it no longer applies"
            )
            % {"field": field, "current": current, "expected": expected},
            field=field,
        )


def apply_change(document: dict[str, Any], change: dict[str, Any]) -> None:
    """Apply one proposed change (``ProposedChange.as_json()`` of a process-effectiveness
    suggestion) to a process document, in place; :class:`InvalidChange` when it does not fit."""
    action = change.get("action")
    if action == "remove_criterion":
        _take_criterion(_open_stage(document, change.get("stage")), change.get("criterion"))
    elif action == "move_criterion":
        target = _open_stage(document, change.get("to"))
        moved = _take_criterion(_open_stage(document, change.get("stage")), change.get("criterion"))
        _criteria(target).append(moved)
    elif action == "set_stage_field":
        field = change.get("field")
        if field not in CHANGE_STAGE_FIELDS:
            raise InvalidChange(gettext("this field cannot be changed here"), field="field")
        stage = _open_stage(document, change.get("stage"))
        _as_was(stage.get(field), change.get("from"), str(field))
        try:
            value = int(str(change.get("to")))
        except ValueError:
            raise InvalidChange(gettext("max_days is a whole number"), field="to") from None
        if not 1 <= value <= 3650:
            raise InvalidChange(gettext("max_days is between 1 and 3650"), field="to")
        stage[field] = value
    elif action == "set_process_field":
        field = change.get("field")
        if field not in CHANGE_PROCESS_FIELDS or change.get("to") not in GATE_POLICIES:
            raise InvalidChange(gettext("this field cannot be changed here"), field="field")
        _as_was(document.get(field), change.get("from"), str(field))
        document[field] = change["to"]
    else:
        raise InvalidChange(
            gettext("unknown change %(action)r") % {"action": action}, field="action"
        )


@transaction.atomic
def draft_from_change(*, user: User, process_key: str, change: dict[str, Any]) -> ProcessDraft:
    """A new draft of the live version with exactly one proposed change applied (a suggestion
    of process effectiveness). Nothing is published: a person reviews and publishes the draft.
    A change that no longer fits the live process is refused and no draft is left behind."""
    require_designer(user)
    draft = draft_start(user=user, process_key=process_key)
    return _edit(
        user=user,
        draft_id=draft.pk,
        expected_version=draft.version,
        change=lambda doc: apply_change(doc, change),
    )
