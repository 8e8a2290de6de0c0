"""The evidence actions on a deal's process map (record, verify, reject, withdraw, and for a
buyer-confirmation claim accept and reject-claim), mounted under
``/pipeline/opportunities/<id>/evidence/``, and the permission-checked download of an artefact.

Every action answers with the map (:mod:`milepost.deals.process_map`) re-rendered. An HTMX
request gets the map partial (200, 422 with the message next to the form, 409 when someone else
changed the evidence); a plain form gets a message and a redirect back to the criterion, so the
page works without JavaScript.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.core.forms import first_error
from milepost.core.htmx import is_partial
from milepost.deals.forms import (
    EvidenceRecordForm,
    EvidenceRejectForm,
    EvidenceReviewForm,
)
from milepost.deals.process_map import ProcessMap, process_map
from milepost.evidence.models import Evidence
from milepost.evidence.selectors import artefact_file_response, artefact_get
from milepost.evidence.services import (
    evidence_accept,
    evidence_record,
    evidence_reject,
    evidence_reject_claim,
    evidence_verify,
    evidence_withdraw,
)
from milepost.pipeline.selectors import opportunity_get
from milepost.team.models import User

ACTIONS = ("record", "verify", "reject", "withdraw", "accept", "reject_claim")
CONFLICT_MESSAGE = gettext_lazy(
    "This evidence was changed by someone else since you loaded the page, so nothing was "
    "saved. Reload the page to see the change, then try again."
)


def _map_or_404(user: User, opportunity_id: int) -> ProcessMap:
    try:
        return process_map(user=user, opportunity_id=opportunity_id)
    except NotFound:
        raise Http404("No such opportunity") from None


def _detail_url(opportunity_id: int, criterion_key: str = "") -> str:
    url = reverse("pipeline:detail", args=[opportunity_id])
    return f"{url}#criterion-{criterion_key}" if criterion_key else f"{url}#process-map"


def _render_map(
    request: HttpRequest, pmap: ProcessMap, status: int = 200, *, oob: bool = True
) -> HttpResponse:
    return render(
        request,
        "evidence/partials/map_response.html",
        {"map": pmap, "opp": pmap.opp, "oob": oob},
        status=status,
    )


@login_required
@require_GET
def map_view(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """The map partial (HTMX reload); a plain request goes to the opportunity page."""
    pmap = _map_or_404(request.user, opportunity_id)
    if is_partial(request):
        return _render_map(request, pmap)
    return HttpResponseRedirect(_detail_url(opportunity_id))


def _run(request: HttpRequest, opportunity_id: int, criterion_key: str, action: str) -> Evidence:
    """Parse the posted form for ``action`` and call its service (raises domain errors)."""
    user = request.user
    if action == "record":
        form: Any = EvidenceRecordForm(request.POST, request.FILES)
        if not form.is_valid():
            name, message = first_error(form)
            raise InvalidChange(message, field=name)
        data = form.validated
        return evidence_record(
            user=user,
            opportunity_id=opportunity_id,
            criterion_key=criterion_key,
            note=data.note,
            link=data.link,
            evidence_date=data.evidence_date,
            buyer_confirmed=data.buyer_confirmed,
            confirmed_by_id=data.confirmed_by,
            artefact_kind=data.artefact_kind,
            artefact_text=data.artefact_text,
            artefact_file=form.cleaned_data.get("artefact_file"),
            expected_version=data.version,
        )
    rejecting = action in ("reject", "reject_claim")
    form = (EvidenceRejectForm if rejecting else EvidenceReviewForm)(request.POST)
    if not form.is_valid():
        name, message = first_error(form)
        raise InvalidChange(message, field=name)
    version = form.validated.version
    common = {
        "user": user,
        "opportunity_id": opportunity_id,
        "criterion_key": criterion_key,
        "expected_version": version,
    }
    if action == "verify":
        return evidence_verify(**common)
    if action == "reject":
        return evidence_reject(reason=form.validated.reason, **common)
    if action == "accept":
        return evidence_accept(**common)
    if action == "reject_claim":
        return evidence_reject_claim(reason=form.validated.reason, **common)
    return evidence_withdraw(**common)


DONE = {
    "record": gettext_lazy("Evidence recorded."),
    "verify": gettext_lazy("Evidence verified."),
    "reject": gettext_lazy("Evidence rejected."),
    "withdraw": gettext_lazy("Evidence withdrawn."),
    "accept": gettext_lazy("Buyer confirmation accepted."),
    "reject_claim": gettext_lazy("Buyer confirmation rejected."),
}


def _act(request: HttpRequest, opportunity_id: int, criterion_key: str, action: str):
    is_htmx = is_partial(request)
    status, error = 200, ""
    try:
        # Visibility first: a hidden deal is a 404 whatever was posted.
        opportunity_get(user=request.user, opportunity_id=opportunity_id)
        _run(request, opportunity_id, criterion_key, action)
    except NotFound:
        raise Http404("No such opportunity or evidence") from None
    except VersionConflict:
        status, error = 409, str(CONFLICT_MESSAGE)
    except InvalidChange as exc:
        status, error = 422, gettext("Nothing was saved: %(error)s.") % {"error": exc}
    if not is_htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, DONE[action])
        return HttpResponseRedirect(_detail_url(opportunity_id, criterion_key))
    pmap = _map_or_404(request.user, opportunity_id)
    row = pmap.row(criterion_key)
    if row is None:
        pmap.error = error
    elif error:
        row.error, row.error_action = error, action
        if action == "record":
            row.values = {
                k: request.POST.get(k, "")
                for k in EvidenceRecordForm.base_fields
                if k != "artefact_file"
            }
            row.values["buyer_confirmed"] = bool(request.POST.get("buyer_confirmed"))
    else:
        row.flash = DONE[action]
    return _render_map(request, pmap, status)


@login_required
@require_POST
def record(request: HttpRequest, opportunity_id: int, criterion_key: str) -> HttpResponse:
    return _act(request, opportunity_id, criterion_key, "record")


@login_required
@require_POST
def verify(request: HttpRequest, opportunity_id: int, criterion_key: str) -> HttpResponse:
    return _act(request, opportunity_id, criterion_key, "verify")


@login_required
@require_POST
def reject(request: HttpRequest, opportunity_id: int, criterion_key: str) -> HttpResponse:
    return _act(request, opportunity_id, criterion_key, "reject")


@login_required
@require_POST
def withdraw(request: HttpRequest, opportunity_id: int, criterion_key: str) -> HttpResponse:
    return _act(request, opportunity_id, criterion_key, "withdraw")


@login_required
@require_POST
def accept(request: HttpRequest, opportunity_id: int, criterion_key: str) -> HttpResponse:
    return _act(request, opportunity_id, criterion_key, "accept")


@login_required
@require_POST
def reject_claim(request: HttpRequest, opportunity_id: int, criterion_key: str) -> HttpResponse:
    return _act(request, opportunity_id, criterion_key, "reject_claim")


@login_required
@require_GET
def artefact(request: HttpRequest, opportunity_id: int, artefact_id: int) -> FileResponse:
    """Download an attached file: 404 for anyone who may not see the deal (never served from a
    public URL)."""
    try:
        row = artefact_get(user=request.user, artefact_id=artefact_id)
        if row.opportunity_id != opportunity_id:
            raise NotFound("artefact of another deal")
        return artefact_file_response(user=request.user, artefact_id=artefact_id)
    except NotFound:
        raise Http404("No such artefact") from None
