"""Error pages: the styled 403/404/500/503 pages, or a small fragment for an HTMX request.

Django's own handlers render ``403.html`` / ``404.html`` / ``500.html`` as whole pages; an HTMX
request that swaps a part of a page would then get a whole page pasted into, say, a table row.
These handlers answer such a request with the message alone (``errors/_<code>.html``). The
500 handler renders without a request context and touches no database: the failure may be
the database.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.views import defaults

from milepost.core.htmx import is_partial


def _fragment(request: HttpRequest, code: int) -> HttpResponse:
    body = loader.render_to_string(f"errors/_{code}.html")
    return HttpResponse(body, status=code)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """403 for someone signed in whose role does not reach the page."""
    if is_partial(request):
        return _fragment(request, 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 that never lists the URL patterns (that is the debug page, DEBUG only)."""
    if is_partial(request):
        return _fragment(request, 404)
    return defaults.page_not_found(request, exception)


# How long a client should wait before trying again when the database is out of reach.
RETRY_AFTER_SECONDS = 30


def server_error(request: HttpRequest) -> HttpResponse:
    """500 rendered from the template alone: no context processors, no database.

    Called while the exception is being handled: one that says the database cannot be reached
    or answered with a transient failure (``OperationalError``, ``InterfaceError``: refused or
    lost connection, a lock or statement timeout) is a 503 with ``Retry-After`` instead, as
    JSON for the API, so a client knows to retry rather than report a bug."""
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return _unavailable(request)
    template = "errors/_500.html" if is_partial(request) else "500.html"
    return HttpResponseServerError(loader.render_to_string(template))


def _unavailable(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"detail": "The database cannot be reached right now; try again shortly."},
            status=503,
        )
    else:
        template = "errors/_503.html" if is_partial(request) else "503.html"
        response = HttpResponse(loader.render_to_string(template), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
