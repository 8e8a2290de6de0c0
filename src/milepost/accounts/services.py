"""Writes for accounts and contacts.

- :func:`account_create`: any signed-in user may add an account; they own it unless they name
  another owner they may see.
- :func:`contact_create`: a contact is added to an account the user may see.
- :func:`account_update` / :func:`contact_update`: whoever may see the row edits it, under
  optimistic locking (``version``); an archived account and its contacts are read-only.
- :func:`account_archive`: sales-ops admins archive (or restore) an account; nothing is deleted.

Nothing here merges rows; bad input raises :class:`~milepost.core.errors.InvalidChange` naming
the field and writes nothing. The shape of input (lengths, NUL bytes, e-mail format) is checked
first by :mod:`milepost.accounts.validation`, which the API and the pages both use.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from milepost.accounts.models import Account, Contact
from milepost.accounts.selectors import account_get, contact_get
from milepost.core.errors import InvalidChange, NotFound, check_version
from milepost.team.models import Role, User
from milepost.team.selectors import visible_user_ids


def _required_text(value: Any, *, field: str, max_length: int) -> str:
    text = str(value or "").strip()
    if not text:
        raise InvalidChange(
            gettext("%(replace)s cannot be empty") % {"replace": field.replace("_", " ")},
            field=field,
        )
    if len(text) > max_length:
        raise InvalidChange(
            gettext("%(field)s is longer than %(max_length)s characters")
            % {"field": field, "max_length": max_length},
            field=field,
        )
    return text


def _optional_text(value: Any, *, field: str, max_length: int) -> str:
    text = str(value or "").strip()
    if len(text) > max_length:
        raise InvalidChange(
            gettext("%(field)s is longer than %(max_length)s characters")
            % {"field": field, "max_length": max_length},
            field=field,
        )
    return text


def _optional_count(value: Any, *, field: str, maximum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise InvalidChange(
            gettext("%(field)s must be a whole number from 0 to %(maximum)s")
            % {"field": field, "maximum": maximum},
            field=field,
        )
    return value


def _visible_account(*, user: User, account_id: int, field: str) -> Account:
    """An account referenced from a request body: hidden or missing is bad input (422)."""
    try:
        return account_get(user=user, account_id=account_id)
    except NotFound:
        raise InvalidChange(
            gettext("account %(account_id)s not found") % {"account_id": account_id}, field=field
        ) from None


@transaction.atomic
def account_create(
    *,
    user: User,
    name: str,
    sector: str = "",
    year_established: int | None = None,
    annual_revenue_musd: Any = None,
    employees: int | None = None,
    headquarters: str = "",
    parent_id: int | None = None,
    owner_id: int | None = None,
) -> Account:
    """Create an account owned by ``user`` (or by ``owner_id``, someone ``user`` may see).

    Account names are unique across the organisation, so a clash is reported even when the
    existing account is not visible to ``user`` (the name alone is not treated as a secret).
    """
    if not user.is_authenticated or not user.is_active:
        raise NotFound(gettext("no such user"))
    clean_name = _required_text(name, field="name", max_length=200)
    revenue: Decimal | None = None
    if annual_revenue_musd is not None:
        try:
            revenue = Decimal(str(annual_revenue_musd))
        except (InvalidOperation, ValueError):
            revenue = None
        if revenue is None or not revenue.is_finite() or revenue < 0:
            raise InvalidChange(
                gettext("annual revenue must be a number of million USD, zero or more"),
                field="annual_revenue_musd",
            )
        revenue = revenue.quantize(Decimal("0.01"))
    owner = user
    if owner_id is not None and owner_id != user.pk:
        visible = visible_user_ids(user)
        if visible is not None and owner_id not in visible:
            raise InvalidChange(
                gettext("you cannot assign accounts to user %(owner_id)s") % {"owner_id": owner_id},
                field="owner_id",
            )
        found = User.objects.filter(pk=owner_id, is_active=True).first()
        if found is None:
            raise InvalidChange(
                gettext("user %(owner_id)s does not exist") % {"owner_id": owner_id},
                field="owner_id",
            )
        owner = found
    parent = (
        _visible_account(user=user, account_id=parent_id, field="parent_id")
        if parent_id is not None
        else None
    )
    if Account.objects.filter(name__iexact=clean_name).exists():
        raise InvalidChange(
            gettext("an account named %(clean_name)r already exists") % {"clean_name": clean_name},
            field="name",
        )
    try:
        with transaction.atomic():  # savepoint: a concurrent insert of the same name
            return Account.objects.create(
                name=clean_name,
                sector=_optional_text(sector, field="sector", max_length=64),
                year_established=_optional_count(
                    year_established, field="year_established", maximum=32767
                ),
                annual_revenue_musd=revenue,
                employees=_optional_count(employees, field="employees", maximum=2_147_483_647),
                headquarters=_optional_text(headquarters, field="headquarters", max_length=100),
                parent=parent,
                owner=owner,
            )
    except IntegrityError:
        raise InvalidChange(
            gettext("an account named %(clean_name)r already exists") % {"clean_name": clean_name},
            field="name",
        ) from None


@transaction.atomic
def contact_create(
    *,
    user: User,
    account_id: int,
    first_name: str,
    last_name: str,
    title: str = "",
    email: str = "",
    phone: str = "",
) -> Contact:
    """Add a person to an account ``user`` may see. Duplicates are not detected here."""
    account = _visible_account(user=user, account_id=account_id, field="account_id")
    if account.archived_at is not None:
        raise InvalidChange(gettext("the account is archived"), field="account_id")
    clean_email = _optional_text(email, field="email", max_length=254)
    if clean_email:
        try:
            validate_email(clean_email)
        except ValidationError:
            raise InvalidChange(
                gettext("%(clean_email)r is not an e-mail address") % {"clean_email": clean_email},
                field="email",
            ) from None
    return Contact.objects.create(
        account=account,
        first_name=_required_text(first_name, field="first_name", max_length=80),
        last_name=_required_text(last_name, field="last_name", max_length=80),
        title=_optional_text(title, field="title", max_length=120),
        email=clean_email,
        phone=_optional_text(phone, field="phone", max_length=40),
    )


# --- edits and archiving --------------------------------------------------------------------


def _clean_revenue(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        revenue = Decimal(str(value))
    except (InvalidOperation, ValueError):
        revenue = None
    if revenue is None or not revenue.is_finite() or revenue < 0:
        raise InvalidChange(
            gettext("annual revenue must be a number of million USD, zero or more"),
            field="annual_revenue_musd",
        )
    return revenue.quantize(Decimal("0.01"))


def _assignable_owner(*, user: User, owner_id: int | None, current: User | None) -> User | None:
    if owner_id is None or (current is not None and owner_id == current.pk):
        return current
    if owner_id == user.pk:
        return user
    visible = visible_user_ids(user)
    if visible is not None and owner_id not in visible:
        raise InvalidChange(
            gettext("you cannot assign accounts to user %(owner_id)s") % {"owner_id": owner_id},
            field="owner_id",
        )
    found = User.objects.filter(pk=owner_id, is_active=True).first()
    if found is None:
        raise InvalidChange(
            gettext("user %(owner_id)s does not exist") % {"owner_id": owner_id}, field="owner_id"
        )
    return found


def _locked_account(*, user: User, account_id: int) -> Account:
    """The visible account, locked for the rest of the transaction; NotFound when hidden."""
    visible = account_get(user=user, account_id=account_id)
    return Account.objects.select_for_update().get(pk=visible.pk)


@transaction.atomic
def account_update(
    *,
    user: User,
    account_id: int,
    expected_version: int | None,
    name: str,
    sector: str = "",
    year_established: int | None = None,
    annual_revenue_musd: Any = None,
    employees: int | None = None,
    headquarters: str = "",
    parent_id: int | None = None,
    owner_id: int | None = None,
) -> Account:
    """Replace an account's fields (a visible, not archived account); bumps ``version``.

    ``owner_id`` ``None`` keeps the current owner. A parent must be visible, and not the
    account itself or one of its subsidiaries (no cycles).
    """
    account = _locked_account(user=user, account_id=account_id)
    check_version(account.version, expected_version, what="account")
    if account.archived_at is not None:
        raise InvalidChange(
            gettext("this account is archived; restore it to edit it"), field="name"
        )
    clean_name = _required_text(name, field="name", max_length=200)
    if Account.objects.filter(name__iexact=clean_name).exclude(pk=account.pk).exists():
        raise InvalidChange(
            gettext("an account named %(clean_name)r already exists") % {"clean_name": clean_name},
            field="name",
        )
    parent = None
    if parent_id is not None:
        parent = _visible_account(user=user, account_id=parent_id, field="parent_id")
        ancestor: Account | None = parent
        while ancestor is not None:
            if ancestor.pk == account.pk:
                raise InvalidChange(
                    gettext("an account cannot be its own parent or its subsidiary's"),
                    field="parent_id",
                )
            ancestor = ancestor.parent
    account.name = clean_name
    account.sector = _optional_text(sector, field="sector", max_length=64)
    account.year_established = _optional_count(
        year_established, field="year_established", maximum=32767
    )
    account.annual_revenue_musd = _clean_revenue(annual_revenue_musd)
    account.employees = _optional_count(employees, field="employees", maximum=2_147_483_647)
    account.headquarters = _optional_text(headquarters, field="headquarters", max_length=100)
    account.parent = parent
    account.owner = _assignable_owner(user=user, owner_id=owner_id, current=account.owner)
    account.version += 1
    try:
        with transaction.atomic():  # savepoint: a concurrent rename to the same name
            account.save()
    except IntegrityError:
        raise InvalidChange(
            gettext("an account named %(clean_name)r already exists") % {"clean_name": clean_name},
            field="name",
        ) from None
    return account


@transaction.atomic
def account_archive(
    *, user: User, account_id: int, expected_version: int | None, archived: bool = True
) -> Account:
    """Archive (or restore, ``archived=False``) an account. Sales-ops admins only: others get
    :class:`NotFound` for an account they cannot see and InvalidChange for one they can."""
    account = _locked_account(user=user, account_id=account_id)
    if user.role != Role.ADMIN:
        raise InvalidChange(
            gettext("only a sales-ops admin may archive an account"), field="archived"
        )
    check_version(account.version, expected_version, what="account")
    if archived == (account.archived_at is not None):
        return account
    account.archived_at = timezone.now() if archived else None
    account.archived_by = user if archived else None
    account.version += 1
    account.save(update_fields=["archived_at", "archived_by", "version", "updated_at"])
    return account


@transaction.atomic
def contact_update(
    *,
    user: User,
    contact_id: int,
    expected_version: int | None,
    first_name: str,
    last_name: str,
    title: str = "",
    email: str = "",
    phone: str = "",
) -> Contact:
    """Replace a visible contact's fields (its account stays); bumps ``version``."""
    visible = contact_get(user=user, contact_id=contact_id)
    contact = Contact.objects.select_for_update().select_related("account").get(pk=visible.pk)
    check_version(contact.version, expected_version, what="contact")
    if contact.account.archived_at is not None:
        raise InvalidChange(gettext("the contact's account is archived"), field="first_name")
    clean_email = _optional_text(email, field="email", max_length=254)
    if clean_email:
        try:
            validate_email(clean_email)
        except ValidationError:
            raise InvalidChange(
                gettext("%(clean_email)r is not an e-mail address") % {"clean_email": clean_email},
                field="email",
            ) from None
    contact.first_name = _required_text(first_name, field="first_name", max_length=80)
    contact.last_name = _required_text(last_name, field="last_name", max_length=80)
    contact.title = _optional_text(title, field="title", max_length=120)
    contact.email = clean_email
    contact.phone = _optional_text(phone, field="phone", max_length=40)
    contact.version += 1
    contact.save()
    return contact
