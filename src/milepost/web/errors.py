"""Error pages: the styled 403/404/500 pages, or a small fragment for an HTMX request.

Django's own handlers render ``403.html`` / ``404.html`` / ``500.html`` as whole pages; an HTMX
request that swaps a part of a page would then get a whole page pasted into, say, a table row.
These handlers answer such a request with the message alone (``errors/_<code>.html``). The
500 handler renders without a request context and touches no database: the failure may be
the database.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
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


def server_error(request: HttpRequest) -> HttpResponse:
    """500 rendered from the template alone: no context processors, no database."""
    template = "errors/_500.html" if is_partial(request) else "500.html"
    return HttpResponseServerError(loader.render_to_string(template))
