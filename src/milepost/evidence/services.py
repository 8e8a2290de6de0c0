"""Writes for evidence: record, verify, reject, withdraw. Atomic, permission- and version-checked.

Who may do what:

* Anyone who may see the deal (its owner, the managers above the owner, an admin) may record,
  update or withdraw evidence, except that only someone other than the owner may withdraw
  *rejected* evidence (the owner answers a rejection with new evidence instead). Evidence
  recorded by someone other than the owner counts as manager-verified: that person vouches
  for it.
* Only someone who may see the deal **and is not its owner** may verify or reject: nobody
  verifies their own claims. Rejecting needs a reason; the rep sees it on the deal.
* **Nobody certifies buyer confirmation on their own word.** Claiming the buyer confirmed
  something needs an artefact from the buyer (:class:`~milepost.evidence.models.Artefact`: their
  e-mail, a signed document, meeting notes naming the attendee), the buyer contact and the date.
  Recorded by the owner, the claim is *pending* and the evidence counts at the rep's level until
  a manager of the owner (anyone else who may see the deal: the reporting line or an admin)
  accepts it (:func:`evidence_accept`) or rejects it with a reason (:func:`evidence_reject_claim`),
  or an admin's rule accepts it on the spot (:class:`~milepost.evidence.models.AcceptanceRule`).
  Recorded by someone other than the owner, it is accepted by that person.
* A buyer's own action (the future mutual action plan link) records buyer-confirmed evidence
  through :func:`evidence_record_buyer_action`, which no page or endpoint of a signed-in user
  calls.

Changing the content of evidence resets its verification (what was verified is no longer what
is recorded). Every change appends an :class:`EvidenceEvent` with the state after the change.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from pydantic import ValidationError as SchemaError

from milepost.accounts.models import Contact
from milepost.accounts.selectors import contact_scope
from milepost.core.api_errors import field_of
from milepost.core.errors import InvalidChange, NotFound, check_version
from milepost.evidence.artefacts import ARTEFACT_TEXT_MAX, check_file, parse_email
from milepost.evidence.models import (
    ARTEFACT_FOLDER,
    AcceptanceRule,
    AcceptanceRuleKind,
    Artefact,
    ArtefactKind,
    BuyerClaim,
    Evidence,
    EvidenceAction,
    EvidenceEvent,
    EvidenceLevel,
    EvidenceSource,
    EvidenceState,
)
from milepost.evidence.validation import BuyerActionFields
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
        source=evidence.source,
        buyer_claim=evidence.buyer_claim,
        accepted_by_rule=evidence.accepted_by_rule,
        artefact_id=evidence.artefact_id,
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
    return {"note": note, "link": link, "evidence_date": evidence_date, "confirmed_by": contact}


def artefact_create(
    *,
    user: User,
    opportunity: Opportunity,
    kind: str,
    text: str,
    upload: Any,
    attendee: Contact | None,
    at: datetime,
    attendee_field: str = "confirmed_by",
) -> Artefact | None:
    """Check and store the artefact described (None when none is); InvalidChange otherwise.

    Also what a methodology score above the rep's limit attaches as the buyer's proof
    (:func:`milepost.methodology.services.assessment_record`). Call it after every other
    check: it writes the file. ``attendee_field``: the caller's name for the attendee input.
    """
    text = (text or "").strip()
    if not kind:
        if upload is not None or text:
            raise InvalidChange(
                gettext("say what the attachment is (e-mail, signed document, meeting notes)"),
                field="artefact_kind",
            )
        return None
    if kind not in ArtefactKind.values:
        raise InvalidChange(
            gettext("%(kind)r is not a kind of artefact") % {"kind": kind}, field="artefact_kind"
        )
    if len(text) > ARTEFACT_TEXT_MAX:
        raise InvalidChange(
            gettext("the text is longer than %(max)s characters") % {"max": ARTEFACT_TEXT_MAX},
            field="artefact_text",
        )
    row = Artefact(opportunity=opportunity, kind=kind, uploaded_by=user, uploaded_at=at)
    checked = None
    if kind == ArtefactKind.EMAIL:
        if upload is not None and text:
            raise InvalidChange(
                gettext("attach the e-mail as a file or paste it, not both"), field="artefact_text"
            )
        if upload is not None:
            checked = check_file(upload, kind=kind, field="artefact_file")
            parsed = parse_email(checked.content, field="artefact_file")
        elif text:
            parsed = parse_email(text.encode("utf-8"), field="artefact_text")
            row.text = text
        else:
            raise InvalidChange(
                gettext("attach the buyer's e-mail (.eml) or paste it with its headers"),
                field="artefact_text",
            )
        row.email_from, row.email_date, row.email_subject = (
            parsed.sender,
            parsed.sent_at,
            parsed.subject,
        )
    elif kind == ArtefactKind.DOCUMENT:
        if upload is None:
            raise InvalidChange(gettext("attach the signed document"), field="artefact_file")
        checked = check_file(upload, kind=kind, field="artefact_file")
    else:
        if upload is not None:
            raise InvalidChange(
                gettext("meeting notes are typed, not attached"), field="artefact_file"
            )
        if len(text) < 20:
            raise InvalidChange(
                gettext("write the meeting notes (at least 20 characters)"),
                field="artefact_text",
            )
        if attendee is None:
            raise InvalidChange(
                gettext("meeting notes name the buyer who attended"), field=attendee_field
            )
        row.text = text
        row.attendee = attendee
    if checked is not None:
        row.file_name, row.content_type, row.size = (
            checked.name,
            checked.content_type,
            checked.size,
        )
        # Every check (the version included) has passed by now, so a refused write stores
        # no file; only a database failure after this line could leave one behind.
        row.file.save(checked.name, ContentFile(checked.content), save=False)
    row.save()
    return row


def account_domains(account_id: int | None) -> set[str]:
    """The e-mail domains of the account's contacts: "the account's domain" for the rule."""
    if account_id is None:
        return set()
    emails = Contact.objects.filter(account_id=account_id).exclude(email="")
    return {e.rpartition("@")[2].lower() for e in emails.values_list("email", flat=True)}


