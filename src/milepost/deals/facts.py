"""The deal page's facts (amount, close date, next step ...) and their inline editors.

Shared by the deal page (which opens an editor from ``?edit=<group>``, the target of the
links that fix inspection signals) and the edit view (which swaps the block after a save).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from milepost.accounts.selectors import account_list
from milepost.deals.edit_forms import EDIT_GROUPS, DealEditForm
from milepost.pipeline import presentation
from milepost.pipeline.models import Opportunity
from milepost.process.selectors import version_stages
from milepost.team.models import Role, User
from milepost.team.selectors import user_list

REASSIGNERS = (Role.MANAGER, Role.LEADER, Role.ADMIN)


def may_reassign(user: User) -> bool:
    """Managers (their team), leaders and admins reassign deals; a rep cannot."""
    return user.is_admin or user.role in REASSIGNERS


def accounts_for(user: User) -> list[tuple[int, str]]:
    accounts: QuerySet = account_list(user=user).order_by("name", "id")
    return list(accounts.values_list("id", "name"))


def owners_for(user: User) -> list[User]:
    return user_list(user=user) if may_reassign(user) else [user]


# --- the deal page's facts and their inline editors ----------------------------------------


def edit_form(*, user: User, opp: Opportunity, group: str, data: Any = None) -> DealEditForm | None:
    """The inline editor of ``group`` for ``opp`` (None for an unknown group or one the user
    may not use), filled with the deal's values."""
    if group not in EDIT_GROUPS or (group == "owner" and not may_reassign(user)):
        return None
    fields, _, _ = EDIT_GROUPS[group]
    initial = {
        "name": opp.name,
        "account": opp.account_id,
        "amount": opp.amount,
        "currency": opp.currency,
        "close_date": opp.close_date,
        "probability": opp.probability if opp.probability_overridden else None,
        "forecast_category": opp.forecast_category,
        "next_step": opp.next_step,
        "next_step_date": opp.next_step_date,
        "owner": opp.owner_id,
        "version": opp.version,
        "group": group,
    }
    return DealEditForm(
        data,
        keep=fields,
        initial=initial,
        accounts=accounts_for(user) if "account" in fields else [],
        owners=owners_for(user) if "owner" in fields else [],
    )


def facts_context(
    *,
    user: User,
    opp: Opportunity,
    editing: str = "",
    form: DealEditForm | None = None,
    conflict: str = "",
    warnings: list[str] | None = None,
    saved: str = "",
    card: presentation.Card | None = None,
) -> dict[str, Any]:
    """What ``pipeline/partials/deal_facts.html`` needs (the deal page includes it too)."""
    if editing and form is None:
        form = edit_form(user=user, opp=opp, group=editing)
    if form is None:
        editing = ""
    focus = (form.invalid_field() if form is not None and form.is_bound else "") or (
        EDIT_GROUPS[editing][0][0] if editing else ""
    )
    if form is not None and focus in form.fields:
        form.fields[focus].widget.attrs["autofocus"] = True
    if card is None:
        card = presentation.card_for(opp, version_stages(version_id=opp.stage.version_id))
    return {
        "opp": opp,
        "card": card,
        "editing": editing,
        "edit_form": form,
        "saved": saved,
        "conflict": conflict,
        "warnings": warnings or [],
        "can_edit": opp.archived_at is None,
        "can_reassign": may_reassign(user),
    }
