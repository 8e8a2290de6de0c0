"""The one validation of account and contact input, used by the API and by the pages' forms.

Bounds follow the columns (:mod:`milepost.accounts.models`): text longer than its column is
refused, never truncated; NUL bytes and lone surrogates are refused; e-mail addresses are
checked with Django's validator (the one ``EmailField`` uses). Visibility (a parent account or
owner the user may see) needs the database and stays in the services.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from milepost.core.bounded import Text
from milepost.core.schemas import RowId, StrictInput

# Revenue column: 14 digits, 2 after the point.
REVENUE_MAX = Decimal("999999999999.99")
YEAR_MIN, YEAR_MAX = 1000, 2100
EMPLOYEES_MAX = 2_147_483_647


def _email(value: str) -> str:
    if value:
        try:
            validate_email(value)
        except DjangoValidationError:
            raise PydanticCustomError("email", gettext("is not an e-mail address")) from None
    return value


Email = Annotated[Text(254), AfterValidator(_email)]
AccountName = Text(200, required=True)
Sector = Text(64)
Headquarters = Text(100)
PersonName = Text(80, required=True)
JobTitle = Text(120)
Phone = Text(40)


class AccountFields(StrictInput):
    """What a person types about an account (create and edit)."""

    name: AccountName
    sector: Sector = ""
    year_established: int | None = Field(None, ge=YEAR_MIN, le=YEAR_MAX)
    annual_revenue_musd: Decimal | None = Field(
        None, ge=0, le=REVENUE_MAX, description="Million USD"
    )
    employees: int | None = Field(None, ge=0, le=EMPLOYEES_MAX)
    headquarters: Headquarters = ""
    parent_id: RowId | None = None
    owner_id: RowId | None = Field(None, description="Default: yourself")


class AccountIn(AccountFields):
    """A new account (``POST /accounts``)."""


class AccountEditIn(AccountFields):
    """An account's fields as edited; ``version`` is the one read (stale → 409)."""

    version: int = Field(..., ge=1)


class ContactFields(StrictInput):
    """What a person types about a contact (create and edit)."""

    first_name: PersonName
    last_name: PersonName
    title: JobTitle = ""
    email: Email = ""
    phone: Phone = ""


class ContactIn(ContactFields):
    """A new contact on an account (``POST /contacts``)."""

    account_id: RowId


class ContactEditIn(ContactFields):
    """A contact's fields as edited; ``version`` is the one read (stale → 409)."""

    version: int = Field(..., ge=1)
