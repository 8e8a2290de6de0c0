"""How domain errors become HTTP answers in the API: the one place that maps them.

- :class:`NotFound` → 404, with the same body whether the row is missing or hidden.
- :class:`VersionConflict` → 409 with ``current_version`` so the client can reload.
- :class:`InvalidChange` → 422 ``{"detail": message, "field": name}``.
- Schema validation errors keep ninja's ``detail`` list (each with its ``loc``) and gain the
  same top-level ``field`` (the first offending field), so clients can always read ``field``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import ValidationError

from milepost.core.errors import InvalidChange, NotFound, VersionConflict

# Parts of a pydantic/ninja error location that are containers, not the field the client sent.
_LOC_CONTAINERS = frozenset({"body", "query", "path", "header", "cookie", "form", "payload"})


def field_of(errors: list[dict]) -> str:
    """The field named by the first error's location (``["body", "payload", "amount"]``)."""
    for error in errors:
        names = [p for p in error.get("loc", ()) if isinstance(p, str)]
        names = [p for p in names if p not in _LOC_CONTAINERS]
        if names:
            return names[0]
    return ""


def install_error_handlers(api: NinjaAPI) -> None:
    """Register the domain-error handlers on ``api`` (call once, where the API is built)."""

    def not_found(request: HttpRequest, exc: NotFound) -> HttpResponse:
        return api.create_response(request, {"detail": str(exc) or "not found"}, status=404)

    def conflict(request: HttpRequest, exc: VersionConflict) -> HttpResponse:
        body = {"detail": str(exc), "current_version": exc.current_version}
        return api.create_response(request, body, status=409)

    def invalid(request: HttpRequest, exc: InvalidChange) -> HttpResponse:
        return api.create_response(request, {"detail": str(exc), "field": exc.field}, status=422)

    def validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        body = {"detail": exc.errors, "field": field_of(list(exc.errors))}
        return api.create_response(request, body, status=422)

    api.add_exception_handler(NotFound, not_found)
    api.add_exception_handler(VersionConflict, conflict)
    api.add_exception_handler(InvalidChange, invalid)
    api.add_exception_handler(ValidationError, validation)