def artefact_rule_accepting(opportunity: Opportunity, artefact: Artefact | None) -> str:
    """The admin's rule that accepts ``artefact`` at once, or ''."""
    if artefact is None or artefact.kind != ArtefactKind.EMAIL or not artefact.email_from:
        return ""
    kind = AcceptanceRuleKind.EMAIL_FROM_ACCOUNT_DOMAIN
    if not AcceptanceRule.objects.filter(kind=kind, enabled=True).exists():
        return ""
    domain = artefact.email_from.rpartition("@")[2]
    return kind if domain in account_domains(opportunity.account_id) else ""


def _store(
    opportunity: Opportunity, criterion_key: str, evidence: Evidence | None, fresh: dict[str, Any]
) -> tuple[Evidence, str]:
    """Create the criterion's evidence from ``fresh``, or overwrite the current row with it
    (a new version); the history action that says which."""
    if evidence is None:
        created = Evidence.objects.create(
            opportunity=opportunity, criterion_key=criterion_key, **fresh
        )
        return created, EvidenceAction.RECORDED
    for name, value in fresh.items():
        setattr(evidence, name, value)
    evidence.version += 1
    evidence.save()
    return evidence, EvidenceAction.UPDATED


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
    artefact_kind: str = "",
    artefact_text: str = "",
    artefact_file: Any = None,
    expected_version: int | None = None,
) -> Evidence:
    """Record (or replace) the evidence for a criterion of a deal, with an artefact if given.

    ``buyer_confirmed`` claims the buyer confirmed it: that needs an artefact and the buyer
    contact. The owner's claim is pending (counts at the rep's level) unless an admin's rule
    accepts it; someone else's (a manager's, an admin's) is accepted by them. Replacing
    existing evidence needs its current ``expected_version`` (optimistic locking); recording the
    first evidence needs none. Raises NotFound, InvalidChange, VersionConflict and writes
    nothing (no file either) in those cases.
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
    if buyer_confirmed and not artefact_kind:
        raise InvalidChange(
            gettext(
                "buyer confirmation needs an artefact from the buyer: their e-mail, a signed "
                "document or meeting notes naming who attended"
            ),
            field="artefact_kind",
        )
    evidence = _current(opportunity=opportunity, criterion_key=criterion_key)
    if evidence is None:
        if expected_version is not None:
            raise InvalidChange(gettext("there is no evidence to replace yet"), field="version")
    else:
        check_version(evidence.version, expected_version, what="evidence")
    now = timezone.now()
    artefact = artefact_create(
        user=user,
        opportunity=opportunity,
        kind=artefact_kind,
        text=artefact_text,
        upload=artefact_file,
        attendee=content["confirmed_by"],
        at=now,
    )
    if buyer_confirmed and content["evidence_date"] is None:
        if artefact is not None and artefact.email_date is not None:
            content["evidence_date"] = artefact.email_date.date()
        else:
            raise InvalidChange(
                gettext("buyer-confirmed evidence says when the buyer confirmed it"),
                field="evidence_date",
            )
    is_owner = user.pk == opportunity.owner_id
    rule = artefact_rule_accepting(opportunity, artefact) if buyer_confirmed and is_owner else ""
    if buyer_confirmed and (not is_owner or rule):
        level, claim = EvidenceLevel.BUYER, BuyerClaim.ACCEPTED
    elif buyer_confirmed:
        level, claim = EvidenceLevel.REP, BuyerClaim.PENDING
    else:
        level = EvidenceLevel.REP if is_owner else EvidenceLevel.MANAGER
        claim = BuyerClaim.NONE
    if buyer_confirmed:
        source = EvidenceSource.ARTEFACT
    else:
        source = EvidenceSource.REP_CLAIM if is_owner else EvidenceSource.MANAGER
    vouched = not is_owner  # someone other than the owner vouches for what they record
    fresh = dict(
        content,
        state=EvidenceState.ACTIVE,
        level=level,
        source=source,
        buyer_claim=claim,
        accepted_by_rule=rule,
        artefact=artefact,
        recorded_by=user,
        recorded_at=now,
        verified_by=user if vouched else None,
        verified_at=now if vouched else None,
        rejected_by=None,
        rejected_at=None,
        rejection_reason="",
        updated_at=now,
    )
    evidence, action = _store(opportunity, criterion_key, evidence, fresh)
    _event(evidence, action=action, actor=user)
    if rule:
        _event(
            evidence,
            action=EvidenceAction.ACCEPTED,
            actor=None,
            reason=gettext("accepted by the rule: %(rule)s")
            % {"rule": AcceptanceRuleKind(rule).label},
        )
    return evidence


@transaction.atomic
def evidence_record_buyer_action(
    *,
    opportunity_id: int,
    criterion_key: str,
    contact_id: int,
    note: str,
    at: datetime | None = None,
) -> Evidence:
    """The buyer (contact ``contact_id`` of the deal's account) did what the criterion asks
    themselves, e.g. accepted a step of a shared mutual action plan: buyer-confirmed evidence
    with source ``buyer_action``. For the buyer-facing link, which has no signed-in user (so no
    visibility check: the caller has checked the link's token). Replaces any current evidence.
    """
    try:
        opportunity = (
            Opportunity.objects.select_for_update()
            .select_related("stage__version")
            .get(pk=opportunity_id, archived_at__isnull=True)
        )
    except Opportunity.DoesNotExist:
        raise NotFound(gettext("no such opportunity")) from None
    _criterion(opportunity=opportunity, criterion_key=criterion_key)
    try:  # the one schema of this input (bounds, NUL bytes), as a form or the API would use it
        fields = BuyerActionFields.model_validate({"contact_id": contact_id, "note": note})
    except SchemaError as error:
        problems = error.errors()
        raise InvalidChange(problems[0]["msg"], field=field_of(problems)) from None
    note = fields.note
    contact = Contact.objects.filter(
        pk=fields.contact_id, account_id=opportunity.account_id
    ).first()
    if contact is None or opportunity.account_id is None:
        raise InvalidChange(
            gettext("the buyer is not a contact of this deal's account"), field="contact"
        )
    now = timezone.now()
    at = at or now
    evidence = _current(opportunity=opportunity, criterion_key=criterion_key)
    fresh = dict(
        state=EvidenceState.ACTIVE,
        level=EvidenceLevel.BUYER,
        source=EvidenceSource.BUYER_ACTION,
        buyer_claim=BuyerClaim.ACCEPTED,
        accepted_by_rule="",
        artefact=None,
        note=note,
        link="",
        evidence_date=at.date(),
        confirmed_by=contact,
        recorded_by=None,
        recorded_at=now,
        verified_by=None,
        verified_at=None,
        rejected_by=None,
        rejected_at=None,
        rejection_reason="",
        updated_at=now,
    )
    evidence, action = _store(opportunity, criterion_key, evidence, fresh)
    _event(evidence, action=action, actor=None)
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


def _clean_reason(reason: str, missing: str) -> str:
    """A reviewer's reason, stripped and bounded as the reason column (``missing``: the
    message when it is absent or too short)."""
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise InvalidChange(missing, field="reason")
    if len(reason) > 500:
        raise InvalidChange(gettext("the reason is longer than 500 characters"), field="reason")
    return reason


def _save_reviewed(
    evidence: Evidence, *, action: str, actor: User, now: datetime, reason: str = ""
) -> Evidence:
    """Store a reviewed row as its next version and record the review in its history."""
    evidence.updated_at = now
    evidence.version += 1
    evidence.save()
    _event(evidence, action=action, actor=actor, reason=reason)
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
    return _save_reviewed(evidence, action=EvidenceAction.VERIFIED, actor=user, now=now)


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
    reason = _clean_reason(reason, gettext("say why the evidence is rejected"))
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
    return _save_reviewed(
        evidence, action=EvidenceAction.REJECTED, actor=user, now=now, reason=reason
    )


def _claim_reviewable(
    user: User, opportunity_id: int, criterion_key: str, expected_version: int | None, what: str
) -> Evidence:
    evidence = _reviewable(
        user=user,
        opportunity_id=opportunity_id,
        criterion_key=criterion_key,
        expected_version=expected_version,
    )
    _not_own(user, evidence, what)
    if evidence.state != EvidenceState.ACTIVE:
        raise InvalidChange(
            gettext("%(get_state_display)s evidence cannot be reviewed")
            % {"get_state_display": evidence.get_state_display()}
        )
    if evidence.source == EvidenceSource.BUYER_ACTION:
        raise InvalidChange(gettext("the buyer confirmed this themselves"))
    return evidence


@transaction.atomic
def evidence_accept(
    *, user: User, opportunity_id: int, criterion_key: str, expected_version: int | None
) -> Evidence:
    """A manager of the owner (or an admin) accepts the artefact behind a buyer-confirmation
    claim: the evidence becomes buyer-confirmed. A claim without an artefact (one made before
    artefacts existed) cannot be accepted: verify it (manager level) or reject it."""
    evidence = _claim_reviewable(user, opportunity_id, criterion_key, expected_version, "accept")
    if evidence.buyer_claim not in (BuyerClaim.PENDING, BuyerClaim.REJECTED):
        raise InvalidChange(gettext("no buyer confirmation is claimed on this evidence"))
    if evidence.artefact_id is None:
        raise InvalidChange(
            gettext(
                "there is no artefact to accept: the rep attaches the buyer's e-mail, a signed "
                "document or meeting notes first"
            ),
            field="artefact",
        )
    now = timezone.now()
    evidence.level = EvidenceLevel.BUYER
    evidence.buyer_claim = BuyerClaim.ACCEPTED
    evidence.accepted_by_rule = ""
    evidence.verified_by, evidence.verified_at = user, now
    evidence.rejected_by, evidence.rejected_at, evidence.rejection_reason = None, None, ""
    return _save_reviewed(evidence, action=EvidenceAction.ACCEPTED, actor=user, now=now)


@transaction.atomic
def evidence_reject_claim(
    *,
    user: User,
    opportunity_id: int,
    criterion_key: str,
    reason: str,
    expected_version: int | None,
) -> Evidence:
    """A manager of the owner (or an admin) rejects the buyer-confirmation claim (pending or
    accepted) with a reason: the evidence stays, at the rep's level (a manager's when a manager
    recorded it), and the criterion says why the claim was rejected."""
    reason = _clean_reason(reason, gettext("say why the claim is rejected"))
    evidence = _claim_reviewable(user, opportunity_id, criterion_key, expected_version, "reject")
    if evidence.buyer_claim not in (BuyerClaim.PENDING, BuyerClaim.ACCEPTED):
        raise InvalidChange(gettext("no buyer confirmation is claimed on this evidence"))
    now = timezone.now()
    if evidence.source == EvidenceSource.MANAGER:
        evidence.level = EvidenceLevel.MANAGER
    else:
        evidence.level = EvidenceLevel.REP
        evidence.verified_by, evidence.verified_at = None, None
    evidence.buyer_claim = BuyerClaim.REJECTED
    evidence.accepted_by_rule = ""
    evidence.rejected_by, evidence.rejected_at, evidence.rejection_reason = user, now, reason
    return _save_reviewed(
        evidence, action=EvidenceAction.CLAIM_REJECTED, actor=user, now=now, reason=reason
    )


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
    return _save_reviewed(evidence, action=EvidenceAction.WITHDRAWN, actor=user, now=timezone.now())


@transaction.atomic
def acceptance_rule_set(
    *, user: User, kind: str, enabled: bool, expected_version: int | None
) -> AcceptanceRule:
    """Turn an acceptance rule on or off (sales-ops admins only: PermissionDenied otherwise).
    It applies to artefacts attached from then on; what was accepted stays accepted."""
    if not (user.is_authenticated and user.is_active and user.is_admin):
        raise PermissionDenied(gettext("only sales-ops admins set acceptance rules"))
    if kind not in AcceptanceRuleKind.values:
        raise NotFound(gettext("no such rule"))
    rule = AcceptanceRule.objects.select_for_update().filter(kind=kind).first()
    now = timezone.now()
    if rule is None:
        if expected_version is not None:
            raise InvalidChange(gettext("the rule has not been set yet"), field="version")
        return AcceptanceRule.objects.create(
            kind=kind, enabled=enabled, changed_by=user, changed_at=now
        )
    check_version(rule.version, expected_version, what="rule")
    rule.enabled, rule.changed_by, rule.changed_at = enabled, user, now
    rule.version += 1
    rule.save()
    return rule


def artefact_files_prune(*, older_than: timedelta, dry_run: bool = False) -> list[str]:
    """Delete the stored artefact files no artefact row names (what a write that failed after
    storing its file left behind: the file is written before the row, in the transaction, and
    Django has no hook for a rollback). Files younger than ``older_than`` stay: their write may
    still be committing. Returns the names removed (or that would be, with ``dry_run``)."""
    storage = Artefact._meta.get_field("file").storage  # the one the files were written to
    root = Path(storage.location) / ARTEFACT_FOLDER
    if not root.is_dir():
        return []
    named = set(Artefact.objects.exclude(file="").values_list("file", flat=True))
    cutoff = time.time() - older_than.total_seconds()
    removed = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(storage.location).as_posix()
        if name in named or path.stat().st_mtime > cutoff:
            continue
        if not dry_run:
            path.unlink(missing_ok=True)
        removed.append(name)
    return removed
