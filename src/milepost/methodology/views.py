"""The methodology panel on a deal, inline element scoring, element history and the Blue Sheet.

Mounted under ``/pipeline/opportunities/<id>/methodology/``. The opportunity page loads the panel
partial (HTMX, so the deal page itself costs no extra queries); every element action answers with
the panel re-rendered: 200, 422 with the message next to the form, 409 when someone else changed
the element meanwhile. A plain form gets a message and a redirect, so the page works without
JavaScript. A deal the user may not see is a 404 on every URL, whatever was posted.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.core.forms import first_error
from milepost.core.htmx import is_partial
from milepost.methodology.forms import (
    AssessmentForm,
    AssessmentVerifyForm,
    InfluenceForm,
    VersionForm,
)
from milepost.methodology.panel import (
    BlueSheet,
    MethodologyPanel,
    blue_sheet,
    element_history,
    methodology_panel,
)
from milepost.methodology.services import (
    assessment_record,
    assessment_verify,
    influence_remove,
    influence_save,
)
from milepost.pipeline.selectors import opportunity_get
from milepost.process.selectors import pack_definitions

CONFLICT_MESSAGE = (
    "Someone else changed this since you loaded the page, so nothing was saved. "
    "Reload to see their change, then try again."
)


def _panel_or_404(request: HttpRequest, opportunity_id: int) -> MethodologyPanel:
    try:
        return methodology_panel(user=request.user, opportunity_id=opportunity_id)
    except NotFound:
        raise Http404("No such opportunity") from None


def _detail_url(opportunity_id: int, anchor: str = "methodology-panel") -> str:
    return f"{reverse('pipeline:detail', args=[opportunity_id])}#{anchor}"


def _render_panel(request: HttpRequest, panel: MethodologyPanel, status: int = 200) -> HttpResponse:
    template = (
        "methodology/partials/panel.html" if is_partial(request) else "methodology/panel_page.html"
    )
    return render(request, template, {"panel": panel, "opp": panel.opportunity}, status=status)


@login_required
@require_GET
def panel(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """The panel: a partial for HTMX (the deal page loads it), a page of its own otherwise."""
    return _render_panel(request, _panel_or_404(request, opportunity_id))


@login_required
@require_POST
def element_save(request: HttpRequest, opportunity_id: int, pack: str, element: str):
    """Score one element (level, notes, answers, contacts), version-checked."""
    try:
        opportunity_get(user=request.user, opportunity_id=opportunity_id)
    except NotFound:
        raise Http404("No such opportunity") from None
    definition = pack_definitions().get(pack)
    try:
        element_def = definition.element(element) if definition else None
    except KeyError:
        element_def = None
    status, error, values = 200, "", None
    if element_def is None:
        status, error = 422, f"Nothing was saved: there is no element {pack}.{element}."
    else:
        form = AssessmentForm(request.POST, request.FILES, element=element_def)
        values = {
            "version": request.POST.get("version", ""),
            "level": request.POST.get("level", ""),
            "notes": request.POST.get("notes", ""),
            "contacts": [int(v) for v in request.POST.getlist("contacts") if v.isdigit()],
            "answers": {
                f.key: request.POST.get(f"answer__{f.key}", "") for f in element_def.fields
            },
            "artefact_kind": request.POST.get("artefact_kind", ""),
            "artefact_text": request.POST.get("artefact_text", ""),
            "attendee": request.POST.get("attendee", ""),
        }
        try:
            if not form.is_valid():
                name, message = first_error(form)
                raise InvalidChange(message, field=name)
            data = form.cleaned_data
            assessment_record(
                user=request.user,
                opportunity_id=opportunity_id,
                pack=pack,
                element=element,
                level=data["level"],
                notes=data["notes"],
                answers=form.answers(),
                contact_ids=data["contacts"],
                expected_version=data["version"],
                artefact_kind=data["artefact_kind"] or "",
                artefact_text=data["artefact_text"] or "",
                artefact_file=data["artefact_file"],
                attendee_id=data["attendee"],
            )
        except NotFound:
            raise Http404("No such opportunity") from None
        except VersionConflict:
            status, error = 409, CONFLICT_MESSAGE
        except InvalidChange as exc:
            status, error = 422, f"Nothing was saved: {exc}."
    anchor = f"element-{pack}-{element}"
    if not is_partial(request):
        if error:
            messages.error(request, error)
        else:
            messages.success(request, gettext("Saved."))
        if request.POST.get("next") == "blue_sheet":  # a fixed target: no open redirect
            url = reverse("methodology:blue_sheet", args=[opportunity_id, pack])
            return HttpResponseRedirect(f"{url}#{anchor}")
        return HttpResponseRedirect(_detail_url(opportunity_id, anchor))
    result = _panel_or_404(request, opportunity_id)
    row = result.row(pack, element)
    if row is None:  # not shown at this stage: the message goes on the panel
        result.error = error
    elif error:
        row.error, row.values = error, values
    else:
        row.flash = gettext("Saved.")
    response = _render_panel(request, result, status)
    if not error:
        # A score can meet an exit criterion: the deal page's process map (criteria, banner,
        # signals) listens for this event and re-fetches itself.
        response["HX-Trigger"] = "deal-changed"
    return response


@login_required
@require_POST
def element_verify(request: HttpRequest, opportunity_id: int, pack: str, element: str):
    """A manager verifies the owner's score that awaits it (the level scored then counts)."""
    form = AssessmentVerifyForm(request.POST)
    status, error = 200, ""
    try:
        opportunity_get(user=request.user, opportunity_id=opportunity_id)
        if not form.is_valid():
            name, message = first_error(form)
            raise InvalidChange(message, field=name)
        assessment_verify(
            user=request.user,
            opportunity_id=opportunity_id,
            pack=pack,
            element=element,
            expected_version=form.validated.version,
        )
    except NotFound:
        raise Http404("No such opportunity or score") from None
    except VersionConflict:
        status, error = 409, CONFLICT_MESSAGE
    except InvalidChange as exc:
        status, error = 422, gettext("Nothing was saved: %(error)s.") % {"error": exc}
    anchor = f"element-{pack}-{element}"
    if not is_partial(request):
        (messages.error if error else messages.success)(request, error or gettext("Verified."))
        return HttpResponseRedirect(_detail_url(opportunity_id, anchor))
    result = _panel_or_404(request, opportunity_id)
    row = result.row(pack, element)
    if row is None:
        result.error = error
    elif error:
        row.error = error
    else:
        row.flash = gettext("Verified.")
    response = _render_panel(request, result, status)
    if not error:
        response["HX-Trigger"] = "deal-changed"  # a verified level can meet an exit criterion
    return response


