"""Request-scoped helpers for the team app."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from milepost.team.selectors import request_visibility_cache


class VisibilityCacheMiddleware:
    """Looks up each manager's team once per request instead of once per scoped read."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_visibility_cache():
            return self.get_response(request)
