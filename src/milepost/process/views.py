"""Process pages: the list of sales processes and the process map of one version.

Every signed-in user may read every process (the process is the team's shared definition of
how deals progress); there is nothing to edit here, loading happens through ``milepost process
load``. Rule wording and version diffs come from the engine (:mod:`rule_text`,
:mod:`process_diff`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from milepost.core.htmx import is_partial
from milepost.engine.process_diff import Change, describe_changes, diff_processes
from milepost.engine.process_schema import ProcessDef
from milepost.engine.rule_text import rule_sentence
from milepost.process.models import ProcessVersion
from milepost.process.selectors import (
    process_overview,
    process_version,
    process_versions,
    version_stages,
)

GATE_POLICY_WORDS = {
    "block": "A deal cannot leave a stage until its exit criteria are met.",
    "warn": "A deal may leave a stage with unmet exit criteria; the move is flagged.",
    "open": "Exit criteria are guidance; moves are not checked.",
}


@login_required
@require_GET
def process_list_view(request: HttpRequest) -> HttpResponse:
    processes = process_overview()
    for process in processes:
        versions = process.all_versions
        process.current = next((v for v in versions if v.is_current), None)
        process.older = [v for v in versions if not v.is_current]
    return render(request, "process/list.html", {"processes": processes, "nav": "process"})


@dataclass(frozen=True)
class HistoryRow:
    version: ProcessVersion
    changes: list[Change] | None  # None for the first version (nothing to compare with)


@login_required
@require_GET
def process_detail(request: HttpRequest, key: str, number: int | None = None) -> HttpResponse:
    version = process_version(process_key=key, number=number)
    if version is None:
        raise Http404("no such process version")
    stages = version_stages(version_id=version.pk)
    for stage in stages:
        for criterion in stage.exit_criteria.all():
            criterion.rule_words = rule_sentence(criterion.rule) if criterion.rule else ""

    versions = process_versions(process_id=version.process_id)
    definitions = {v.number: ProcessDef.model_validate(v.definition) for v in versions}
    history = [
        HistoryRow(
            version=v,
            changes=diff_processes(definitions[previous.number], definitions[v.number])
            if (previous := _previous(versions, v)) is not None
            else None,
        )
        for v in versions
    ]
    this_row = next(row for row in history if row.version.pk == version.pk)
    previous = _previous(versions, version)
    current = next((v for v in versions if v.is_current), None)
    definition = definitions[version.number]
    return render(
        request,
        "process/detail.html",
        {
            "nav": "process",
            "process": version.process,
            "version": version,
            "definition": definition,
            "gate_policy_words": GATE_POLICY_WORDS.get(definition.gate_policy, ""),
            "current": current,
            "stages": stages,
            "criteria_count": sum(len(s.exit_criteria) for s in definition.stages),
            "history": history,
            "previous": previous,
            "change_lines": describe_changes(this_row.changes or []),
        },
    )


def _previous(versions: list[ProcessVersion], version: ProcessVersion) -> ProcessVersion | None:
    older = [v for v in versions if v.number < version.number]
    return max(older, key=lambda v: v.number) if older else None


# --- Process map (printable), export, and the designer ------------------------------------
# Appended as a block so the pages above stay as they were.

from collections import defaultdict  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import wraps  # noqa: E402
from typing import Any  # noqa: E402

import yaml  # noqa: E402
from django.contrib import messages  # noqa: E402
from django.core.exceptions import PermissionDenied  # noqa: E402
from django.http import HttpResponseRedirect  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.views.decorators.http import require_http_methods, require_POST  # noqa: E402

from milepost.core.errors import InvalidChange, NotFound, VersionConflict  # noqa: E402
from milepost.engine.process_schema import ProcessInvalid  # noqa: E402
from milepost.engine.rule_text import methodology_label  # noqa: E402
from milepost.methodology.selectors import pack_definitions  # noqa: E402
from milepost.process import designer, forms  # noqa: E402
from milepost.process.api import export_response  # noqa: E402
from milepost.process.migration import (  # noqa: E402
    MappingRequired,
    draft_publish,
    stages_needing_mapping,
)
from milepost.process.models import ProcessDraft  # noqa: E402
from milepost.process.selectors import process_list  # noqa: E402

CONFLICT = (
    "Someone else changed this draft since you loaded the page, so nothing was saved. "
    "The page now shows their change; make yours again."
)


@dataclass(frozen=True)
class MapElement:
    key: str
    label: str


@dataclass(frozen=True)
class MapMethodology:
    pack: str
    name: str
    required: list[MapElement]
    recommended: list[MapElement]
    loaded: bool


def _map_methodologies(stage: Any, definition: ProcessDef) -> list[MapMethodology]:
    packs = pack_definitions()
    purposes = [u.pack for u in definition.methodologies]
    out = []
    for pack in sorted(stage.methodology, key=lambda p: purposes.index(p) if p in purposes else 99):
        spec = stage.methodology[pack]
        pack_def = packs.get(pack)

        def label(key: str, pack_def: Any = pack_def) -> MapElement:
            try:
                return MapElement(key, pack_def.element(key).label if pack_def else key)
            except KeyError:
                return MapElement(key, key)

        out.append(
            MapMethodology(
                pack=pack,
                name=pack_def.name if pack_def else methodology_label(pack),
                required=[label(k) for k in spec.required],
                recommended=[label(k) for k in spec.recommended],
                loaded=pack_def is not None,
            )
        )
    return out


@login_required
@require_GET
def process_map_view(request: HttpRequest, key: str, number: int | None = None) -> HttpResponse:
    """The printable process map: what reps follow and managers inspect against."""
    version = process_version(process_key=key, number=number)
    if version is None:
        raise Http404("no such process version")
    definition = ProcessDef.model_validate(version.definition)
    packs = pack_definitions()
    stages = [
        {
            "def": stage,
            "number": n,
            "criteria": [
                {"def": c, "rule": rule_sentence(c.rule) if c.rule is not None else ""}
                for c in stage.exit_criteria
            ],
            "methodologies": _map_methodologies(stage, definition),
        }
        for n, stage in enumerate(definition.stages, start=1)
    ]
    uses = [
        {
            "pack": use.pack,
            "name": packs[use.pack].name if use.pack in packs else methodology_label(use.pack),
            "purpose": use.purpose,
        }
        for use in definition.methodologies
    ]
    return render(
        request,
        "process/map.html",
        {
            "nav": "process",
            "process": version.process,
            "version": version,
            "definition": definition,
            "gate_policy_words": GATE_POLICY_WORDS.get(definition.gate_policy, ""),
            "stages": stages,
            "uses": uses,
        },
    )


@login_required
@require_GET
def export_view(request: HttpRequest, key: str, number: int) -> HttpResponse:
    version = process_version(process_key=key, number=number)
    if version is None:
        raise Http404("no such process version")
    return export_response(version)


# --- Designer pages ------------------------------------------------------------------------


def designer_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, a sales-ops admin (403 otherwise, whatever the draft), domain errors mapped."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not designer.can_design(request.user):
            raise PermissionDenied("only sales-ops admins design processes")
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404("no such draft") from None

    return wrapper


def _draft_url(draft_id: int, anchor: str = "") -> str:
    return reverse("process:draft", args=[draft_id]) + (f"#{anchor}" if anchor else "")


def _stage_url(draft_id: int, stage: int, anchor: str = "") -> str:
    url = reverse("process:draft_stage", args=[draft_id, stage])
    return url + (f"#{anchor}" if anchor else "")


def _errors_by_place(document: Any) -> dict[str, Any]:
    """Problems of a draft grouped for the templates: process fields, stages, criteria."""
    process: dict[str, list[str]] = defaultdict(list)
    stages: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    criteria: dict[tuple[int, int], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    targets = designer.draft_targets(document)
    for t in targets:
        if t.stage is None:
            process[t.field].append(t.message)
        elif t.criterion is None:
            stages[t.stage][t.field].append(t.message)
        else:
            criteria[(t.stage, t.criterion)][t.field].append(t.message)
    return {"targets": targets, "process": process, "stages": stages, "criteria": criteria}


def _with_errors(form: Any, errors: dict[str, list[str]]) -> list[tuple[Any, list[str]]]:
    """(bound field, the validator's problems about it) for each visible field of ``form``."""
    return [(form[name], errors.get(name, [])) for name in form.fields if name != "version"]


@designer_view
@require_GET
def designer_home(request: HttpRequest) -> HttpResponse:
    drafts = designer.draft_list(user=request.user)
    return render(
        request,
        "process/designer/list.html",
        {
            "nav": "process",
            "open_drafts": [d for d in drafts if d.published_as_id is None],
            "published": [d for d in drafts if d.published_as_id is not None][:20],
            "processes": process_list(),
        },
    )


@designer_view
@require_POST
def draft_new(request: HttpRequest, key: str) -> HttpResponse:
    draft = designer.draft_start(user=request.user, process_key=key)
    messages.success(request, f"Draft started from version {draft.based_on.number}.")
    return HttpResponseRedirect(_draft_url(draft.pk))


@designer_view
@require_POST
def draft_new_process(request: HttpRequest) -> HttpResponse:
    """Start a brand-new process: a minimal valid draft to build on in the designer."""
    try:
        draft = designer.draft_start_new(
            user=request.user,
            key=request.POST.get("key", ""),
            name=request.POST.get("name", ""),
        )
    except InvalidChange as exc:
        messages.error(request, f"{exc.field}: {exc}")
        return HttpResponseRedirect(reverse("process:designer"))
    messages.success(request, f"Draft of the new process {draft.document['name']!r} started.")
    return HttpResponseRedirect(_draft_url(draft.pk))


def _draft_context(draft: ProcessDraft, **extra: Any) -> dict[str, Any]:
    document = draft.document if isinstance(draft.document, dict) else {}
    errors = _errors_by_place(document)
    stages = []
    raw = document.get("stages") if isinstance(document.get("stages"), list) else []
    for i, stage in enumerate(raw):
        stage = stage if isinstance(stage, dict) else {}
        stage_errors = errors["stages"].get(i, {})
        criteria_errors = sum(
            len(msgs)
            for (s, _), fields in errors["criteria"].items()
            if s == i
            for msgs in fields.values()
        )
        stages.append(
            {
                "index": i,
                "key": stage.get("key", ""),
                "label": stage.get("label", ""),
                "kind": stage.get("kind", ""),
                "probability": stage.get("probability", ""),
                "criteria": len(stage.get("exit_criteria") or []),
                "problems": sum(len(m) for m in stage_errors.values()) + criteria_errors,
                "first": i == 0,
                "last": i == len(raw) - 1,
            }
        )
    live = designer.live_version(draft)
    settings_form = forms.SettingsForm(
        initial=forms.SettingsForm.initial_from(document, draft.version)
    )
    process_errors = dict(errors["process"])
    context = {
        "nav": "process",
        "draft": draft,
        "settings_fields": _with_errors(settings_form, process_errors),
        "other_process_errors": [
            (name, msgs)
            for name, msgs in process_errors.items()
            if name not in settings_form.fields
        ],
        "live": live,
        "stale": live is not None and draft.based_on_id != live.pk,
        "stages": stages,
        "problems": errors["targets"],
        "settings_form": settings_form,
        "new_stage_form": forms.NewStageForm(
            initial={"version": draft.version, "kind": "open", "forecast_category": "pipeline"},
            prefix="new",
        ),
        "published": draft.published_as_id is not None,
    }
    context.update(extra)
    return context


def _render_draft(
    request: HttpRequest, draft: ProcessDraft, status: int = 200, **extra: Any
) -> HttpResponse:
    template = (
        "process/designer/_draft_body.html"
        if is_partial(request)
        else "process/designer/draft.html"
    )
    return render(request, template, _draft_context(draft, **extra), status=status)


@designer_view
@require_GET
def draft_view(request: HttpRequest, draft_id: int) -> HttpResponse:
    return _render_draft(request, designer.draft_get(user=request.user, draft_id=draft_id))


def _run_edit(
    request: HttpRequest,
    draft_id: int,
    edit: Callable[[int], Any],
    form: Any,
    *,
    done: str,
    back: str,
) -> HttpResponse:
    """Run one locked edit from a parsed form; answer with a redirect (or the HTMX partial)."""
    draft = designer.draft_get(user=request.user, draft_id=draft_id)
    if not form.is_valid():
        messages.error(request, _form_error(form))
        return HttpResponseRedirect(back)
    try:
        edit(form.cleaned_data["version"])
    except VersionConflict:
        messages.error(request, CONFLICT)
        status = 409
    except InvalidChange as exc:
        messages.error(request, str(exc))
        status = 422
    else:
        messages.success(request, done)
        status = 200
    if is_partial(request) and back.startswith(_draft_url(draft.pk).split("#")[0]):
        draft.refresh_from_db()
        focus = request.POST.get("focus", "")
        return _render_draft(request, draft, status=status, focus=focus)
    return HttpResponseRedirect(back)


def _form_error(form: Any) -> str:
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else name
        return f"{label or name}: {errors[0]}"
    return "the form is not valid"


@designer_view
@require_POST
def draft_settings(request: HttpRequest, draft_id: int) -> HttpResponse:
    form = forms.SettingsForm(request.POST)
    return _run_edit(
        request,
        draft_id,
        lambda v: designer.draft_update_settings(
            user=request.user, draft_id=draft_id, expected_version=v, **form.values()
        ),
        form,
        done="Settings saved.",
        back=_draft_url(draft_id, "settings"),
    )


@designer_view
@require_POST
def draft_stage_add(request: HttpRequest, draft_id: int) -> HttpResponse:
    form = forms.NewStageForm(request.POST, prefix="new")

    def edit(version: int) -> Any:
        values = form.values()
        position = values.pop("position", None)
        return designer.draft_stage_add(
            user=request.user,
            draft_id=draft_id,
            expected_version=version,
            position=position - 1 if position else None,
            **values,
        )

    return _run_edit(
        request, draft_id, edit, form, done="Stage added.", back=_draft_url(draft_id, "stages")
    )


@designer_view
@require_POST
def draft_stage_move(request: HttpRequest, draft_id: int, stage: int) -> HttpResponse:
    form = forms.MoveForm(request.POST)
    return _run_edit(
        request,
        draft_id,
        lambda v: designer.draft_stage_move(
            user=request.user,
            draft_id=draft_id,
            expected_version=v,
            stage=stage,
            direction=form.cleaned_data["direction"],
        ),
        form,
        done="Stage moved.",
        back=_draft_url(draft_id, "stages"),
    )


@designer_view
@require_POST
def draft_stage_delete(request: HttpRequest, draft_id: int, stage: int) -> HttpResponse:
    form = forms.VersionForm(request.POST)
    return _run_edit(
        request,
        draft_id,
        lambda v: designer.draft_stage_delete(
            user=request.user, draft_id=draft_id, expected_version=v, stage=stage
        ),
        form,
        done="Stage deleted.",
        back=_draft_url(draft_id, "stages"),
    )


def _stage_or_404(draft: ProcessDraft, stage: int) -> dict[str, Any]:
    stages = draft.document.get("stages") if isinstance(draft.document, dict) else None
    if not isinstance(stages, list) or not 0 <= stage < len(stages):
        raise Http404("no such stage in this draft")
    return stages[stage] if isinstance(stages[stage], dict) else {}


def _text_form(draft: ProcessDraft, data: Any = None) -> forms.StageTextForm:
    uses = draft.document.get("methodologies") or []
    packs_used = [u.get("pack") for u in uses if isinstance(u, dict) and u.get("pack")]
    return forms.StageTextForm(data, packs_used=packs_used, packs=pack_definitions())


@designer_view
@require_http_methods(["GET", "POST"])
def draft_stage(request: HttpRequest, draft_id: int, stage: int) -> HttpResponse:
    """One stage: its fields, methodology mapping, texts and exit criteria."""
    draft = designer.draft_get(user=request.user, draft_id=draft_id)
    data = _stage_or_404(draft, stage)
    if request.method == "POST":
        part = request.POST.get("part")
        form = (
            forms.StageForm(request.POST) if part == "fields" else _text_form(draft, request.POST)
        )
        return _run_edit(
            request,
            draft_id,
            lambda v: designer.draft_stage_update(
                user=request.user,
                draft_id=draft_id,
                expected_version=v,
                stage=stage,
                **(form.values() if part == "fields" else form.values(data)),
            ),
            form,
            done="Stage saved.",
            back=_stage_url(draft_id, stage, "stage-fields" if part == "fields" else "stage-texts"),
        )
    errors = _errors_by_place(draft.document)
    stage_errors = dict(errors["stages"].get(stage, {}))
    fields_form = forms.StageForm(initial=forms.StageForm.initial_from(data, draft.version))
    text_form = _text_form(draft)
    text_form.initial = text_form.initial_from(data, draft.version)
    criteria = []
    for i, criterion in enumerate(data.get("exit_criteria") or []):
        criterion = criterion if isinstance(criterion, dict) else {}
        rule = criterion.get("rule")
        initial = {
            "version": draft.version,
            **{k: v for k, v in criterion.items() if k != "rule" and isinstance(v, str)},
            "rule": _rule_yaml(rule),
        }
        criteria.append(
            {
                "index": i,
                "id": criterion.get("id", ""),
                "statement": criterion.get("statement", ""),
                "form": (form := forms.CriterionForm(initial=initial, prefix=f"c{i}")),
                "fields": _with_errors(
                    form, (errs := dict(errors["criteria"].get((stage, i), {})))
                ),
                "other_errors": [(n, m) for n, m in errs.items() if n not in form.fields],
                "first": i == 0,
                "last": i == len(data.get("exit_criteria") or []) - 1,
            }
        )
    return render(
        request,
        "process/designer/stage.html",
        {
            "nav": "process",
            "draft": draft,
            "stage_index": stage,
            "stage": data,
            "stage_count": len(draft.document.get("stages") or []),
            "fields_form": fields_form,
            "fields": _with_errors(fields_form, stage_errors),
            "text_form": text_form,
            "text_fields": [
                (text_form[name], stage_errors.get(name, []))
                for name in ("suggested_actions", "playbook", "job_aid")
            ],
            "pack_fields": [
                (pack, title, [text_form[name] for name in names])
                for pack, title, names in text_form.pack_fields
            ],
            "methodology_errors": stage_errors.get("methodology", []),
            "other_errors": [
                (n, m)
                for n, m in stage_errors.items()
                if n not in fields_form.fields and n not in text_form.fields and n != "methodology"
            ],
            "criteria": criteria,
            "new_criterion_form": forms.CriterionForm(
                initial={"version": draft.version, "verifier": "buyer"}, prefix="new"
            ),
            "published": draft.published_as_id is not None,
        },
    )


def _rule_yaml(rule: Any) -> str:
    if rule is None:
        return ""
    return yaml.safe_dump(rule, sort_keys=False, allow_unicode=True, default_flow_style=None)


@designer_view
@require_POST
def draft_criterion_add(request: HttpRequest, draft_id: int, stage: int) -> HttpResponse:
    form = forms.CriterionForm(request.POST, prefix="new")
    return _run_edit(
        request,
        draft_id,
        lambda v: designer.draft_criterion_add(
            user=request.user, draft_id=draft_id, expected_version=v, stage=stage, **form.values()
        ),
        form,
        done="Exit criterion added.",
        back=_stage_url(draft_id, stage, "criteria"),
    )


@designer_view
@require_POST
def draft_criterion_edit(
    request: HttpRequest, draft_id: int, stage: int, criterion: int
) -> HttpResponse:
    form = forms.CriterionForm(request.POST, prefix=f"c{criterion}")
    return _run_edit(
        request,
        draft_id,
        lambda v: designer.draft_criterion_update(
            user=request.user,
            draft_id=draft_id,
            expected_version=v,
            stage=stage,
            criterion=criterion,
            **form.values(),
        ),
        form,
        done="Exit criterion saved.",
        back=_stage_url(draft_id, stage, f"criterion-{criterion}"),
    )


@designer_view
@require_POST
def draft_criterion_move(
    request: HttpRequest, draft_id: int, stage: int, criterion: int
) -> HttpResponse:
    form = forms.MoveForm(request.POST)
    return _run_edit(
        request,
        draft_id,
        lambda v: designer.draft_criterion_move(
            user=request.user,
            draft_id=draft_id,
            expected_version=v,
            stage=stage,
            criterion=criterion,
            direction=form.cleaned_data["direction"],
        ),
        form,
        done="Exit criterion moved.",
        back=_stage_url(draft_id, stage, "criteria"),
    )


@designer_view
@require_POST
def draft_criterion_delete(
    request: HttpRequest, draft_id: int, stage: int, criterion: int
) -> HttpResponse:
    form = forms.VersionForm(request.POST)
    return _run_edit(
        request,
        draft_id,
        lambda v: designer.draft_criterion_delete(
            user=request.user,
            draft_id=draft_id,
            expected_version=v,
            stage=stage,
            criterion=criterion,
        ),
        form,
        done="Exit criterion deleted.",
        back=_stage_url(draft_id, stage, "criteria"),
    )


@designer_view
@require_http_methods(["GET", "POST"])
def draft_yaml(request: HttpRequest, draft_id: int) -> HttpResponse:
    """Edit the whole draft as YAML text (kept as typed when it is not valid YAML)."""
    draft = designer.draft_get(user=request.user, draft_id=draft_id)
    status, error = 200, ""
    if request.method == "POST":
        form = forms.YamlForm(request.POST)
        if form.is_valid():
            try:
                designer.draft_replace(
                    user=request.user,
                    draft_id=draft_id,
                    expected_version=form.cleaned_data["version"],
                    text=form.cleaned_data["text"],
                )
            except VersionConflict:
                error, status = CONFLICT, 409
            except InvalidChange as exc:
                error, status = str(exc), 422
            else:
                messages.success(request, "Draft saved from YAML.")
                return HttpResponseRedirect(reverse("process:draft_yaml", args=[draft_id]))
        else:
            error, status = _form_error(form), 422
        draft.refresh_from_db()
        if status == 409:
            form = forms.YamlForm(
                initial={"version": draft.version, "text": designer.document_yaml(draft.document)}
            )
    else:
        form = forms.YamlForm(
            initial={"version": draft.version, "text": designer.document_yaml(draft.document)}
        )
    return render(
        request,
        "process/designer/yaml.html",
        {
            "nav": "process",
            "draft": draft,
            "form": form,
            "error": error,
            "problems": designer.draft_problems(draft.document) if not error else [],
            "published": draft.published_as_id is not None,
        },
        status=status,
    )


@designer_view
@require_http_methods(["GET", "POST"])
def draft_publish_view(request: HttpRequest, draft_id: int) -> HttpResponse:
    """The diff against the live version, the stage mapping for open deals, and publish."""
    draft = designer.draft_get(user=request.user, draft_id=draft_id)
    live = designer.live_version(draft)
    status, error = 200, ""
    try:
        changes = designer.draft_diff(draft)
        definition = designer.draft_definition(draft.document)
    except ProcessInvalid:
        return render(
            request,
            "process/designer/publish.html",
            {
                "nav": "process",
                "draft": draft,
                "live": live,
                "invalid": True,
                "problems": designer.draft_targets(draft.document),
            },
            status=422 if request.method == "POST" else 200,
        )
    needed = stages_needing_mapping(process_id=draft.process_id, new=definition)
    targets = [(s.key, f"{s.label} ({s.key})") for s in definition.open_stages]
    form = forms.mapping_form(needed, targets, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        version_form = forms.VersionForm(request.POST)
        if not version_form.is_valid() or not form.is_valid():
            error, status = "Choose a stage for every stage listed below.", 422
        else:
            mapping = {
                name.removeprefix("map__"): value
                for name, value in form.cleaned_data.items()
                if name.startswith("map__")
            }
            try:
                result = draft_publish(
                    user=request.user,
                    draft_id=draft_id,
                    expected_version=version_form.cleaned_data["version"],
                    mapping=mapping,
                )
            except VersionConflict:
                error, status = CONFLICT, 409
                draft.refresh_from_db()
            except (MappingRequired, InvalidChange) as exc:
                error, status = str(exc), 422
            except ProcessInvalid as exc:
                error, status = str(exc), 422
            else:
                moved = f"; {result.moved} open deal{'s' if result.moved != 1 else ''} moved"
                messages.success(request, f"Published as version {result.version.number}{moved}.")
                return HttpResponseRedirect(
                    reverse(
                        "process:version", args=[result.version.process.key, result.version.number]
                    )
                )
    return render(
        request,
        "process/designer/publish.html",
        {
            "nav": "process",
            "draft": draft,
            "live": live,
            "invalid": False,
            "changes": changes,
            "needed": needed,
            "form": form,
            "error": error,
            "published": draft.published_as_id is not None,
        },
        status=status,
    )


@designer_view
@require_POST
def draft_discard_view(request: HttpRequest, draft_id: int) -> HttpResponse:
    try:
        designer.draft_discard(user=request.user, draft_id=draft_id)
    except InvalidChange as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(_draft_url(draft_id))
    messages.success(request, "Draft discarded.")
    return HttpResponseRedirect(reverse("process:designer"))
