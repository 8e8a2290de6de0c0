"""Forms of the account pages and the deal page's people and activity sections.

Each is a :class:`~milepost.core.schema_forms.SchemaForm` over the schema the API validates the
same input with; the fields only parse and render (no length or choice rules of their own).
"""

from __future__ import annotations

from typing import Any

from django import forms

from milepost.accounts.validation import AccountEditIn, AccountIn, ContactEditIn, ContactFields
from milepost.core.schema_forms import IdListField, SchemaForm
from milepost.pipeline.activity_validation import (
    ActivityEditIn,
    ActivityIn,
    OpportunityContactEditIn,
    OpportunityContactIn,
    OpportunityNewContactIn,
)
from milepost.pipeline.choices import ActivityType, BuyingRole


def _text(label: str, *, required: bool = False, **attrs: Any) -> forms.CharField:
    widget_attrs = {"required": True} if required else {}
    widget_attrs.update(attrs)
    return forms.CharField(label=label, required=False, widget=forms.TextInput(attrs=widget_attrs))


def _int(label: str, widget: forms.Widget | None = None) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=False, widget=widget)


def _select(label: str, choices: Any, *, blank: str | None = None) -> forms.CharField:
    options = ([("", blank)] if blank is not None else []) + list(choices)
    return forms.CharField(label=label, required=False, widget=forms.Select(choices=options))


class AccountForm(SchemaForm):
    schema = AccountIn

    name = _text("Name", required=True)
    sector = _text("Sector")
    headquarters = _text("Headquarters")
    year_established = _int("Year established")
    employees = _int("Employees")
    annual_revenue_musd = forms.DecimalField(label="Annual revenue (million USD)", required=False)
    owner_id = _int("Owner", forms.Select())
    parent_id = _int("Parent account", forms.Select())

    def __init__(self, *args: Any, owners: Any = (), parents: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_id"].widget.choices = [("", "Me")] + [(u.pk, str(u)) for u in owners]
        self.fields["parent_id"].widget.choices = [("", "None")] + [(a.pk, a.name) for a in parents]


class AccountEditForm(AccountForm):
    schema = AccountEditIn

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_id"].widget.choices[0] = ("", "Keep the current owner")


class ArchiveForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    archived = forms.BooleanField(required=False, widget=forms.HiddenInput)


class ContactForm(SchemaForm):
    schema = ContactFields

    first_name = _text("First name", required=True, autocomplete="off")
    last_name = _text("Last name", required=True, autocomplete="off")
    title = _text("Title")
    email = forms.CharField(
        label="E-mail", required=False, widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    phone = _text("Phone")


class ContactEditForm(ContactForm):
    schema = ContactEditIn

    version = forms.IntegerField(widget=forms.HiddenInput)


ROLE_CHOICES = list(BuyingRole.choices)


class RoleAddForm(SchemaForm):
    """An existing contact of the deal's account, in a role."""

    schema = OpportunityContactIn

    contact_id = _int("Contact", forms.Select())
    buying_role = _select("Buying role", ROLE_CHOICES)
    notes = _text("Notes")

    def __init__(self, *args: Any, contacts: Any = (), **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "role")
        super().__init__(*args, **kwargs)
        self.fields["contact_id"].widget.choices = [
            (c.pk, f"{c.full_name}{' — ' + c.title if c.title else ''}") for c in contacts
        ]


class RoleCreateForm(ContactForm):
    """A new contact of the deal's account, given a role in the same step."""

    schema = OpportunityNewContactIn

    buying_role = _select("Buying role", ROLE_CHOICES)
    notes = _text("Notes")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "new")
        super().__init__(*args, **kwargs)


class RoleEditForm(SchemaForm):
    schema = OpportunityContactEditIn

    buying_role = _select("Buying role", ROLE_CHOICES)
    notes = _text("Notes")
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ActivityForm(SchemaForm):
    """Log (or edit) an activity on a deal; ``contacts`` are the deal account's people."""

    schema = ActivityIn
    aliases = {"contact_id": "contact_ids"}

    type = _select("Type", ActivityType.choices)
    occurred_at = forms.DateTimeField(
        label="When (empty: now)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    subject = _text("Subject", required=True)
    outcome = forms.CharField(
        label="Notes / outcome", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    contact_ids = IdListField(label="Who took part", required=False)

    def __init__(self, *args: Any, contacts: Any = (), **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "activity")
        super().__init__(*args, **kwargs)
        self.fields["contact_ids"].widget.choices = [(c.pk, c.full_name) for c in contacts]


class AccountActivityForm(ActivityForm):
    """Log an activity from the account page: the deal it belongs to is chosen too."""

    opportunity_id = _int("Deal", forms.Select())
    field_order = ["opportunity_id"]

    def __init__(self, *args: Any, deals: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["opportunity_id"].widget.choices = [(d.pk, d.name) for d in deals]
        self.fields["opportunity_id"].required = True
        self.order_fields(["opportunity_id", "type", "occurred_at", "subject"])


class ActivityEditForm(ActivityForm):
    """Edit an activity: the fields of :class:`ActivityForm` and the version read."""

    schema = ActivityEditIn

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
