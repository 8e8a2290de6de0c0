"""Response headers and request limits that apply to every page and endpoint alike.

- :class:`RequestSizeLimitMiddleware`: a body past ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413
  (JSON for the API, the site's own page otherwise). Django raises ``RequestDataTooBig`` when a
  view reads such a body and answers 400, or a 500 where the API's parser caught it first.
- :class:`PrivateResponseMiddleware`: nothing a signed-in user, the API or an export returns is
  stored by a browser or a proxy (``Cache-Control: no-store``); and a ``Permissions-Policy`` that
  turns off the powerful features Milepost never uses.

The Content-Security-Policy itself comes from django-csp (``CONTENT_SECURITY_POLICY`` in
settings); docs/security.md explains every header.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

API_PREFIX = "/api/"
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class RequestSizeLimitMiddleware:
    """Refuse a request body larger than Django would read, before anything reads it.

    Django itself only measures a body by its declared ``Content-Length`` (a body without one
    is read as empty), so checking the header here refuses exactly what it would.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and _declared_length(request) > limit:
            return self.too_big(request, limit)
        return self.get_response(request)

    @staticmethod
    def too_big(request: HttpRequest, limit: int) -> HttpResponse:
        detail = f"the request body is larger than the limit of {limit:,} bytes"
        if request.path.startswith(API_PREFIX):
            return JsonResponse({"detail": detail, "field": ""}, status=413)
        return render(request, "web/413.html", {"limit": limit}, status=413)


class PrivateResponseMiddleware:
    """``no-store`` on what is private; a Permissions-Policy on everything."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if self.is_private(request, response):
            add_never_cache_headers(response)
        return response

    @staticmethod
    def is_private(request: HttpRequest, response: HttpResponse) -> bool:
        if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return False  # public, versioned assets: caching them is the point
        if request.path.startswith(API_PREFIX):
            return True
        if "attachment" in response.headers.get("Content-Disposition", ""):
            return True  # exports
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated)
