"""Pages for a user's own settings: personal API tokens."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from milepost.core.errors import InvalidChange, NotFound
from milepost.team.models import ApiToken
from milepost.team.services import api_token_create, api_token_revoke

# Lifetimes offered on the page (the API accepts any number of days up to the maximum).
LIFETIMES = (7, 30, 90, 180, 365)


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    issued = None
    error = error_field = ""
    if request.method == "POST":
        try:
            issued = api_token_create(
                user=request.user,
                name=request.POST.get("name", ""),
                expires_in_days=request.POST.get("expires_in_days"),
                request=request,
            )
        except InvalidChange as exc:
            error, error_field = str(exc), exc.field
    rows = ApiToken.objects.filter(user=request.user)
    return render(
        request,
        "team/tokens.html",
        {
            "tokens": rows,
            "issued": issued,
            "error": error,
            "error_field": error_field,
            "nav": "tokens",
            "lifetimes": LIFETIMES,
            "default_days": settings.MILEPOST_API_TOKEN_DEFAULT_DAYS,
        },
        status=400 if error else 200,
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = api_token_revoke(user=request.user, token_id=token_id, request=request)
    except NotFound:
        raise Http404("token not found") from None
    messages.success(request, gettext("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("team:tokens")
