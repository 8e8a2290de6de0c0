"""Admin building blocks shared by the apps."""

from django.contrib import admin
from django.contrib.admin.utils import NestedObjects
from django.db import router
from django.utils.text import capfirst

from milepost.core.models import AppendOnly


class ReadOnlyAdmin(admin.ModelAdmin):
    """For rows that change only through services (process versions, stage transitions)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class KeepsHistoryAdmin(admin.ModelAdmin):
    """For rows whose deletion would cascade to append-only history (a deal's stage
    transitions, a rep's skill ratings): the database refuses that delete, so the admin lists
    the history rows as protected and deletes nothing, instead of failing with a server error.
    """

    def get_deleted_objects(self, objs, request):
        to_delete, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        collector = NestedObjects(using=router.db_for_write(self.model))
        collector.collect(objs)
        history = [
            f"{capfirst(model._meta.verbose_name)}: {row}"
            for model, rows in collector.model_objs.items()
            if issubclass(model, AppendOnly)
            for row in rows
        ]
        return to_delete, counts, perms_needed, [*protected, *history]
