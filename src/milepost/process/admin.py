"""Processes are changed by loading a new version (CLI or designer), so the admin only reads."""

from django.contrib import admin

from milepost.core.admin import ReadOnlyAdmin
from milepost.process.models import ExitCriterion, ProcessVersion, SalesProcess, Stage


@admin.register(SalesProcess)
class SalesProcessAdmin(ReadOnlyAdmin):
    list_display = ("key", "name", "created_at")


@admin.register(ProcessVersion)
class ProcessVersionAdmin(ReadOnlyAdmin):
    list_display = ("process", "number", "is_current", "loaded_at", "loaded_by", "source_name")
    list_filter = ("process", "is_current")


@admin.register(Stage)
class StageAdmin(ReadOnlyAdmin):
    list_display = ("label", "key", "version", "position", "kind", "buyer_phase")
    list_filter = ("version__process", "kind")


@admin.register(ExitCriterion)
class ExitCriterionAdmin(ReadOnlyAdmin):
    list_display = ("key", "statement", "verifier", "stage")
    list_filter = ("verifier", "stage__version__process")
