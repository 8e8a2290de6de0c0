"""The deal's process map and the evidence actions on it (record, verify, reject, withdraw).

The map (every open stage, each exit criterion with its status, reason and evidence, the control
verdict, the risk breakdown and the next actions) is built by :func:`process_map` from one
:func:`~milepost.inspection.services.inspect_opportunity` call; the opportunity page includes it
and every evidence action answers with it re-rendered, so the criterion, the banner, the verified
stage and the risk can never disagree. An HTMX request gets the map partial (200, 422 with the
message next to the form, 409 when someone else changed the evidence); a plain form gets a
message and a redirect back to the criterion, so the page works without JavaScript.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from milepost.accounts.selectors import contact_list
from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.core.forms import first_error
from milepost.core.htmx import is_partial
from milepost.engine.criteria import MET, UNKNOWN
from milepost.engine.process_schema import StageDef
from milepost.engine.signals import SIGNAL_LABELS
from milepost.evidence.forms import (
    EvidenceRecordForm,
    EvidenceRejectForm,
    EvidenceReviewForm,
)
from milepost.evidence.models import Evidence, EvidenceEvent, EvidenceState
from milepost.evidence.selectors import evidence_history
from milepost.evidence.services import (
    evidence_record,
    evidence_reject,
    evidence_verify,
    evidence_withdraw,
)
from milepost.inspection.services import (
    CriterionView,
    OpportunityInspection,
    StageView,
    inspect_opportunity,
)
from milepost.pipeline.selectors import opportunity_get
from milepost.process.models import StageKind
from milepost.team.models import User

STATUS_LABELS = {MET: "Met", UNKNOWN: "Unknown", "unmet": "Not met"}
ACTIONS = ("record", "verify", "reject", "withdraw")
CONFLICT_MESSAGE = (
    "This evidence was changed by someone else since you loaded the page, so nothing was "
    "saved. Reload the page to see the change, then try again."
)


@dataclass
class CriterionRow:
    """One criterion on the map, with what the viewer may do about it."""

    view: CriterionView
    stage: StageDef
    history: list[EvidenceEvent]
    can_record: bool
    can_verify: bool
    can_reject: bool
    can_withdraw: bool
    error: str = ""
    error_action: str = ""
    flash: str = ""
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.view.criterion.id

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.view.status, self.view.status)

    @property
    def evidence(self) -> Evidence | None:
        return self.view.evidence

    @property
    def can_act(self) -> bool:
        return self.can_record or self.can_verify or self.can_reject or self.can_withdraw


@dataclass
class StageRow:
    view: StageView
    rows: list[CriterionRow]
    is_claimed: bool
    is_verified: bool
    is_gap: bool

    @property
    def stage(self) -> StageDef:
        return self.view.stage


@dataclass
class ProcessMap:
    """Everything the process map shows for one deal, as seen by one user."""

    inspection: OpportunityInspection
    stages: list[StageRow]
    stage_labels: dict[str, str]
    contacts: list[Any]
    is_open: bool
    signals: list[dict[str, Any]]
    error: str = ""

    @property
    def opp(self) -> Any:
        return self.inspection.criteria.opportunity

    @property
    def unverified_stages(self) -> set[str]:
        """Open stages with an exit criterion not met (a deal past them is not in control)."""
        return {s.stage.key for s in self.inspection.criteria.stages if not s.all_met}

    @property
    def claimed_label(self) -> str:
        key = self.inspection.criteria.claimed_stage
        return self.stage_labels.get(key, key)

    @property
    def verified_label(self) -> str:
        key = self.inspection.criteria.verified_stage
        return self.stage_labels.get(key, key)

    @property
    def first_gap_label(self) -> str:
        key = self.inspection.criteria.first_gap
        return self.stage_labels.get(key, key) if key else ""

    @property
    def under_control(self) -> bool:
        return self.inspection.criteria.under_control

    @property
    def move_unmet(self) -> list[CriterionRow]:
        """What a move to the next stage would skip: unmet criteria up to the current stage."""
        limit = self.inspection.criteria.claimed_position
        return [
            row
            for stage in self.stages
            if stage.view.position <= limit
            for row in stage.rows
            if row.view.status != MET
        ]

    def row(self, criterion_key: str) -> CriterionRow | None:
        return next((r for s in self.stages for r in s.rows if r.key == criterion_key), None)


def process_map(*, user: User, opportunity_id: int) -> ProcessMap:
    """The map of a deal ``user`` may see (NotFound otherwise)."""
    inspection = inspect_opportunity(user=user, opportunity_id=opportunity_id)
    explanation = inspection.criteria
    opp = explanation.opportunity
    is_open = explanation.claimed_kind == StageKind.OPEN
    is_owner = opp.owner_id == user.pk
    history: dict[str, list[EvidenceEvent]] = defaultdict(list)
    for event in evidence_history(user=user, opportunity_id=opportunity_id):
        history[event.criterion_key].append(event)
    contacts = (
        list(contact_list(user=user, account_id=opp.account_id).order_by("last_name", "id"))
        if opp.account_id and is_open
        else []
    )
    claimed = explanation.claimed_stage
    stages = []
    for stage_view in explanation.stages:
        rows = []
        for view in stage_view.criteria:
            ev = view.evidence
            active = ev is not None and ev.state == EvidenceState.ACTIVE
            rows.append(
                CriterionRow(
                    view=view,
                    stage=stage_view.stage,
                    history=history.get(view.criterion.id, []),
                    can_record=is_open,
                    can_verify=is_open and not is_owner and active and ev.verified_by_id is None,
                    can_reject=is_open and not is_owner and active,
                    can_withdraw=is_open and ev is not None and ev.state != EvidenceState.WITHDRAWN,
                )
            )
        key = stage_view.stage.key
        stages.append(
            StageRow(
                view=stage_view,
                rows=rows,
                is_claimed=key == claimed,
                is_verified=key == explanation.verified_stage,
                is_gap=key == explanation.first_gap,
            )
        )
    signals = [
        {**s, "label": SIGNAL_LABELS.get(s["signal"], s["signal"])} for s in inspection.signals
    ]
    return ProcessMap(
        inspection=inspection,
        stages=stages,
        stage_labels={s.key: s.label for s in explanation.process.stages},
        contacts=contacts,
        is_open=is_open,
        signals=signals,
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
    "record": "Evidence recorded.",
    "verify": "Evidence verified.",
    "reject": "Evidence rejected.",
    "withdraw": "Evidence withdrawn.",
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
