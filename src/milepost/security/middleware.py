"""Session timeouts, the per-role two-factor requirement, and logging every 403."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from milepost.security.models import EventKind
from milepost.security.services import security_event_record
from milepost.security.sessions import SESSION_SEEN, SESSION_STARTED
from milepost.security.two_factor import confirmed_device

# How stale the "last seen" stamp may get before it is rewritten: the session is saved at most
# once a minute for an active user instead of on every request.
SEEN_RESOLUTION_SECONDS = 60

Handler = Callable[[HttpRequest], HttpResponse]


def expiry_reason(started: int, seen: int, now: int) -> str:
    """Why a session stamped ``started``/``seen`` is over at ``now`` ("" while it is alive)."""
    if now - started > settings.MILEPOST_SESSION_ABSOLUTE_HOURS * 3600:
        return f"more than {settings.MILEPOST_SESSION_ABSOLUTE_HOURS} h since sign-in"
    if now - seen > settings.MILEPOST_SESSION_IDLE_MINUTES * 60:
        return f"idle for more than {settings.MILEPOST_SESSION_IDLE_MINUTES} min"
    return ""


class SessionTimeoutMiddleware:
    """Signs a browser session out after an idle time and after an absolute time.

    Django's own ``SESSION_COOKIE_AGE`` is one sliding or fixed limit, not both, and it expires
    the cookie without a trace; this one records ``session_expired`` and the request carries on
    as anonymous (pages redirect to sign-in, the API answers 401).
    """

    def __init__(self, get_response: Handler):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            self._check(request)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        session = request.session
        now = int(timezone.now().timestamp())
        started = session.get(SESSION_STARTED)
        seen = session.get(SESSION_SEEN)
        if started is None or seen is None:
            # A session from before this middleware: its clock starts now.
            session[SESSION_STARTED] = started if started is not None else now
            session[SESSION_SEEN] = now
            return
        reason = expiry_reason(int(started), int(seen), now)
        if reason:
            user = request.user
            request.milepost_session_expired = True  # type: ignore[attr-defined]
            logout(request)
            security_event_record(
                kind=EventKind.SESSION_EXPIRED, user=user, request=request, detail=reason
            )
        elif now - int(seen) >= SEEN_RESOLUTION_SECONDS:
            session[SESSION_SEEN] = now


class TwoFactorRequiredMiddleware:
    """Sends users whose role is in ``MILEPOST_OTP_REQUIRED_ROLES`` to enrol before anything
    else, or, when they have enrolled but this session gave no code, back to sign-in. Empty
    by default: two-factor is optional."""

    def __init__(self, get_response: Handler):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        roles = settings.MILEPOST_OTP_REQUIRED_ROLES
        if (
            roles
            and user is not None
            and user.is_authenticated
            and getattr(user, "role", None) in roles
            and not user.is_verified()
            and not self._exempt(request.path)
        ):
            if confirmed_device(user) is not None:
                # Enrolled, but this session never gave a code (signed in before the rule,
                # or another way): sign in again, through the code step.
                logout(request)
                return redirect_to_login(request.get_full_path())
            return redirect("security:two_factor")
        return self.get_response(request)

    @staticmethod
    def _exempt(path: str) -> bool:
        allowed = (reverse("security:two_factor"), reverse("logout"), "/" + settings.STATIC_URL)
        return path.startswith(allowed) or path.startswith("/api/")


class PermissionDeniedLogMiddleware:
    """Records every 403 answer (pages, the API, CSRF failures) in the security log."""

    def __init__(self, get_response: Handler):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 403:
            security_event_record(
                kind=EventKind.PERMISSION_DENIED,
                user=getattr(request, "user", None),
                request=request,
                detail="403 Forbidden",
            )
        return response
