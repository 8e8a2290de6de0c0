"""Creating and editing deals on the pages: "New deal", inline edits on the deal page, owner
reassignment, closing as won or lost, and archiving (admins).

Each view parses a form, calls one service and renders. The services decide (bounds from the
one deal schema, permissions, versions, stage gates); their refusals are shown next to the field
they name, with a 422 (409 for a stale version, saying who changed what) so HTMX swaps the
editor back with the message and the focus on the field to fix.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.core.forms import first_error
from milepost.core.htmx import is_partial
from milepost.deals.conflicts import conflict_message
from milepost.deals.edit_forms import (
    EDIT_GROUPS,
    CloseForm,
    DealCreateForm,
    VersionForm,
    add_service_error,
)
from milepost.deals.facts import (
    accounts_for,
    edit_form,
    facts_context,
    may_reassign,
    owners_for,
)
from milepost.deals.views import detail_response
from milepost.inspection.closing import opportunity_close
from milepost.inspection.creates import opportunity_create_gated
from milepost.inspection.gates import GateBlocked
from milepost.pipeline.models import Opportunity
from milepost.pipeline.selectors import archived_opportunity_list, opportunity_get
from milepost.pipeline.services import (
    opportunity_archive,
    opportunity_restore,
    opportunity_update,
)
from milepost.pipeline.validation import deal_warnings
from milepost.process.models import StageKind
from milepost.process.selectors import current_version, process_list, version_stages
from milepost.team.models import User


def _visible(user: User, opportunity_id: int) -> Opportunity:
    try:
        return opportunity_get(user=user, opportunity_id=opportunity_id)
    except NotFound:
        raise Http404("No such opportunity") from None


def _facts(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, "pipeline/partials/deal_facts.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_edit(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """GET ``?field=<group>``: the inline editor (HTMX) or the deal page with it open.
    POST: save the group under the version the form carries."""
    user = request.user
    opp = _visible(user, opportunity_id)
    detail = reverse("pipeline:detail", args=[opp.pk])
    if request.method == "GET":
        group = request.GET.get("field", "")
        if not is_partial(request):
            anchor = EDIT_GROUPS[group][1] if group in EDIT_GROUPS else ""
            query = f"?edit={group}#{anchor}" if anchor else ""
            return HttpResponseRedirect(detail + query)
        if group and edit_form(user=user, opp=opp, group=group) is None:
            raise Http404("No such field to edit")
        return _facts(request, facts_context(user=user, opp=opp, editing=group))
    group = request.POST.get("group", "")
    if group == "owner" and not may_reassign(user):
        raise PermissionDenied(gettext("reps do not reassign deals"))
    form = edit_form(user=user, opp=opp, group=group, data=request.POST)
    if form is None:
        return HttpResponse("Unknown field to edit.", status=422, content_type="text/plain")
    status, conflict = 200, ""
    if form.is_valid():
        try:
            opp = opportunity_update(
                user=user,
                opportunity_id=opp.pk,
                expected_version=form.cleaned_data["version"],
                changes=form.changes(),
            )
        except VersionConflict:
            opp = _visible(user, opportunity_id)
            status, conflict = 409, conflict_message(opp)
        except InvalidChange as exc:
            add_service_error(form, exc)
    if status == 200 and form.is_valid():
        warnings = deal_warnings(
            {k: getattr(opp, k) for k in ("close_date", "next_step_date") if k in form.fields},
            is_open=opp.stage.kind == StageKind.OPEN,
        )
        if not is_partial(request):
            for text in warnings:
                messages.warning(request, text)
            messages.success(
                request, gettext("Saved %(field)s.") % {"field": EDIT_GROUPS[group][2].lower()}
            )
            return HttpResponseRedirect(detail)
        response = _facts(
            request, facts_context(user=user, opp=opp, warnings=warnings, saved=group)
        )
        # Criteria, the control banner and signals read these fields: the process map re-fetches.
        response["HX-Trigger"] = "deal-changed"
        return response
    if status == 200:
        status = 422
    context = facts_context(user=user, opp=opp, editing=group, form=form, conflict=conflict)
    if not is_partial(request):
        return detail_response(request, opp.pk, facts=context, status=status)
    return _facts(request, context, status=status)


# --- New deal ------------------------------------------------------------------------------


def _stage_groups() -> list[tuple[str, str, list]]:
    """(process key, process name, stages of its current version) for the stage choice."""
    groups = []
    for process in process_list():
        version = current_version(process_key=process.key)
        if version is not None:
            groups.append((process.key, process.name, version_stages(version_id=version.pk)))
    return groups


def _create_form(user: User, data: Any = None) -> DealCreateForm:
    groups = _stage_groups()
    first = next(
        (f"{key}:{s.key}" for key, _, stages in groups for s in stages if s.kind == StageKind.OPEN),
        "",
    )
    form = DealCreateForm(
        data,
        stages=groups,
        accounts=accounts_for(user),
        owners=owners_for(user),
        initial={"currency": "USD", "owner": user.pk, "stage": first},
    )
    if not may_reassign(user):
        del form.fields["owner"]
    return form


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_new(request: HttpRequest) -> HttpResponse:
    """The "New deal" page; a later stage than the first passes that stage's gate."""
    user = request.user
    if request.method == "GET":
        return render(request, "pipeline/new.html", {"nav": "table", "form": _create_form(user)})
    form = _create_form(user, request.POST)
    if form.is_valid():
        try:
            result = opportunity_create_gated(user=user, **form.create_kwargs())
        except GateBlocked as exc:
            field = "justification" if exc.field == "justification" else "stage"
            form.add_error(field, str(exc))
        except InvalidChange as exc:
            add_service_error(form, exc)
        else:
            for text in result.warnings:
                messages.warning(request, text)
            messages.success(
                request, gettext("Created “%(name)s”.") % {"name": result.opportunity.name}
            )
            url = reverse("pipeline:detail", args=[result.opportunity.pk])
            if is_partial(request):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return HttpResponseRedirect(url)
    focus = form.invalid_field()
    if focus:
        form.fields[focus].widget.attrs["autofocus"] = True
    context = {"nav": "table", "form": form, "error": first_error(form)[1]}
    template = "pipeline/partials/new_form.html" if is_partial(request) else "pipeline/new.html"
    return render(request, template, context, status=422)


