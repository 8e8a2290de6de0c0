"""The versioned REST API (django-ninja). OpenAPI document at /api/v1/openapi.json.

Each app contributes a router from its ``api.py``; authentication accepts a signed-in session
(with CSRF) or a personal token (``Authorization: Bearer mp_...``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.middleware.gzip import GZipMiddleware
from ninja import NinjaAPI, Swagger
from ninja.openapi.schema import OpenAPISchema

from milepost.analytics.api import router as analytics_router
from milepost.coaching.api import router as coaching_router
from milepost.core.api_errors import install_error_handlers
from milepost.core.schemas import ErrorOut, InvalidOut
from milepost.deals.api import router as deals_router
from milepost.designer.api import router as designer_router
from milepost.evidence.api import router as evidence_router
from milepost.inspection.api import router as inspection_router
from milepost.inspection.snoozes.api import router as snooze_router
from milepost.methodology.api import router as methodology_router
from milepost.playbooks.api import router as playbooks_router
from milepost.process.api import router as process_router
from milepost.team.api import router as team_router
from milepost.team.api_auth import api_auth


def compress_json(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Gzip the OpenAPI document (about 170 kB of JSON, 20 kB compressed) for clients that
    accept it. The docs page itself is left alone: it carries the CSRF token (BREACH)."""
    gzip = GZipMiddleware(view)

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.get("Content-Type", "").startswith("application/json"):
            return gzip.process_response(request, response)
        return response

    return wrapped


class MilepostAPI(NinjaAPI):
    """The API, with its OpenAPI document built once per process.

    django-ninja rebuilds the document (about 150 kB, every router's schemas) on each request
    for ``openapi.json``, which the docs page waits for; the routes do not change once the URL
    configuration is loaded, so the first build is kept. Callers read it; none may change it.
    """

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        key = (path_prefix, tuple(sorted((path_params or {}).items())))
        cache: dict[Any, OpenAPISchema] = self.__dict__.setdefault("_openapi_cache", {})
        if key not in cache:
            document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
            document_common_answers(document)
            cache[key] = document
        return cache[key]


def _answer(description: str, component: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{component}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}


def document_common_answers(document: OpenAPISchema) -> None:
    """Add the answers any operation of a kind can give, where its router did not list them.

    Routers document what their handlers decide (``core.schemas.ERRORS``, 403 for a role, 409
    for a stale version); these come from the layers around every handler, so they are written
    once here and Schemathesis (``testing/tests/test_schemathesis.py``) holds the document to
    them:

    - 401: no, expired or revoked credentials (every operation needs a session or a token);
    - 403: an unsafe method with a session but no valid CSRF token (the token path needs none);
    - 400: a body that is not JSON; 413: a body over the size limit (``web/middleware.py``);
    - 404: a path parameter naming no row the caller may see;
    - 422: a parameter or body that fails its schema (``core.schemas.InvalidOut``).
    """
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorOut", ErrorOut.model_json_schema())
    schemas.setdefault("InvalidOut", InvalidOut.model_json_schema(ref_template=_REF))
    for name, schema in InvalidOut.model_json_schema(ref_template=_REF).get("$defs", {}).items():
        schemas.setdefault(name, schema)
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            answers = operation.setdefault("responses", {})
            params = operation.get("parameters", [])
            has_body = "requestBody" in operation
            common = {401: ("Not signed in, or the token is expired or revoked", "ErrorOut")}
            if method.upper() not in ("GET", "HEAD", "OPTIONS"):
                common[403] = ("A session without a valid CSRF token", "ErrorOut")
            if has_body:
                common[400] = ("The body is not JSON", "ErrorOut")
                common[413] = ("The body is over the size limit", "ErrorOut")
            if any(p.get("in") == "path" for p in params):
                common[404] = ("Not found, or not visible to the caller", "ErrorOut")
            if params or has_body:
                common[422] = ("The input fails its schema, or the change is refused", "InvalidOut")
            for status, (description, component) in common.items():
                if status not in answers and str(status) not in answers:
                    answers[status] = _answer(description, component)


_REF = "#/components/schemas/{model}"


api = MilepostAPI(
    title="Milepost API",
    version="1",
    description="Opportunities, stage moves, accounts, contacts, activities and sales processes. "
    "Every endpoint applies the same row-level rules as the web pages.",
    auth=api_auth(),
    urls_namespace="api-1",
    docs=Swagger(
        settings={
            # Nothing from the internet (the validator badge calls validator.swagger.io), and
            # operations collapsed: rendering the whole spec expanded is what took seconds.
            "validatorUrl": None,
            "docExpansion": "none",
            "defaultModelsExpandDepth": -1,
            "deepLinking": True,
            "layout": "BaseLayout",
            # Less work per render: no highlighter over example bodies (they are plain JSON),
            # and a filter box to find an operation by tag instead of expanding them all.
            "syntaxHighlight": {"activated": False},
            "filter": True,
        }
    ),
    docs_decorator=compress_json,
)
# Our page around Swagger UI: vendored assets (static/vendor/swagger-ui), no inline script.
api.docs.template = "web/api_docs.html"  # type: ignore[attr-defined]
install_error_handlers(api)
api.add_router("", deals_router)
api.add_router("", evidence_router)
api.add_router("", team_router)
api.add_router("", inspection_router)
api.add_router("", snooze_router)
api.add_router("", methodology_router)
api.add_router("", coaching_router)
api.add_router("", analytics_router)

api.add_router("/", process_router)
api.add_router("/", designer_router)
api.add_router("/", playbooks_router)
