"""The evidence actions on a deal's process map (record, verify, reject, withdraw), mounted
under ``/pipeline/opportunities/<id>/evidence/``.

Every action answers with the map (:mod:`milepost.deals.process_map`) re-rendered. An HTMX
request gets the map partial (200, 422 with the message next to the form, 409 when someone else
changed the evidence); a plain form gets a message and a redirect back to the criterion, so the
page works without JavaScript.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy
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
from milepost.evidence.services import (
    evidence_record,
    evidence_reject,
    evidence_verify,
    evidence_withdraw,
)
from milepost.pipeline.selectors import opportunity_get
from milepost.team.models import User

ACTIONS = ("record", "verify", "reject", "withdraw")
CONFLICT_MESSAGE = (
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
        form: Any = EvidenceRecordForm(request.POST)
        if not form.is_valid():
            name, message = first_error(form)
            raise InvalidChange(message, field=name)
        data = form.cleaned_data
        return evidence_record(
            user=user,
            opportunity_id=opportunity_id,
            criterion_key=criterion_key,
            note=data["note"],
            link=data["link"],
            evidence_date=data["evidence_date"],
            buyer_confirmed=data["buyer_confirmed"],
            confirmed_by_id=data["confirmed_by"],
            expected_version=data["version"],
        )
    form = (EvidenceRejectForm if action == "reject" else EvidenceReviewForm)(request.POST)
    if not form.is_valid():
        name, message = first_error(form)
        raise InvalidChange(message, field=name)
    version = form.cleaned_data["version"]
    common = {
        "user": user,
        "opportunity_id": opportunity_id,
        "criterion_key": criterion_key,
        "expected_version": version,
    }
    if action == "verify":
        return evidence_verify(**common)
    if action == "reject":
        return evidence_reject(reason=form.cleaned_data["reason"], **common)
    return evidence_withdraw(**common)


DONE = {
    "record": gettext_lazy("Evidence recorded."),
    "verify": gettext_lazy("Evidence verified."),
    "reject": gettext_lazy("Evidence rejected."),
    "withdraw": gettext_lazy("Evidence withdrawn."),
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
        status, error = 409, CONFLICT_MESSAGE
    except InvalidChange as exc:
        status, error = 422, f"Nothing was saved: {exc}."
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
            row.values = {k: request.POST.get(k, "") for k in EvidenceRecordForm.base_fields}
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
