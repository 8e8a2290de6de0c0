"""Deal pages: the board, the opportunity table, the opportunity page and the move endpoint.

Views parse input, call selectors / services and render. An HTMX request gets the partial it
asked for and a plain request the full page (same view, NetBox style). Errors from services map
to HTTP: NotFound → 404, VersionConflict → 409, InvalidChange → 422 (HTMX) or a message and a
redirect (plain forms, so the page works without JavaScript).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.core.exports import csv_response
from milepost.core.forms import first_error
from milepost.core.htmx import is_partial
from milepost.deals.accounts.deal_views import page_context as people_context
from milepost.deals.board import attach_control, control_dots
from milepost.deals.facts import facts_context
from milepost.deals.forms import (
    ColumnPageForm,
    ControlIdsForm,
    GateCheckForm,
    MoveForm,
    PipelineFilterForm,
    TableFilterForm,
)
from milepost.deals.process_map import process_map
from milepost.deals.tables import OpportunityTable
from milepost.inspection.gates import GateBlocked, gate_check
from milepost.inspection.moves import opportunity_move_stage
from milepost.inspection.pipeline import control_by_deal
from milepost.pipeline import presentation
from milepost.pipeline.selectors import (
    OpportunityFilters,
    archived_opportunity_list,
    opportunity_get,
    opportunity_list,
)
from milepost.process.models import StageKind
from milepost.process.selectors import current_version, process_list, version_stages
from milepost.team.selectors import user_list

DEFAULT_PROCESS = "new_business"
TABLE_PAGE_SIZE = 50


def _process_choices() -> list[tuple[str, str]]:
    return [(p.key, p.name) for p in process_list()]


def _stages_for(process_key: str) -> tuple[object | None, list]:
    version = current_version(process_key=process_key)
    return version, (version_stages(version_id=version.pk) if version else [])


@dataclass(frozen=True)
class _BoardQuery:
    form: PipelineFilterForm
    process_key: str
    version: object | None
    stages: list
    filters: OpportunityFilters | None


def _board_query(request: HttpRequest) -> _BoardQuery:
    """The board's filter form, process and stages, shared by the page and its column pages."""
    processes = _process_choices()
    default = DEFAULT_PROCESS if any(k == DEFAULT_PROCESS for k, _ in processes) else ""
    default = default or (processes[0][0] if processes else DEFAULT_PROCESS)
    form = PipelineFilterForm(
        request.GET, users=user_list(user=request.user), process_choices=processes
    )
    process_key = form.process_key(default)
    version, stages = _stages_for(process_key)
    return _BoardQuery(form, process_key, version, stages, form.to_filters(process_key=process_key))


def _filter_query(request: HttpRequest) -> str:
    """The board's filters as a query string, for the column pages' "Show more" links."""
    query = request.GET.copy()
    query.pop("offset", None)
    return query.urlencode()


def _table_query(request: HttpRequest) -> QueryDict:
    """The board's filters for the table's URL (open deals of every process)."""
    query = request.GET.copy()
    for name in ("process", "offset"):
        query.pop(name, None)
    query["status"] = "open"
    return query


@login_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    q = _board_query(request)
    columns, closed = presentation.board_columns(
        user=request.user, filters=q.filters, stages=q.stages
    )
    table_query = _table_query(request)
    context = {
        "nav": "board",
        "form": q.form,
        "version": q.version,
        "process_key": q.process_key,
        "columns": columns,
        "visible_cards": [card for col in columns for card in col.cards],
        "closed_stages": closed,
        "filters_invalid": q.filters is None,
        "filter_query": _filter_query(request),
        "table_query": table_query,
        "per_column": presentation.CARDS_PER_COLUMN,
    }
    if is_partial(request):
        return render(request, "pipeline/partials/board_columns.html", context)
    return render(request, "pipeline/board.html", context)


