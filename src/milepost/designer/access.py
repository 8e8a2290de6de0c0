"""Who may use the process designer: sales-ops admins only.

``User.is_admin`` is the sales-ops role or a superuser. Everyone else gets
:class:`PermissionDenied` whatever the draft id, so the existence of a draft is not revealed.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied


def can_design(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_admin", False))


def require_designer(user: Any) -> None:
    """Raise PermissionDenied unless ``user`` may design processes."""
    if not can_design(user):
        raise PermissionDenied("only sales-ops admins design processes")
