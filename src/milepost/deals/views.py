"""Deal pages: the board, the opportunity table, the opportunity page and the move endpoint.

Views parse input, call selectors / services and render. An HTMX request gets the partial it
asked for and a plain request the full page (same view, NetBox style). Errors from services map
to HTTP: NotFound → 404, VersionConflict → 409, InvalidChange → 422 (HTMX) or a message and a
redirect (plain forms, so the page works without JavaScript).
"""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.core.htmx import is_partial
from milepost.deals.forms import MoveForm, PipelineFilterForm, TableFilterForm
from milepost.deals.process_map import process_map
from milepost.deals.tables import OpportunityTable
from milepost.inspection.gates import GateBlocked
from milepost.inspection.moves import opportunity_move_stage
from milepost.inspection.pipeline import control_by_deal
from milepost.pipeline import presentation
from milepost.pipeline.selectors import opportunity_list
from milepost.process.selectors import current_version, process_list, version_stages
from milepost.team.selectors import user_list

DEFAULT_PROCESS = "new_business"
TABLE_PAGE_SIZE = 50


def _process_choices() -> list[tuple[str, str]]:
    return [(p.key, p.name) for p in process_list()]


def _stages_for(process_key: str) -> tuple[object | None, list]:
    version = current_version(process_key=process_key)
    return version, (version_stages(version_id=version.pk) if version else [])


@login_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    processes = _process_choices()
    default = DEFAULT_PROCESS if any(k == DEFAULT_PROCESS for k, _ in processes) else ""
    default = default or (processes[0][0] if processes else DEFAULT_PROCESS)
    form = PipelineFilterForm(
        request.GET, users=user_list(user=request.user), process_choices=processes
    )
    process_key = form.process_key(default)
    version, stages = _stages_for(process_key)
    filters = form.to_filters(process_key=process_key)
    columns, closed = presentation.board_columns(user=request.user, filters=filters, stages=stages)
    table_query = request.GET.copy()
    table_query.pop("process", None)
    table_query["status"] = "open"
    context = {
        "nav": "board",
        "form": form,
        "version": version,
        "process_key": process_key,
        "columns": columns,
        "closed_stages": closed,
        "filters_invalid": filters is None,
        "next_url": request.get_full_path(),
        "table_query": table_query,
        "per_column": presentation.CARDS_PER_COLUMN,
    }
    if is_partial(request):
        return render(request, "pipeline/partials/board_columns.html", context)
    return render(request, "pipeline/board.html", context)


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


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_response(qs) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    rows = presentation.csv_rows(qs.iterator(chunk_size=500))
    response = StreamingHttpResponse(
        (writer.writerow(r) for r in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="opportunities.csv"'
    return response


@login_required
@require_GET
def opportunity_detail(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    try:
        page = presentation.opportunity_page(user=request.user, opportunity_id=opportunity_id)
        pmap = process_map(user=request.user, opportunity_id=opportunity_id)
    except NotFound:
        raise Http404("No such opportunity") from None
    return render(
        request,
        "pipeline/detail.html",
        {"nav": "table", "page": page, "opp": page.opp, "move_form": MoveForm(), "map": pmap},
    )


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
        stages = version_stages(version_id=opp.stage.version_id)
        return render(
            request,
            "pipeline/partials/card.html",
            {"card": presentation.card_for(opp, stages), "next_url": back},
        )
    messages.success(
        request,
        gettext("Moved “%(deal)s” to %(stage)s.") % {"deal": opp.name, "stage": opp.stage.label},
    )
    return HttpResponseRedirect(back)
