from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from milepost.core.admin import KeepsHistoryAdmin
from milepost.team.models import ApiToken, User


@admin.register(User)
class MilepostUserAdmin(KeepsHistoryAdmin, UserAdmin):
    fieldsets = (
        *UserAdmin.fieldsets,
        ("Sales role", {"fields": ("role", "manager", "region", "title")}),
    )
    list_display = ("username", "first_name", "last_name", "role", "manager", "region", "is_active")
    list_filter = ("role", "region", "is_active")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "key_prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("digest", "key_prefix")
