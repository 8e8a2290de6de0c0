"""Signal receivers that feed the security event log from Django, django-axes and the admin.

Signals here, not calls in views, because sign-in happens in several places (the login page,
the admin's, the test client) and passwords change in several ways (change, reset, the
``changepassword`` command); one receiver sees them all.
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from milepost.security.models import EventKind
from milepost.security.services import security_event_record
from milepost.security.sessions import SESSION_SEEN, SESSION_STARTED

_ADMIN_VERBS = {ADDITION: "added", CHANGE: "changed", DELETION: "deleted"}


@receiver(user_logged_in, dispatch_uid="security_login")
def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        now = int(timezone.now().timestamp())
        request.session[SESSION_STARTED] = now
        request.session[SESSION_SEEN] = now
    security_event_record(kind=EventKind.LOGIN, user=user, request=request)


@receiver(user_logged_out, dispatch_uid="security_logout")
def _logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    # A session ended by a timeout is recorded as ``session_expired`` by the middleware.
    if user is not None and not getattr(request, "milepost_session_expired", False):
        security_event_record(kind=EventKind.LOGOUT, user=user, request=request)


@receiver(user_login_failed, dispatch_uid="security_login_failed")
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get(get_user_model().USERNAME_FIELD) or "")[:150]
    user = get_user_model().objects.filter(username=username).first() if username else None
    locked = bool(getattr(request, "axes_locked_out", False))
    security_event_record(
        kind=EventKind.LOGIN_FAILED,
        user=user,
        username=username,
        request=request,
        detail="refused: locked out" if locked else "wrong username or password",
    )


@receiver(user_locked_out, dispatch_uid="security_locked_out")
def _locked_out(
    sender: Any, request: HttpRequest | None, username: str | None, **kwargs: Any
) -> None:
    username = (username or "")[:150]
    user = get_user_model().objects.filter(username=username).first() if username else None
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    security_event_record(
        kind=EventKind.LOCKED_OUT,
        user=user,
        username=username,
        request=request,
        detail=f"{settings.AXES_FAILURE_LIMIT} failures: locked for {minutes} min",
    )


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="security_password")
def _password_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    # ``set_password`` keeps the raw password on the instance until ``save()`` has notified
    # the validators; a rehash on sign-in clears it first, so it is not counted as a change.
    if not created and getattr(instance, "_password", None) is not None:
        security_event_record(kind=EventKind.PASSWORD_CHANGED, user=instance)


@receiver(post_save, sender=LogEntry, dispatch_uid="security_admin_action")
def _admin_action(sender: Any, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    if not created:
        return
    what = instance.content_type.model if instance.content_type_id else "object"
    app = instance.content_type.app_label if instance.content_type_id else ""
    verb = _ADMIN_VERBS.get(instance.action_flag, "acted on")
    message = instance.get_change_message()
    security_event_record(
        kind=EventKind.ADMIN_ACTION,
        user=instance.user,
        detail=f"{verb} {app}.{what} {instance.object_id}: {instance.object_repr}"
        + (f" ({message})" if message else ""),
    )