@login_required
@require_GET
def history(request: HttpRequest, opportunity_id: int, pack: str, element: str):
    """Who changed the element, when, and from which level to which."""
    try:
        result = element_history(
            user=request.user, opportunity_id=opportunity_id, pack=pack, element=element
        )
    except NotFound:
        raise Http404("No such opportunity or element") from None
    template = (
        "methodology/partials/history.html"
        if is_partial(request)
        else "methodology/history_page.html"
    )
    return render(request, template, {"history": result, "opp": result.opportunity})


# --- the Blue Sheet ---------------------------------------------------------------------------


def _sheet_or_404(request: HttpRequest, opportunity_id: int, pack: str) -> BlueSheet:
    try:
        return blue_sheet(user=request.user, opportunity_id=opportunity_id, pack=pack)
    except NotFound:
        raise Http404("No such opportunity or blue sheet") from None


def _render_sheet(request: HttpRequest, sheet: BlueSheet, status: int = 200) -> HttpResponse:
    template = (
        "methodology/partials/blue_sheet.html"
        if is_partial(request)
        else "methodology/blue_sheet_page.html"
    )
    return render(request, template, {"sheet": sheet, "opp": sheet.opportunity}, status=status)


@login_required
@require_GET
def blue_sheet_view(request: HttpRequest, opportunity_id: int, pack: str) -> HttpResponse:
    return _render_sheet(request, _sheet_or_404(request, opportunity_id, pack))


def _sheet_action(
    request: HttpRequest, opportunity_id: int, pack: str, influence_id: int | None, action: str
) -> HttpResponse:
    _sheet_or_404(request, opportunity_id, pack)  # visibility and pack first: 404 otherwise
    status, error = 200, ""
    try:
        if action == "remove":
            vform = VersionForm(request.POST)
            if not vform.is_valid():
                raise InvalidChange(first_error(vform)[1], field="version")
            influence_remove(
                user=request.user,
                opportunity_id=opportunity_id,
                influence_id=influence_id or 0,
                expected_version=vform.cleaned_data["version"],
            )
        else:
            form = InfluenceForm(request.POST)
            if not form.is_valid():
                name, message = first_error(form)
                raise InvalidChange(message, field=name)
            data = form.cleaned_data
            influence_save(
                user=request.user,
                opportunity_id=opportunity_id,
                pack=pack,
                contact_id=data["contact"],
                role=data["role"],
                degree=data["degree"],
                response_mode=data["response_mode"],
                rating=data["rating"],
                win_results=data["win_results"],
                notes=data["notes"],
                influence_id=influence_id,
                expected_version=data["version"],
            )
    except NotFound:
        raise Http404("No such buying influence") from None
    except VersionConflict:
        status, error = 409, CONFLICT_MESSAGE
    except InvalidChange as exc:
        status, error = 422, f"Nothing was saved: {exc}."
    done = {"add": "Buying influence added.", "edit": "Saved.", "remove": "Removed."}[action]
    if not is_partial(request):
        if error:
            messages.error(request, error)
        else:
            messages.success(request, done)
        return HttpResponseRedirect(reverse("methodology:blue_sheet", args=[opportunity_id, pack]))
    sheet = _sheet_or_404(request, opportunity_id, pack)
    if error:
        sheet.error, sheet.error_on = error, influence_id or 0
        sheet.values = {k: request.POST.get(k, "") for k in InfluenceForm.base_fields}
    else:
        sheet.flash = done
    return _render_sheet(request, sheet, status)


@login_required
@require_POST
def influence_add(request: HttpRequest, opportunity_id: int, pack: str) -> HttpResponse:
    return _sheet_action(request, opportunity_id, pack, None, "add")


@login_required
@require_POST
def influence_edit(
    request: HttpRequest, opportunity_id: int, pack: str, influence_id: int
) -> HttpResponse:
    return _sheet_action(request, opportunity_id, pack, influence_id, "edit")


@login_required
@require_POST
def influence_delete(
    request: HttpRequest, opportunity_id: int, pack: str, influence_id: int
) -> HttpResponse:
    return _sheet_action(request, opportunity_id, pack, influence_id, "remove")
