"""Model permissions follow the Milepost role, so nobody has to hand out Django permissions.

Sales-ops admins hold every model permission (the admin site works for them); other roles hold
none there: what they may do is decided per row by selectors and services, not by the admin.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend

from milepost.team.models import Role


class RoleBackend(BaseBackend):
    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return bool(
            user_obj.is_active
            and user_obj.is_staff
            and getattr(user_obj, "role", None) == Role.ADMIN
        )

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return self.has_perm(user_obj, f"{app_label}.*")
