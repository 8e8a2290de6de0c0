from django.contrib import admin

from milepost.core.admin import ReadOnlyAdmin
from milepost.evidence.models import Evidence, EvidenceEvent


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    list_display = ("opportunity", "criterion_key", "state", "level", "updated_at")
    list_filter = ("state", "level")


@admin.register(EvidenceEvent)
class EvidenceEventAdmin(ReadOnlyAdmin):
    list_display = ("opportunity", "criterion_key", "action", "actor", "at")
    list_filter = ("action",)
