"""Accounts and contacts a user may see, and lists of them for the API and pickers.

The row rule: an account is visible to whoever may see its owner or one of its deals' owners
(:func:`milepost.team.selectors.visible_user_ids`); a contact, to whoever may see its account.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from milepost.accounts.models import Account, Contact
from milepost.core.errors import NotFound
from milepost.team.models import User
from milepost.team.selectors import visible_user_ids


def account_scope(*, user: User) -> QuerySet[Account]:
    ids = visible_user_ids(user)
    if ids is None:
        return Account.objects.all()
    return Account.objects.filter(
        Q(owner_id__in=ids) | Q(opportunities__owner_id__in=ids)
    ).distinct()


def account_get(*, user: User, account_id: int) -> Account:
    try:
        return account_scope(user=user).get(pk=account_id)
    except (Account.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"account {account_id} not found") from None


def contact_scope(*, user: User) -> QuerySet[Contact]:
    ids = visible_user_ids(user)
    qs = Contact.objects.select_related("account")
    if ids is None:
        return qs
    return qs.filter(account__in=account_scope(user=user).values("id"))


def contact_get(*, user: User, contact_id: int) -> Contact:
    try:
        return contact_scope(user=user).get(pk=contact_id)
    except (Contact.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"contact {contact_id} not found") from None


# Board reads.


def account_list(
    *, user: User, search: str | None = None, include_archived: bool = True
) -> QuerySet[Account]:
    """Accounts ``user`` may see, optionally those whose name contains ``search``; the pages
    leave archived accounts out unless asked (the API lists them all, with their history)."""
    qs = account_scope(user=user)
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    if search:
        qs = qs.filter(name__icontains=search.strip())
    return qs.order_by("name", "id")


def contact_list(
    *, user: User, account_id: int | None = None, search: str | None = None
) -> QuerySet[Contact]:
    """Contacts on accounts ``user`` may see, optionally of one account or matching ``search``."""
    qs = contact_scope(user=user)
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    if search:
        term = search.strip()
        qs = qs.filter(
            Q(first_name__icontains=term) | Q(last_name__icontains=term) | Q(email__icontains=term)
        )
    return qs.order_by("last_name", "first_name", "id")
