from django.contrib import admin

from milepost.accounts.models import Account, Contact


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "sector", "headquarters", "employees", "owner")
    list_filter = ("sector",)
    search_fields = ("name",)
    raw_id_fields = ("parent", "owner")


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("last_name", "first_name", "title", "account", "email")
    search_fields = ("last_name", "first_name", "email", "account__name")
    raw_id_fields = ("account",)
