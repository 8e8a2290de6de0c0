"""Lists of accounts and contacts for the API and pickers.

Both start from the scopes in :mod:`milepost.pipeline.selectors` (``account_scope``,
``contact_scope``), which hold the row rule; this module only narrows and orders.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from milepost.accounts.models import Account, Contact
from milepost.pipeline.selectors import account_scope, contact_scope
from milepost.team.models import User


def account_list(*, user: User, search: str | None = None) -> QuerySet[Account]:
    """Accounts ``user`` may see, optionally those whose name contains ``search``."""
    qs = account_scope(user=user)
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
