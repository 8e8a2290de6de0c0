"""The process designer's pages: drafts, stage and criterion forms, YAML, diff and publish.

Only sales-ops admins reach them (:func:`designer_view`: 403 for everyone else whatever the
draft). Forms parse input, one service of :mod:`milepost.designer.services` writes, and the
pages show the validator's problems at their fields. The URLs sit in the ``process`` namespace
under ``/process/`` (see :mod:`milepost.designer.urls`) and the templates keep their
``process/designer/...`` names: users see the designer as part of the process pages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import yaml
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.core.forms import first_error
from milepost.core.htmx import is_partial
from milepost.core.jobs import JobAlreadyRunning, active_job
from milepost.designer import forms, selectors, services, validation
from milepost.designer.access import can_design
from milepost.designer.jobs import PUBLISH, publish_enqueue, publish_job_get, publish_subject
from milepost.designer.preview import publish_preview
from milepost.designer.publish import StaleDraft, publish_check
from milepost.engine.process_merge import MISSING
from milepost.engine.process_schema import ProcessInvalid
from milepost.process.models import ProcessDraft
from milepost.process.selectors import pack_definitions, process_list

CONFLICT = gettext_lazy(
    "Someone else changed this draft since you loaded the page, so nothing was saved. "
    "The page now shows their change; make yours again."
)


def designer_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, a sales-ops admin (403 otherwise, whatever the draft), domain errors mapped."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_design(request.user):
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
    targets = validation.draft_targets(document)
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
    drafts = selectors.draft_list(user=request.user)
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
    draft = services.draft_start(user=request.user, process_key=key)
    messages.success(
        request,
        gettext("Draft started from version %(n)d.") % {"n": draft.based_on.number},
    )
    return HttpResponseRedirect(_draft_url(draft.pk))


@designer_view
@require_POST
def draft_new_process(request: HttpRequest) -> HttpResponse:
    """Start a brand-new process: a minimal valid draft to build on in the designer."""
    try:
        draft = services.draft_start_new(
            user=request.user,
            key=request.POST.get("key", ""),
            name=request.POST.get("name", ""),
        )
    except InvalidChange as exc:
        messages.error(request, f"{exc.field}: {exc}")
        return HttpResponseRedirect(reverse("process:designer"))
    messages.success(
        request,
        gettext("Draft of the new process “%(name)s” started.") % {"name": draft.document["name"]},
    )
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
    live = selectors.live_version(draft)
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
    return _render_draft(request, selectors.draft_get(user=request.user, draft_id=draft_id))


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
    draft = selectors.draft_get(user=request.user, draft_id=draft_id)
    if not form.is_valid():
        messages.error(request, first_error(form)[1])
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


@designer_view
@require_POST
def draft_settings(request: HttpRequest, draft_id: int) -> HttpResponse:
    form = forms.SettingsForm(request.POST)
    return _run_edit(
        request,
        draft_id,
        lambda v: services.draft_update_settings(
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
        return services.draft_stage_add(
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
        lambda v: services.draft_stage_move(
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
        lambda v: services.draft_stage_delete(
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
    draft = selectors.draft_get(user=request.user, draft_id=draft_id)
    data = _stage_or_404(draft, stage)
    if request.method == "POST":
        part = request.POST.get("part")
        form = (
            forms.StageForm(request.POST) if part == "fields" else _text_form(draft, request.POST)
        )
        return _run_edit(
            request,
            draft_id,
            lambda v: services.draft_stage_update(
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
        lambda v: services.draft_criterion_add(
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
        lambda v: services.draft_criterion_update(
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
        lambda v: services.draft_criterion_move(
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
        lambda v: services.draft_criterion_delete(
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
    draft = selectors.draft_get(user=request.user, draft_id=draft_id)
    status, error = 200, ""
    if request.method == "POST":
        form = forms.YamlForm(request.POST)
        if form.is_valid():
            try:
                services.draft_replace(
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
                messages.success(request, gettext("Draft saved from YAML."))
                return HttpResponseRedirect(reverse("process:draft_yaml", args=[draft_id]))
        else:
            error, status = first_error(form)[1], 422
        draft.refresh_from_db()
        if status == 409:
            form = forms.YamlForm(
                initial={"version": draft.version, "text": validation.document_yaml(draft.document)}
            )
    else:
        form = forms.YamlForm(
            initial={"version": draft.version, "text": validation.document_yaml(draft.document)}
        )
    return render(
        request,
        "process/designer/yaml.html",
        {
            "nav": "process",
            "draft": draft,
            "form": form,
            "error": error,
            "problems": validation.draft_problems(draft.document) if not error else [],
            "published": draft.published_as_id is not None,
        },
        status=status,
    )


def _mapping_from(form: Any) -> dict[str, str]:
    return {
        name.removeprefix("map__"): value
        for name, value in form.cleaned_data.items()
        if name.startswith("map__") and value
    }


def _stale_context(draft: ProcessDraft) -> dict[str, Any]:
    """For a stale draft: the live version and what a rebase would give (with conflicts)."""
    merge = selectors.draft_rebase_preview(draft)
    if merge is None:
        return {"stale": False}
    return {
        "stale": True,
        "conflicts": [
            {
                "where": c.where,
                "base": _as_text(c.base),
                "ours": _as_text(c.ours),
                "theirs": _as_text(c.theirs),
            }
            for c in merge.conflicts
        ],
    }


def _as_text(value: Any) -> str:
    """A document fragment as YAML for the three-way view ("(absent)" when missing)."""
    if value is MISSING:
        return "(absent)"
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True).removesuffix("...\n")


@designer_view
@require_http_methods(["GET", "POST"])
def draft_publish_view(request: HttpRequest, draft_id: int) -> HttpResponse:
    """The diff against the live version, the impact preview, the stage mapping, and publish.

    A stale draft (a newer version was published since it started) shows the rebase instead:
    automatic when nothing conflicts, else the conflicting places side by side (base, draft,
    live). Publishing queues a background job and sends the admin to its progress page.
    """
    draft = selectors.draft_get(user=request.user, draft_id=draft_id)
    live = selectors.live_version(draft)
    status, error = 200, ""
    base_context = {
        "nav": "process",
        "draft": draft,
        "live": live,
        "published": draft.published_as_id is not None,
        "running": active_job(kind=PUBLISH, subject=publish_subject(draft.pk)),
    }
    try:
        changes = selectors.draft_diff(draft)
        definition = validation.draft_definition(draft.document)
    except ProcessInvalid:
        return render(
            request,
            "process/designer/publish.html",
            {
                **base_context,
                "invalid": True,
                "problems": validation.draft_targets(draft.document),
                "stale": False,
            },
            status=422 if request.method == "POST" else 200,
        )
    stale = {} if base_context["published"] else _stale_context(draft)
    needed = selectors.stages_needing_mapping(process_id=draft.process_id, new=definition)
    targets = [(s.key, f"{s.label} ({s.key})") for s in definition.open_stages]
    form = forms.mapping_form(needed, targets, request.POST if request.method == "POST" else None)
    mapping: dict[str, str] | None = {} if not needed else None
    if request.method == "POST":
        version_form = forms.VersionForm(request.POST)
        if not version_form.is_valid() or not form.is_valid():
            error, status = "Choose a stage for every stage listed below.", 422
        else:
            mapping = _mapping_from(form)
            if request.POST.get("action") != "preview":
                try:
                    publish_check(
                        user=request.user,
                        draft_id=draft_id,
                        expected_version=version_form.cleaned_data["version"],
                        mapping=mapping,
                    )
                    job = publish_enqueue(
                        user=request.user,
                        draft_id=draft_id,
                        expected_version=version_form.cleaned_data["version"],
                        mapping=mapping,
                    )
                except VersionConflict:
                    error, status = CONFLICT, 409
                    draft.refresh_from_db()
                except StaleDraft as exc:
                    error, status = str(exc), 409
                except JobAlreadyRunning as exc:
                    error, status = str(exc), 409
                    base_context["running"] = exc.job
                except (InvalidChange, ProcessInvalid) as exc:
                    error, status = str(exc), 422
                else:
                    return HttpResponseRedirect(
                        reverse("process:draft_publish_job", args=[draft.pk, job.pk])
                    )
    preview = None
    if (
        mapping is not None
        and draft.process_id is not None  # a new process has no deals to preview
        and not stale.get("stale")
        and not base_context["published"]
    ):
        preview = publish_preview(user=request.user, draft=draft, mapping=mapping)
    return render(
        request,
        "process/designer/publish.html",
        {
            **base_context,
            **stale,
            "invalid": False,
            "changes": changes,
            "needed": needed,
            "form": form,
            "error": error,
            "preview": preview,
        },
        status=status,
    )


@designer_view
@require_GET
def draft_publish_job(request: HttpRequest, draft_id: int, job_id: str) -> HttpResponse:
    """A publish job's progress (polled by HTMX every second until it ends), then its result."""
    draft = selectors.draft_get(user=request.user, draft_id=draft_id)
    job = publish_job_get(user=request.user, draft_id=draft_id, job_id=job_id)
    template = (
        "process/designer/_publish_job.html"
        if is_partial(request)
        else "process/designer/publish_job.html"
    )
    return render(
        request,
        template,
        {"nav": "process", "draft": draft, "job": job, "published": False},
    )


