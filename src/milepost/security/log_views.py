"""The security log page and its CSV export (sales-ops admins)."""

from __future__ import annotations

from itertools import chain

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from milepost.core.exports import csv_response
from milepost.security.forms import EventFilterForm
from milepost.security.models import SecurityEvent
from milepost.security.selectors import security_event_list

PAGE_SIZE = 50
CSV_HEADER = ("at", "kind", "username", "user_id", "ip_address", "method", "path", "detail")


def _filtered(request: HttpRequest) -> tuple[EventFilterForm, QuerySet[SecurityEvent] | None]:
    form = EventFilterForm(request.GET)
    if not form.is_valid():
        # Checked first: a non-admin gets 403 whatever the filters say.
        security_event_list(user=request.user)
        return form, None
    data = form.cleaned_data
    rows = security_event_list(
        user=request.user,
        username=data["user"].strip(),
        kind=data["kind"],
        date_from=data["date_from"],
        date_to=data["date_to"],
    )
    return form, rows


@login_required
@require_GET
def events(request: HttpRequest) -> HttpResponse:
    form, rows = _filtered(request)
    page = None
    if rows is not None:
        page = Paginator(rows.select_related("user"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "security/events.html",
        {"form": form, "page": page, "query": query.urlencode(), "nav": "security"},
        status=200 if rows is not None else 400,
    )


@login_required
@require_GET
def events_csv(request: HttpRequest) -> HttpResponse:
    form, rows = _filtered(request)
    if rows is None:
        errors = "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in form.errors.items())
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    lines = (
        (
            e.at.isoformat(),
            e.kind,
            e.username,
            e.user_id or "",
            e.ip_address,
            e.method,
            e.path,
            e.detail,
        )
        for e in rows.iterator(chunk_size=2000)
    )
    return csv_response(chain([CSV_HEADER], lines), filename="security-events.csv")
