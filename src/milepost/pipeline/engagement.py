"""Writes for the people on a deal and what was done with them, beyond add / remove / log
(:mod:`milepost.pipeline.services`): a new contact given a role in one step, a changed role,
an edited or deleted activity.

Every function is atomic and scoped: a deal the user may not see is :class:`NotFound`; contacts
must be contacts of the deal's account. An activity is edited or deleted only by its owner
(others get :class:`NotFound`, as for a row they cannot see). Activities and roles carry a
``version``: an edit or delete names the version it read (:func:`check_version`) and bumps it,
so a stale writer gets a conflict instead of overwriting a change. The facts tables follow
through the signals in :mod:`milepost.pipeline.signals`.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from milepost.accounts.models import Contact
from milepost.accounts.services import contact_create
from milepost.core.errors import InvalidChange, NotFound, check_version
from milepost.pipeline.choices import ActivityType, BuyingRole
from milepost.pipeline.models import Activity, OpportunityContact
from milepost.pipeline.selectors import activity_get, opportunity_get
from milepost.pipeline.services import _account_contacts, opportunity_contact_add
from milepost.team.models import User


@transaction.atomic
def opportunity_contact_create(
    *,
    user: User,
    opportunity_id: int,
    first_name: str,
    last_name: str,
    buying_role: str,
    title: str = "",
    email: str = "",
    phone: str = "",
    notes: str = "",
) -> OpportunityContact:
    """Add a new contact to the deal's account and give them ``buying_role`` on the deal.

    Both rows or neither: a refused role undoes the new contact.
    """
    opp = opportunity_get(user=user, opportunity_id=opportunity_id)
    if opp.account_id is None:
        raise InvalidChange("the deal has no account to add a contact to", field="first_name")
    if buying_role not in BuyingRole.values:
        raise InvalidChange(f"unknown buying role {buying_role!r}", field="buying_role")
    contact: Contact = contact_create(
        user=user,
        account_id=opp.account_id,
        first_name=first_name,
        last_name=last_name,
        title=title,
        email=email,
        phone=phone,
    )
    return opportunity_contact_add(
        user=user,
        opportunity_id=opp.pk,
        contact_id=contact.pk,
        buying_role=buying_role,
        notes=notes,
    )


@transaction.atomic
def opportunity_contact_update(
    *,
    user: User,
    opportunity_id: int,
    link_id: int,
    buying_role: str,
    notes: str = "",
    expected_version: int | None = None,
) -> OpportunityContact:
    """Change the role (or notes) of one contact-role row on a visible deal."""
    opp = opportunity_get(user=user, opportunity_id=opportunity_id)
    if buying_role not in BuyingRole.values:
        raise InvalidChange(f"unknown buying role {buying_role!r}", field="buying_role")
    link = (
        OpportunityContact.objects.select_for_update()
        .select_related("contact")
        .filter(pk=link_id, opportunity=opp)
        .first()
    )
    if link is None:
        raise NotFound(f"contact role {link_id} not found on this opportunity")
    check_version(link.version, expected_version, what="contact role")
    clash = OpportunityContact.objects.filter(
        opportunity=opp, contact_id=link.contact_id, buying_role=buying_role
    ).exclude(pk=link.pk)
    if clash.exists():
        raise InvalidChange(f"{link.contact} is already recorded in this role", field="buying_role")
    link.buying_role, link.notes = buying_role, str(notes or "")
    link.version += 1
    try:
        with transaction.atomic():
            link.save(update_fields=["buying_role", "notes", "version"])
    except IntegrityError:
        raise InvalidChange(
            f"{link.contact} is already recorded in this role", field="buying_role"
        ) from None
    return link


def _own_activity(*, user: User, opportunity_id: int, activity_id: int) -> Activity:
    activity = activity_get(user=user, opportunity_id=opportunity_id, activity_id=activity_id)
    if activity.owner_id != user.pk:
        raise NotFound(f"activity {activity_id} is not one of yours")
    return Activity.objects.select_for_update().get(pk=activity.pk)


@transaction.atomic
def activity_update(
    *,
    user: User,
    opportunity_id: int,
    activity_id: int,
    type: str,
    subject: str,
    occurred_at: datetime | None,
    outcome: str = "",
    contact_ids: list[int] | None = None,
    expected_version: int | None = None,
) -> Activity:
    """Replace the fields of one of ``user``'s own activities on a visible deal."""
    activity = _own_activity(user=user, opportunity_id=opportunity_id, activity_id=activity_id)
    check_version(activity.version, expected_version, what="activity")
    if type not in ActivityType.values:
        raise InvalidChange(f"unknown activity type {type!r}", field="type")
    clean_subject = str(subject or "").strip()
    if not clean_subject:
        raise InvalidChange("subject cannot be empty", field="subject")
    if len(clean_subject) > 200:
        raise InvalidChange("subject is longer than 200 characters", field="subject")
    when = occurred_at or activity.occurred_at
    if timezone.is_naive(when):
        raise InvalidChange("occurred_at needs a timezone (e.g. ...Z)", field="occurred_at")
    opp = opportunity_get(user=user, opportunity_id=opportunity_id)
    contacts = _account_contacts(user=user, opportunity=opp, contact_ids=list(contact_ids or []))
    activity.type, activity.subject, activity.occurred_at = type, clean_subject, when
    activity.outcome = str(outcome or "")
    activity.version += 1
    activity.save()
    activity.contacts.set(contacts)
    return activity


@transaction.atomic
def activity_delete(
    *, user: User, opportunity_id: int, activity_id: int, expected_version: int | None = None
) -> None:
    """Delete one of ``user``'s own activities on a visible deal, if unchanged since read."""
    activity = _own_activity(user=user, opportunity_id=opportunity_id, activity_id=activity_id)
    check_version(activity.version, expected_version, what="activity")
    activity.delete()