@login_required
@require_GET
def board_controls(request: HttpRequest) -> HttpResponse:
    """The control dots of the cards on screen, loaded after the board (``ids=1,2,3``).

    Control needs the exit criteria evaluated (a set-based inspection run, about ten times the
    cost of the rest of the board), so the board shows its cards first and asks for the dots of
    exactly those cards in one request. Deals the user may not see get no dot.
    """
    form = ControlIdsForm(request.GET)
    if not form.is_valid():
        field, message = first_error(form)
        response = HttpResponse(message, status=422, content_type="text/plain; charset=utf-8")
        response["X-Milepost-Field"] = field
        return response
    dots = control_dots(user=request.user, opportunity_ids=form.cleaned_data["ids"])
    return render(request, "pipeline/partials/control_dots.html", {"dots": dots})


@login_required
@require_GET
def board_column(request: HttpRequest, stage_key: str) -> HttpResponse:
    """The next cards of one board column (its "Show more" button), with the same filters as
    the board. An offset past the end gives no cards; a bad offset is a 422 naming it."""
    page_form = ColumnPageForm(request.GET)
    if not page_form.is_valid():
        field, message = first_error(page_form)
        response = HttpResponse(message, status=422, content_type="text/plain; charset=utf-8")
        response["X-Milepost-Field"] = field
        return response
    q = _board_query(request)
    stage = next((s for s in q.stages if s.key == stage_key and s.kind == StageKind.OPEN), None)
    if stage is None:
        raise Http404("No such column on this board")
    page = presentation.board_column_page(
        user=request.user,
        filters=q.filters,
        stage=stage,
        offset=page_form.cleaned_data["offset"],
    )
    return render(
        request,
        "pipeline/partials/column_page.html",
        {
            "page": page,
            "stage": stage,
            "filter_query": _filter_query(request),
            "table_query": _table_query(request).urlencode(),
        },
    )


@login_required
@require_GET
def table(request: HttpRequest) -> HttpResponse:
    processes = _process_choices()
    # Stage choices come from the chosen process (validated by the form's process field).
    _, stages = _stages_for(request.GET.get("process") or DEFAULT_PROCESS)
    form = TableFilterForm(
        request.GET,
        users=user_list(user=request.user),
        process_choices=processes,
        stages=stages,
    )
    filters = form.to_filters(process_key=form.process_key("") or None)
    qs = (
        opportunity_list(user=request.user, filters=filters)
        if filters is not None
        else opportunity_list(user=request.user).none()
    )
    if request.GET.get("format") == "csv":
        return _csv_response(qs.order_by("close_date", "id"))
    tbl = OpportunityTable(qs)
    RequestConfig(request, paginate={"per_page": TABLE_PAGE_SIZE}).configure(tbl)
    tbl.controls = control_by_deal(
        user=request.user, opportunity_ids=[row.record.pk for row in tbl.page.object_list]
    )
    csv_query = request.GET.copy()
    csv_query.pop("page", None)
    csv_query["format"] = "csv"
    context = {
        "nav": "table",
        "form": form,
        "table": tbl,
        "filters_invalid": filters is None,
        "csv_query": csv_query.urlencode(),
    }
    if is_partial(request):
        return render(request, "pipeline/partials/table_results.html", context)
    return render(request, "pipeline/table.html", context)


def _csv_response(qs) -> StreamingHttpResponse:
    rows = presentation.csv_rows(qs.iterator(chunk_size=500))
    return csv_response(rows, filename="opportunities.csv")


