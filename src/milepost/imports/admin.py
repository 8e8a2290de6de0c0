from django.contrib import admin

from milepost.imports.models import ImportIssue, ImportRun


class ImportIssueInline(admin.TabularInline):
    model = ImportIssue
    extra = 0
    can_delete = False
    readonly_fields = ("file", "row_number", "field", "severity", "message", "value")


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = (
        "kind",
        "started_at",
        "rows_read",
        "rows_created",
        "rows_updated",
        "rows_rejected",
    )
    readonly_fields = [f.name for f in ImportRun._meta.fields]
    inlines = [ImportIssueInline]
