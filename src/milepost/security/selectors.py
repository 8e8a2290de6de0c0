"""Reads of the security log: sales-ops admins only, filtered and newest first."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from milepost.security.models import SecurityEvent


def security_event_list(
    *,
    user: Any,
    username: str = "",
    kind: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[SecurityEvent]:
    """Events matching the filters (dates inclusive, UTC). Only admins read the log: it shows
    every user's sign-ins and addresses."""
    if not (user.is_authenticated and user.is_active and getattr(user, "is_admin", False)):
        raise PermissionDenied("only sales-ops admins read the security log")
    qs = SecurityEvent.objects.all()
    if username:
        qs = qs.filter(username__iexact=username)
    if kind:
        qs = qs.filter(kind=kind)
    if date_from:
        qs = qs.filter(at__gte=_start_of(date_from))
    if date_to:
        qs = qs.filter(at__lt=_start_of(date_to + timedelta(days=1)))
    return qs.order_by("-at", "-id")


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)