@login_required
@require_GET
def opportunity_detail(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    try:
        return detail_response(request, opportunity_id, editing=request.GET.get("edit", ""))
    except Http404:
        # An archived deal is hidden from everyone; an admin may still read it (and restore it).
        archived = archived_opportunity_list(user=request.user).filter(pk=opportunity_id).first()
        if archived is None:
            raise
    return render(request, "pipeline/archived_detail.html", {"nav": "table", "opp": archived})


def detail_response(
    request: HttpRequest,
    opportunity_id: int,
    *,
    editing: str = "",
    facts: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    """The deal page; ``editing`` opens one inline editor (``?edit=next_step`` from a signal's
    link), ``facts`` replaces the facts block's context (an editor with errors)."""
    try:
        page = presentation.opportunity_page(user=request.user, opportunity_id=opportunity_id)
        pmap = process_map(user=request.user, opportunity_id=opportunity_id)
    except NotFound:
        raise Http404("No such opportunity") from None
    context = {
        "nav": "table",
        "page": page,
        "opp": page.opp,
        "move_form": MoveForm(),
        "map": pmap,
        **(
            facts or facts_context(user=request.user, opp=page.opp, editing=editing, card=page.card)
        ),
        # The people and activity sections (milepost.deals.accounts), rendered in place.
        **people_context(
            request.user,
            page.opp,
            roles=page.contacts,
            activities=page.activities,
            focus_add=request.GET.get("add") == "contact",
        ),
    }
    return render(request, "pipeline/detail.html", context, status=status)


def _safe_next(request: HttpRequest, candidate: str, fallback: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


@login_required
@require_POST
def opportunity_move(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """Move a deal to another stage. HTMX gets the re-rendered card (or 409 / 422 text);
    a plain form gets a message and a redirect back to where it came from."""
    form = MoveForm(request.POST)
    detail_url = reverse("pipeline:detail", args=[opportunity_id])
    back = _safe_next(request, request.POST.get("next", ""), detail_url)
    is_htmx = is_partial(request)

    def fail(status: int, text: str, gate: str = "") -> HttpResponse:
        if is_htmx:
            response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
            if gate:  # tells the board whether a justification would let the move through
                response["X-Milepost-Gate"] = gate
            return response
        messages.error(request, text)
        return HttpResponseRedirect(back)

    if not form.is_valid():
        return fail(422, "Choose a stage to move the deal to.")
    data = form.cleaned_data
    try:
        result = opportunity_move_stage(
            user=request.user,
            opportunity_id=opportunity_id,
            to_stage_key=data["to_stage"],
            expected_version=data["version"],
            note=data["note"],
            lost_reason=data["lost_reason"],
            justification=data["justification"],
        )
    except NotFound:
        raise Http404("No such opportunity") from None
    except VersionConflict:
        return fail(
            409,
            "Someone changed this deal since you loaded it, so nothing was moved. "
            "Reload the page and try again.",
        )
    except GateBlocked as exc:
        gate = "justification" if exc.field == "justification" else "blocked"
        return fail(422, f"The deal was not moved: {exc}.", gate)
    except InvalidChange as exc:
        return fail(422, f"The deal was not moved: {exc}.")
    opp = result.opportunity
    if is_htmx:
        card = presentation.board_card_for(user=request.user, opportunity_id=opp.pk)
        attach_control(user=request.user, cards=[card])
        return render(request, "pipeline/partials/card.html", {"card": card})
    messages.success(
        request,
        gettext("Moved “%(deal)s” to %(stage)s.") % {"deal": opp.name, "stage": opp.stage.label},
    )
    return HttpResponseRedirect(back)


@login_required
@require_GET
def gate_preview(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """What the stage gate says about moving a deal to ``to_stage``, before anything moves: the
    board's move dialog shows it (unmet criteria, warn or block) and asks for a justification
    only when the gate wants one. Reads only; the move itself checks the gate again."""
    form = GateCheckForm(request.GET)
    if not form.is_valid():
        _, message = first_error(form)
        return HttpResponse(message, status=422, content_type="text/plain; charset=utf-8")
    try:
        opp = opportunity_get(user=request.user, opportunity_id=opportunity_id)
    except NotFound:
        raise Http404("No such opportunity") from None
    stages = version_stages(version_id=opp.stage.version_id)
    target = next((s for s in stages if s.key == form.cleaned_data["to_stage"]), None)
    if target is None:
        return HttpResponse(
            "Move to stage: not a stage of this deal's process.",
            status=422,
            content_type="text/plain; charset=utf-8",
        )
    if target.pk == opp.stage_id:
        return HttpResponse(
            f"Move to stage: the deal is already in {target.label}.",
            status=422,
            content_type="text/plain; charset=utf-8",
        )
    result = gate_check(user=request.user, opportunity=opp, target=target, at=timezone.now())
    if target.kind == StageKind.LOST:
        outcome = "lost"
    elif result.forward and result.unmet and result.policy == "block":
        outcome = "blocked"
    elif result.forward and result.unmet and result.policy == "warn":
        outcome = "justification"
    else:
        outcome = "clear"
    return render(
        request,
        "pipeline/partials/gate_preview.html",
        {"opp": opp, "target": target, "result": result, "outcome": outcome},
    )