# --- Close, archive, restore ---------------------------------------------------------------


@login_required
@require_POST
def opportunity_close_view(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """Close as won or lost through the gated move; a message and back to the deal."""
    opp = _visible(request.user, opportunity_id)
    detail = reverse("pipeline:detail", args=[opp.pk])
    form = CloseForm(request.POST)
    status, text = 200, ""
    if not form.is_valid():
        status, text = 422, first_error(form)[1]
    else:
        data = form.cleaned_data
        try:
            result = opportunity_close(
                user=request.user,
                opportunity_id=opp.pk,
                outcome=data["outcome"],
                expected_version=data["version"],
                lost_reason=data["lost_reason"],
                justification=data["justification"],
            )
        except VersionConflict:
            status, text = 409, conflict_message(_visible(request.user, opportunity_id))
        except InvalidChange as exc:
            status, text = 422, f"The deal was not closed: {exc}."
        else:
            text = gettext("Closed “%(name)s” as %(stage)s.") % {
                "name": result.opportunity.name,
                "stage": result.opportunity.stage.label,
            }
    if is_partial(request) and status != 200:
        return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    (messages.success if status == 200 else messages.error)(request, text)
    return HttpResponseRedirect(detail)


def _admin_write(request: HttpRequest, opportunity_id: int, action: Any, done: str) -> HttpResponse:
    if not request.user.is_admin:
        raise PermissionDenied(gettext("only admins archive or restore deals"))
    form = VersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form)[1])
        return HttpResponseRedirect(reverse("pipeline:archived"))
    try:
        opp = action(
            user=request.user,
            opportunity_id=opportunity_id,
            expected_version=form.cleaned_data["version"],
        )
    except NotFound:
        raise Http404("No such opportunity") from None
    except VersionConflict as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("pipeline:archived"))
    except InvalidChange as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("pipeline:archived"))
    messages.success(request, done % {"name": opp.name})
    if opp.archived_at is None:
        return HttpResponseRedirect(reverse("pipeline:detail", args=[opp.pk]))
    return HttpResponseRedirect(reverse("pipeline:archived"))


@login_required
@require_POST
def opportunity_archive_view(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """Archive a deal (admins): hidden everywhere, kept with its history, restorable."""
    return _admin_write(
        request, opportunity_id, opportunity_archive, gettext("Archived “%(name)s”.")
    )


@login_required
@require_POST
def opportunity_restore_view(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    return _admin_write(
        request, opportunity_id, opportunity_restore, gettext("Restored “%(name)s”.")
    )


@login_required
@require_GET
def archived_list(request: HttpRequest) -> HttpResponse:
    """Archived deals with who archived them and when, for admins to restore."""
    if not request.user.is_admin:
        raise PermissionDenied(gettext("only admins see archived deals"))
    return render(
        request,
        "pipeline/archived.html",
        {"nav": "table", "deals": archived_opportunity_list(user=request.user)[:500]},
    )
