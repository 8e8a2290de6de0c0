"""Writes for evidence: record, verify, reject, withdraw. Atomic, permission- and version-checked.

Who may do what:

* Anyone who may see the deal (its owner, the managers above the owner, an admin) may record,
  update or withdraw evidence, except that only someone other than the owner may withdraw
  *rejected* evidence (the owner answers a rejection with new evidence instead). Evidence
  recorded by someone other than the owner counts as manager-verified: that person vouches
  for it.
* Only someone who may see the deal **and is not its owner** may verify or reject: nobody
  verifies their own claims. Rejecting needs a reason; the rep sees it on the deal.
* Buyer-confirmed evidence names the buyer contact who confirmed it (a contact of the deal's
  account) and the date they did.

Changing the content of evidence resets its verification (what was verified is no longer what
is recorded). Every change appends an :class:`EvidenceEvent` with the state after the change.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from milepost.accounts.selectors import contact_scope
from milepost.core.errors import InvalidChange, NotFound, check_version
from milepost.evidence.models import (
    Evidence,
    EvidenceAction,
    EvidenceEvent,
    EvidenceLevel,
    EvidenceState,
)
from milepost.pipeline.models import Opportunity
from milepost.pipeline.services import opportunity_lock
from milepost.process.models import ExitCriterion
from milepost.team.models import User

_URL = URLValidator(schemes=["http", "https"])


def _criterion(*, opportunity: Opportunity, criterion_key: str) -> ExitCriterion:
    try:
        return ExitCriterion.objects.select_related("stage").get(
            stage__version_id=opportunity.stage.version_id, key=criterion_key
        )
    except ExitCriterion.DoesNotExist:
        raise InvalidChange(
            gettext("%(criterion_key)r is not an exit criterion of this deal's process")
            % {"criterion_key": criterion_key},
            field="criterion",
        ) from None


def _current(*, opportunity: Opportunity, criterion_key: str) -> Evidence | None:
    return (
        Evidence.objects.select_for_update()
        .filter(opportunity=opportunity, criterion_key=criterion_key)
        .first()
    )


def _event(evidence: Evidence, *, action: str, actor: User | None, reason: str = "") -> None:
    EvidenceEvent.objects.create(
        evidence=evidence,
        opportunity_id=evidence.opportunity_id,
        criterion_key=evidence.criterion_key,
        action=action,
        actor=actor,
        at=evidence.updated_at,
        state=evidence.state,
        level=evidence.level,
        note=evidence.note,
        link=evidence.link,
        evidence_date=evidence.evidence_date,
        confirmed_by_id=evidence.confirmed_by_id,
        reason=reason,
    )


def _clean_content(
    *,
    user: User,
    opportunity: Opportunity,
    note: str,
    link: str,
    evidence_date: date | None,
    buyer_confirmed: bool,
    confirmed_by_id: int | None,
) -> dict[str, Any]:
    note = (note or "").strip()
    if len(note) < 3:
        raise InvalidChange(
            gettext("say what the evidence is (at least 3 characters)"), field="note"
        )
    if len(note) > 4000:
        raise InvalidChange(gettext("the note is longer than 4000 characters"), field="note")
    link = (link or "").strip()
    if link:
        try:
            _URL(link)
        except ValidationError:
            raise InvalidChange(
                gettext("%(link)r is not an http(s) link") % {"link": link}, field="link"
            ) from None
        if len(link) > 500:
            raise InvalidChange(gettext("the link is longer than 500 characters"), field="link")
    today = timezone.localdate()
    if evidence_date is not None and evidence_date > today:
        raise InvalidChange(
            gettext("the evidence date cannot be in the future"), field="evidence_date"
        )
    contact = None
    if confirmed_by_id is not None:
        contact = (
            contact_scope(user=user)
            .filter(pk=confirmed_by_id, account_id=opportunity.account_id)
            .first()
        )
        if contact is None or opportunity.account_id is None:
            raise InvalidChange(
                gettext("contact %(confirmed_by_id)s is not a contact of this deal's account")
                % {"confirmed_by_id": confirmed_by_id},
                field="confirmed_by",
            )
    if buyer_confirmed and contact is None:
        raise InvalidChange(
            gettext("buyer-confirmed evidence names the buyer contact who confirmed it"),
            field="confirmed_by",
        )
    if buyer_confirmed and evidence_date is None:
        raise InvalidChange(
            gettext("buyer-confirmed evidence says when the buyer confirmed it"),
            field="evidence_date",
        )
    return {"note": note, "link": link, "evidence_date": evidence_date, "confirmed_by": contact}


@transaction.atomic
def evidence_record(
    *,
    user: User,
    opportunity_id: int,
    criterion_key: str,
    note: str,
    link: str = "",
    evidence_date: date | None = None,
    buyer_confirmed: bool = False,
    confirmed_by_id: int | None = None,
    expected_version: int | None = None,
) -> Evidence:
    """Record (or replace) the evidence for a criterion of a deal.

    Replacing existing evidence needs its current ``expected_version`` (optimistic locking);
    recording the first evidence needs none. Raises NotFound, InvalidChange, VersionConflict
    and writes nothing in those cases.
    """
    opportunity = opportunity_lock(user=user, opportunity_id=opportunity_id)
    _criterion(opportunity=opportunity, criterion_key=criterion_key)
    content = _clean_content(
        user=user,
        opportunity=opportunity,
        note=note,
        link=link,
        evidence_date=evidence_date,
        buyer_confirmed=buyer_confirmed,
        confirmed_by_id=confirmed_by_id,
    )
    if buyer_confirmed:
        level = EvidenceLevel.BUYER
    elif user.pk != opportunity.owner_id:
        level = EvidenceLevel.MANAGER
    else:
        level = EvidenceLevel.REP
    now = timezone.now()
    evidence = _current(opportunity=opportunity, criterion_key=criterion_key)
    fresh = dict(
        content,
        state=EvidenceState.ACTIVE,
        level=level,
        recorded_by=user,
        recorded_at=now,
        verified_by=user if level == EvidenceLevel.MANAGER else None,
        verified_at=now if level == EvidenceLevel.MANAGER else None,
        rejected_by=None,
        rejected_at=None,
        rejection_reason="",
        updated_at=now,
    )
    if evidence is None:
        if expected_version is not None:
            raise InvalidChange(gettext("there is no evidence to replace yet"), field="version")
        evidence = Evidence.objects.create(
            opportunity=opportunity, criterion_key=criterion_key, **fresh
        )
        action = EvidenceAction.RECORDED
    else:
        check_version(evidence.version, expected_version, what="evidence")
        for name, value in fresh.items():
            setattr(evidence, name, value)
        evidence.version += 1
        evidence.save()
        action = EvidenceAction.UPDATED
    _event(evidence, action=action, actor=user)
    return evidence


def _reviewable(
    *, user: User, opportunity_id: int, criterion_key: str, expected_version: int | None
) -> Evidence:
    opportunity = opportunity_lock(user=user, opportunity_id=opportunity_id)
    evidence = _current(opportunity=opportunity, criterion_key=criterion_key)
    if evidence is None:
        raise NotFound(
            gettext("no evidence recorded for %(criterion_key)r") % {"criterion_key": criterion_key}
        )
    check_version(evidence.version, expected_version, what="evidence")
    return evidence


def _not_own(user: User, evidence: Evidence, what: str) -> None:
    if evidence.opportunity.owner_id == user.pk:
        raise InvalidChange(
            gettext("you cannot %(what)s evidence on your own deal") % {"what": what}, field="user"
        )


@transaction.atomic
def evidence_verify(
    *, user: User, opportunity_id: int, criterion_key: str, expected_version: int | None
) -> Evidence:
    """A manager confirms the evidence holds: rep-asserted evidence becomes manager-verified."""
    evidence = _reviewable(
        user=user,
        opportunity_id=opportunity_id,
        criterion_key=criterion_key,
        expected_version=expected_version,
    )
    _not_own(user, evidence, "verify")
    if evidence.state != EvidenceState.ACTIVE:
        raise InvalidChange(
            gettext("%(get_state_display)s evidence cannot be verified")
            % {"get_state_display": evidence.get_state_display()}
        )
    now = timezone.now()
    if evidence.level == EvidenceLevel.REP:
        evidence.level = EvidenceLevel.MANAGER
    evidence.verified_by = user
    evidence.verified_at = now
    evidence.updated_at = now
    evidence.version += 1
    evidence.save()
    _event(evidence, action=EvidenceAction.VERIFIED, actor=user)
    return evidence


@transaction.atomic
def evidence_reject(
    *,
    user: User,
    opportunity_id: int,
    criterion_key: str,
    reason: str,
    expected_version: int | None,
) -> Evidence:
    """A manager rejects the evidence with a reason; the criterion is unmet until re-recorded."""
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise InvalidChange(gettext("say why the evidence is rejected"), field="reason")
    if len(reason) > 500:
        raise InvalidChange(gettext("the reason is longer than 500 characters"), field="reason")
    evidence = _reviewable(
        user=user,
        opportunity_id=opportunity_id,
        criterion_key=criterion_key,
        expected_version=expected_version,
    )
    _not_own(user, evidence, "reject")
    if evidence.state != EvidenceState.ACTIVE:
        raise InvalidChange(
            gettext("%(get_state_display)s evidence cannot be rejected")
            % {"get_state_display": evidence.get_state_display()}
        )
    now = timezone.now()
    evidence.state = EvidenceState.REJECTED
    evidence.rejected_by = user
    evidence.rejected_at = now
    evidence.rejection_reason = reason
    evidence.updated_at = now
    evidence.version += 1
    evidence.save()
    _event(evidence, action=EvidenceAction.REJECTED, actor=user, reason=reason)
    return evidence


@transaction.atomic
def evidence_withdraw(
    *, user: User, opportunity_id: int, criterion_key: str, expected_version: int | None
) -> Evidence:
    """Take the evidence back (it was wrong); the criterion then has no evidence."""
    evidence = _reviewable(
        user=user,
        opportunity_id=opportunity_id,
        criterion_key=criterion_key,
        expected_version=expected_version,
    )
    if evidence.state == EvidenceState.WITHDRAWN:
        raise InvalidChange(gettext("the evidence is already withdrawn"))
    if evidence.state == EvidenceState.REJECTED and evidence.opportunity.owner_id == user.pk:
        # Withdrawing would erase a manager's rejection (for a rule criterion: make it met
        # again). The owner answers a rejection by recording new evidence, which stays in the
        # history next to the rejection.
        raise InvalidChange(
            gettext(
                "rejected evidence can only be cleared by a manager; record new evidence instead"
            )
        )
    evidence.state = EvidenceState.WITHDRAWN
    evidence.updated_at = timezone.now()
    evidence.version += 1
    evidence.save()
    _event(evidence, action=EvidenceAction.WITHDRAWN, actor=user)
    return evidence