@designer_view
@require_POST
def draft_rebase_view(request: HttpRequest, draft_id: int) -> HttpResponse:
    """Rebase a stale draft onto the live version (``prefer`` settles conflicts, if any)."""
    form = forms.VersionForm(request.POST)
    back = reverse("process:draft_publish", args=[draft_id])
    selectors.draft_get(user=request.user, draft_id=draft_id)
    if not form.is_valid():
        messages.error(request, first_error(form)[1])
        return HttpResponseRedirect(back)
    try:
        draft = services.draft_rebase(
            user=request.user,
            draft_id=draft_id,
            expected_version=form.cleaned_data["version"],
            prefer=request.POST.get("prefer") or None,
        )
    except VersionConflict:
        messages.error(request, CONFLICT)
    except InvalidChange as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Draft rebased onto version {draft.based_on.number}; review and publish."
        )
    return HttpResponseRedirect(back)


@designer_view
@require_POST
def draft_discard_view(request: HttpRequest, draft_id: int) -> HttpResponse:
    try:
        services.draft_discard(user=request.user, draft_id=draft_id)
    except InvalidChange as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(_draft_url(draft_id))
    messages.success(request, gettext("Draft discarded."))
    return HttpResponseRedirect(reverse("process:designer"))


CHANGE_FIELDS = ("action", "stage", "criterion", "field", "from", "to")


@designer_view
@require_POST
def draft_from_suggestion(request: HttpRequest) -> HttpResponse:
    """Open a draft of the live process with one proposed change of a process-effectiveness
    suggestion applied (the analytics page posts the change here). Never publishes."""
    process_key = request.POST.get("process", "")
    change = {k: request.POST[k] for k in CHANGE_FIELDS if request.POST.get(k, "") != ""}
    back = reverse("analytics:effectiveness") + "?" + urlencode({"process": process_key})
    try:
        draft = services.draft_from_change(
            user=request.user, process_key=process_key, change=change
        )
    except NotFound:
        messages.error(request, gettext("That process does not exist."))
        return HttpResponseRedirect(back)
    except InvalidChange as exc:
        messages.error(request, gettext("No draft was opened: %(problem)s") % {"problem": str(exc)})
        return HttpResponseRedirect(back)
    messages.success(
        request,
        gettext(
            "Draft started from version %(n)d with the suggested change applied. Review it; "
            "nothing changes until you publish."
        )
        % {"n": draft.based_on.number},
    )
    return HttpResponseRedirect(_draft_url(draft.pk))
