"""Admin for sales-ops. Stages change through services, so stage and transitions are read-only."""

from django.contrib import admin

from milepost.core.admin import KeepsHistoryAdmin, ReadOnlyAdmin
from milepost.pipeline.models import Activity, Lead, Opportunity, Product, StageTransition


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "series", "list_price", "currency")


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("company", "owner", "source", "status", "created_at")
    list_filter = ("status", "source")
    raw_id_fields = ("owner",)


@admin.register(Opportunity)
class OpportunityAdmin(KeepsHistoryAdmin):
    list_display = ("name", "account", "owner", "stage", "amount", "close_date", "version")
    list_filter = ("stage__kind", "forecast_category")
    search_fields = ("name", "external_id", "account__name")
    raw_id_fields = ("account", "owner", "lead", "product", "probability_set_by")
    readonly_fields = ("stage", "stage_entered_at", "version", "created_at", "updated_at")


@admin.register(StageTransition)
class StageTransitionAdmin(ReadOnlyAdmin):
    list_display = ("opportunity", "from_stage", "to_stage", "moved_at", "moved_by", "source")
    list_filter = ("source",)
    raw_id_fields = ("opportunity",)


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ("subject", "type", "opportunity", "owner", "occurred_at")
    list_filter = ("type",)
    raw_id_fields = ("opportunity", "owner", "contacts")
