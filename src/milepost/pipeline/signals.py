"""Keep the deal facts (:mod:`milepost.pipeline.facts`) in step with ORM writes.

Services, the admin and the shell all write activities and contact roles through the ORM; a
receiver here refreshes the deal's facts in the same transaction, so no path can forget to.
Bulk inserts
(``bulk_create``, raw ``INSERT``) send no signals: those callers refresh themselves.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver

from milepost.pipeline.facts import activity_facts_refresh, role_facts_refresh
from milepost.pipeline.models import Activity, OpportunityContact


@receiver(pre_save, sender=Activity, dispatch_uid="activity_facts_pre_save")
def _remember_deal(sender: Any, instance: Activity, **kwargs: Any) -> None:
    # An edit that moves an activity to another deal changes the facts of both deals.
    instance._facts_previous_deal = (  # type: ignore[attr-defined]
        Activity.objects.filter(pk=instance.pk).values_list("opportunity_id", flat=True).first()
        if instance.pk is not None
        else None
    )


@receiver(post_save, sender=Activity, dispatch_uid="activity_facts_post_save")
def _activity_saved(sender: Any, instance: Activity, **kwargs: Any) -> None:
    previous = getattr(instance, "_facts_previous_deal", None)
    activity_facts_refresh({instance.opportunity_id, *([previous] if previous else [])})


@receiver(post_delete, sender=Activity, dispatch_uid="activity_facts_post_delete")
def _activity_deleted(sender: Any, instance: Activity, **kwargs: Any) -> None:
    activity_facts_refresh([instance.opportunity_id])


@receiver(m2m_changed, sender=Activity.contacts.through, dispatch_uid="activity_facts_contacts")
def _contacts_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        activity_facts_refresh([instance.opportunity_id])
        return
    # From the contact's side: the deals of the activities added or removed (all of the
    # contact's engagements on a clear).
    if action == "post_clear":
        from milepost.pipeline.models import ContactEngagement

        deals = ContactEngagement.objects.filter(contact=instance).values_list(
            "opportunity_id", flat=True
        )
    else:
        deals = Activity.objects.filter(pk__in=pk_set or ()).values_list(
            "opportunity_id", flat=True
        )
    activity_facts_refresh(list(deals))


@receiver(pre_save, sender=OpportunityContact, dispatch_uid="role_facts_pre_save")
def _remember_role_deal(sender: Any, instance: OpportunityContact, **kwargs: Any) -> None:
    instance._facts_previous_deal = (  # type: ignore[attr-defined]
        OpportunityContact.objects.filter(pk=instance.pk)
        .values_list("opportunity_id", flat=True)
        .first()
        if instance.pk is not None
        else None
    )


@receiver(post_save, sender=OpportunityContact, dispatch_uid="role_facts_post_save")
@receiver(post_delete, sender=OpportunityContact, dispatch_uid="role_facts_post_delete")
def _role_changed(sender: Any, instance: OpportunityContact, **kwargs: Any) -> None:
    previous = getattr(instance, "_facts_previous_deal", None)
    role_facts_refresh({instance.opportunity_id, *([previous] if previous else [])})
