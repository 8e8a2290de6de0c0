"""Writes for the pipeline. Every write is atomic, permission-checked and version-checked.

- :func:`opportunity_create` starts a deal in the first open stage of a process (or a named one)
  and records its first transition.
- :func:`opportunity_update` changes plain fields under optimistic locking.
- :func:`stage_change` is the ungated stage-change primitive (moves, imports, process
  migrations); the gated move a person asks for is
  :func:`milepost.inspection.moves.opportunity_move_stage` (the gate needs exit criteria).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from milepost.accounts.selectors import account_get, contact_scope
from milepost.core.errors import InvalidChange, NotFound, VersionConflict, check_version
from milepost.pipeline.choices import TransitionSource
from milepost.pipeline.facts import stage_steps
from milepost.pipeline.models import Opportunity, OpportunityChange, StageTransition
from milepost.pipeline.selectors import opportunity_get
from milepost.pipeline.validation import AMOUNT_LIMIT, clean_deal_fields
from milepost.process.models import ProcessVersion, Stage, StageKind
from milepost.team.models import User
from milepost.team.selectors import visible_user_ids

# Fields a person may change directly. Stage, owner-less fields and bookkeeping are excluded:
# the stage changes only through a move (which writes the transition).
EDITABLE_FIELDS = frozenset(
    {
        "name",
        "amount",
        "currency",
        "close_date",
        "forecast_category",
        "probability",
        "next_step",
        "next_step_date",
        "source",
        "lost_reason",
        "account_id",
        "owner_id",
    }
)


def _assignable_owner(*, user: User, owner_id: int) -> User:
    visible = visible_user_ids(user)
    if visible is not None and owner_id not in visible:
        raise InvalidChange(
            gettext("you cannot assign deals to user %(owner_id)s") % {"owner_id": owner_id},
            field="owner_id",
        )
    try:
        return User.objects.get(pk=owner_id, is_active=True)
    except User.DoesNotExist:
        raise InvalidChange(
            gettext("user %(owner_id)s does not exist") % {"owner_id": owner_id}, field="owner_id"
        ) from None


def _visible_account_id(*, user: User, account_id: Any) -> int | None:
    # A hidden account is bad input named by its field; the message is the same as for an id
    # that does not exist, so nothing about other teams' accounts leaks.
    if account_id is None:
        return None
    try:
        return account_get(user=user, account_id=account_id).pk
    except NotFound:
        raise InvalidChange(
            gettext("account %(account_id)s not found") % {"account_id": account_id},
            field="account_id",
        ) from None


def _clean_changes(*, user: User, changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` checked by the one deal schema (:mod:`milepost.pipeline.validation`), plus
    the relations only a service can judge (may this user pick that account or owner?)."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise InvalidChange(
            gettext("cannot change: %(join)s") % {"join": ", ".join(sorted(unknown))},
            field=sorted(unknown)[0],
        )
    plain = {k: v for k, v in changes.items() if k not in ("account_id", "owner_id")}
    clean = clean_deal_fields(plain)
    if "account_id" in changes:
        clean["account_id"] = _visible_account_id(user=user, account_id=changes["account_id"])
    if "owner_id" in changes:
        clean["owner_id"] = _assignable_owner(user=user, owner_id=changes["owner_id"]).pk
    return clean


# A check run on a new deal before its first stage is recorded: given the deal (saved, still in
# the process's first open stage), the stage asked for and the moment, it raises to refuse or
# returns what to record as the transition's ``criteria_result``. The stage gate lives in
# inspection, above this app, so it comes in as an argument.
CreateGate = Callable[[Opportunity, Stage, datetime], dict[str, Any] | None]


def _create_stages(*, process_key: str, stage_key: str | None) -> tuple[Stage, Stage]:
    """The first open stage of the current version of ``process_key`` and the stage asked for."""
    version = ProcessVersion.objects.filter(process__key=process_key, is_current=True).first()
    if version is None:
        raise InvalidChange(
            gettext("no process %(process_key)r is loaded") % {"process_key": process_key},
            field="process_key",
        )
    stages = Stage.objects.filter(version=version)
    first = stages.filter(kind=StageKind.OPEN).order_by("position").first()
    target = stages.filter(key=stage_key).first() if stage_key else first
    if target is None or first is None:
        raise InvalidChange(
            gettext("process %(process_key)r has no stage %(stage_key)r")
            % {"process_key": process_key, "stage_key": stage_key},
            field="stage_key",
        )
    return first, target


@transaction.atomic
def opportunity_create(
    *,
    user: User,
    name: str,
    amount: Any,
    close_date: date | str,
    process_key: str = "new_business",
    stage_key: str | None = None,
    account_id: int | None = None,
    owner_id: int | None = None,
    currency: str = "USD",
    next_step: str = "",
    next_step_date: date | None = None,
    source: str = "",
    forecast_category: str | None = None,
    probability: int | None = None,
    at: datetime | None = None,
    gate: CreateGate | None = None,
) -> Opportunity:
    """Create a deal in the current version of ``process_key`` and record its first stage.

    Without ``gate`` this is the ungated primitive (factories, imports). With one, a deal
    asked for in a later stage is first saved in the first open stage, ``gate`` judges the
    jump (it may raise, and then nothing is kept), and one transition to the stage asked for
    records what the gate said. ``forecast_category`` and ``probability`` default to the
    stage's; a given probability is a personal override (who and when kept).
    """
    now = at or timezone.now()
    first, target = _create_stages(process_key=process_key, stage_key=stage_key)
    changes: dict[str, Any] = {
        "name": name,
        "amount": amount,
        "currency": currency,
        "close_date": close_date,
        "next_step": next_step,
        "next_step_date": next_step_date,
        "source": source,
        "account_id": account_id,
        "owner_id": owner_id if owner_id is not None else user.pk,
    }
    if forecast_category is not None:
        changes["forecast_category"] = forecast_category
    if probability is not None:
        changes["probability"] = probability
    fields = _clean_changes(user=user, changes=changes)
    category = fields.pop("forecast_category", None)
    override = fields.pop("probability", None)
    gated = gate is not None and target.pk != first.pk
    start = first if gated else target
    opp = Opportunity.objects.create(
        **fields,
        stage=start,
        stage_entered_at=now,
        probability=start.default_probability,
        forecast_category=start.default_forecast_category,
        created_at=now,
        updated_at=now,
        closed_at=now if start.kind != StageKind.OPEN else None,
    )
    criteria_result = gate(opp, target, now) if gated and gate is not None else None
    opp.stage = target
    opp.probability = target.default_probability
    opp.forecast_category = category or target.default_forecast_category
    opp.closed_at = now if target.kind != StageKind.OPEN else None
    if override is not None and target.kind == StageKind.OPEN:
        opp.probability = override
        opp.probability_overridden = True
        opp.probability_set_by = user
        opp.probability_set_at = now
    opp.save()
    StageTransition.objects.create(
        opportunity=opp,
        from_stage=None,
        to_stage=target,
        moved_at=now,
        moved_by=user,
        amount=opp.amount,
        currency=opp.currency,
        close_date=opp.close_date,
        source=TransitionSource.USER,
        criteria_result=criteria_result,
    )
    return opp


def opportunity_lock(*, user: User, opportunity_id: int) -> Opportunity:
    """The deal ``user`` may see, locked for the rest of the transaction (``NotFound`` when
    hidden). Every write that hangs off a deal (evidence, scores, contacts) starts here, so
    two writers to one deal queue instead of interleaving."""
    opportunity_get(user=user, opportunity_id=opportunity_id)  # visibility: NotFound if hidden
    return (
        Opportunity.objects.select_for_update()
        .select_related("stage__version")
        .get(pk=opportunity_id)
    )


def _locked(*, user: User, opportunity_id: int, expected_version: int | None) -> Opportunity:
    opp = opportunity_lock(user=user, opportunity_id=opportunity_id)
    check_version(opp.version, expected_version, what="opportunity")
    return opp


def _change_record(
    *, opp: Opportunity, clean: dict[str, Any], user: User, at: datetime
) -> OpportunityChange | None:
    """The history row for a close-date or amount change, or None when neither changes."""
    close_date = clean.get("close_date", opp.close_date)
    amount = clean.get("amount", opp.amount)
    date_moved = close_date != opp.close_date
    amount_moved = amount != opp.amount
    if not (date_moved or amount_moved):
        return None
    return OpportunityChange(
        opportunity=opp,
        changed_at=at,
        changed_by=user,
        source=TransitionSource.USER,
        close_date_from=opp.close_date if date_moved else None,
        close_date_to=close_date if date_moved else None,
        close_date_shift_days=(close_date - opp.close_date).days if date_moved else None,
        amount_from=opp.amount if amount_moved else None,
        amount_to=amount if amount_moved else None,
    )


@transaction.atomic
def opportunity_update(
    *, user: User, opportunity_id: int, expected_version: int, changes: dict[str, Any]
) -> Opportunity:
    """Apply ``changes`` if nobody changed the deal since ``expected_version``.

    Setting ``probability`` marks it as a personal override (who and when are kept); setting it
    to ``None`` returns to the stage default. Raises NotFound, VersionConflict or InvalidChange
    and writes nothing in those cases.
    """
    clean = _clean_changes(user=user, changes=changes)
    opp = _locked(user=user, opportunity_id=opportunity_id, expected_version=expected_version)
    now = timezone.now()
    if "probability" in clean:
        if clean["probability"] is None:
            clean.update(
                probability=opp.stage.default_probability,
                probability_overridden=False,
                probability_set_by=None,
                probability_set_at=None,
            )
        else:
            clean.update(
                probability_overridden=True, probability_set_by=user, probability_set_at=now
            )
    change = _change_record(opp=opp, clean=clean, user=user, at=now)
    updated = Opportunity.objects.filter(pk=opp.pk, version=expected_version).update(
        **clean, updated_at=now, updated_by=user, version=F("version") + 1
    )
    if updated != 1:  # pragma: no cover - guarded by the row lock on PostgreSQL
        raise VersionConflict(Opportunity.objects.get(pk=opp.pk).version)
    if change is not None:
        change.save()
    opp.refresh_from_db()
    return opp


def stage_change(
    *,
    opportunity: Opportunity,
    target: Stage,
    at: datetime,
    moved_by: User | None,
    source: str,
    note: str = "",
) -> StageTransition:
    """Put ``opportunity`` in ``target`` as of ``at`` and return the (unsaved) transition.

    The one definition of what a stage change records and does, shared by moves and imports
    (which save in bulk): the transition keeps the amount and close date *at that moment* and
    the time spent in the previous stage; the deal takes the stage's forecast category, and its
    probability follows the stage default unless a person overrode it. Closing ends an
    override: won and lost are facts, not estimates. The caller saves both rows.
    """
    transition = StageTransition(
        opportunity=opportunity,
        from_stage=opportunity.stage,
        to_stage=target,
        moved_at=at,
        moved_by=moved_by,
        amount=opportunity.amount,
        currency=opportunity.currency,
        close_date=opportunity.close_date,
        seconds_in_from_stage=int((at - opportunity.stage_entered_at).total_seconds()),
        source=source,
        note=note[:500],
        stage_steps=stage_steps(
            opportunity.stage.kind,
            opportunity.stage.position,
            target.kind,
            target.position,
            source,
        ),
    )
    opportunity.stage = target
    opportunity.stage_entered_at = at
    opportunity.forecast_category = target.default_forecast_category
    if target.kind != StageKind.OPEN:
        opportunity.probability_overridden = False
        opportunity.probability_set_by = None
        opportunity.probability_set_at = None
    if not opportunity.probability_overridden:
        opportunity.probability = target.default_probability
    opportunity.closed_at = at if target.kind != StageKind.OPEN else None
    opportunity.updated_by = moved_by
    return transition


def ensure_visible(*, user: User, opportunity_id: int) -> None:
    """Raise :class:`NotFound` unless ``user`` may see the opportunity."""
    opportunity_get(user=user, opportunity_id=opportunity_id)


__all__ = [
    "AMOUNT_LIMIT",
    "EDITABLE_FIELDS",
    "InvalidChange",
    "NotFound",
    "VersionConflict",
    "ensure_visible",
    "opportunity_create",
    "opportunity_update",
]


# --- Contacts on a deal and activities (used by the API) -----------------------------------
# Appended as a block (imports included) so the functions above stay untouched for the code
# that imports them.

from django.db import IntegrityError  # noqa: E402

from milepost.accounts.models import Contact  # noqa: E402
from milepost.pipeline.choices import ActivityType, BuyingRole  # noqa: E402
from milepost.pipeline.models import Activity, OpportunityContact  # noqa: E402


def _account_contacts(
    *, user: User, opportunity: Opportunity, contact_ids: list[int]
) -> list[Contact]:
    """The contacts named by ``contact_ids``, each a visible contact of the deal's account.

    Anything else (another account's contact, a hidden or missing one) is the same
    InvalidChange, so the answer never reveals whether a hidden contact exists.
    """
    wanted = list(dict.fromkeys(contact_ids))
    found = {
        c.pk: c
        for c in contact_scope(user=user).filter(pk__in=wanted, account_id=opportunity.account_id)
    }
    missing = [cid for cid in wanted if cid not in found]
    if opportunity.account_id is None and wanted:
        raise InvalidChange(
            gettext("the deal has no account, so it has no contacts"), field="contact_id"
        )
    if missing:
        raise InvalidChange(
            gettext("contact %(missing)s is not a contact of this deal's account")
            % {"missing": missing[0]},
            field="contact_id",
        )
    return [found[cid] for cid in wanted]


@transaction.atomic
def opportunity_contact_add(
    *, user: User, opportunity_id: int, contact_id: int, buying_role: str, notes: str = ""
) -> OpportunityContact:
    """Record that a contact of the deal's account plays ``buying_role`` in this deal.

    Anyone who may see the deal may do this; only contacts of the deal's own account qualify
    (for every role, not only reps). The same contact may hold several roles, each once.
    """
    opp = opportunity_get(user=user, opportunity_id=opportunity_id)
    if buying_role not in BuyingRole.values:
        raise InvalidChange(
            gettext("unknown buying role %(buying_role)r") % {"buying_role": buying_role},
            field="buying_role",
        )
    (contact,) = _account_contacts(user=user, opportunity=opp, contact_ids=[contact_id])
    if OpportunityContact.objects.filter(
        opportunity=opp, contact=contact, buying_role=buying_role
    ).exists():
        raise InvalidChange(
            gettext("%(contact)s is already recorded in this role") % {"contact": contact},
            field="buying_role",
        )
    try:
        with transaction.atomic():  # savepoint: a concurrent add of the same role
            return OpportunityContact.objects.create(
                opportunity=opp, contact=contact, buying_role=buying_role, notes=str(notes or "")
            )
    except IntegrityError:
        raise InvalidChange(
            gettext("%(contact)s is already recorded in this role") % {"contact": contact},
            field="buying_role",
        ) from None


@transaction.atomic
def opportunity_contact_remove(
    *, user: User, opportunity_id: int, link_id: int, expected_version: int | None = None
) -> None:
    """Remove one contact-role row from a visible deal (the contact itself is kept), if it is
    unchanged since ``expected_version`` was read."""
    opp = opportunity_get(user=user, opportunity_id=opportunity_id)
    link = (
        OpportunityContact.objects.select_for_update().filter(pk=link_id, opportunity=opp).first()
    )
    if link is None:
        raise NotFound(
            gettext("contact role %(link_id)s not found on this opportunity") % {"link_id": link_id}
        )
    check_version(link.version, expected_version, what="contact role")
    link.delete()


@transaction.atomic
def activity_log(
    *,
    user: User,
    opportunity_id: int,
    type: str,
    subject: str,
    occurred_at: datetime | None = None,
    outcome: str = "",
    contact_ids: list[int] | None = None,
) -> Activity:
    """Log something done on a visible deal; ``user`` becomes the activity's owner.

    ``occurred_at`` must carry a timezone (stored in UTC); the contacts must belong to the
    deal's account. Does not move the deal or touch its version.
    """
    opp = opportunity_get(user=user, opportunity_id=opportunity_id)
    if type not in ActivityType.values:
        raise InvalidChange(
            gettext("unknown activity type %(type)r") % {"type": type}, field="type"
        )
    clean_subject = str(subject or "").strip()
    if not clean_subject:
        raise InvalidChange(gettext("subject cannot be empty"), field="subject")
    if len(clean_subject) > 200:
        raise InvalidChange(gettext("subject is longer than 200 characters"), field="subject")
    when = occurred_at or timezone.now()
    if timezone.is_naive(when):
        raise InvalidChange(
            gettext("occurred_at needs a timezone (e.g. ...Z)"), field="occurred_at"
        )
    contacts = _account_contacts(user=user, opportunity=opp, contact_ids=list(contact_ids or []))
    activity = Activity.objects.create(
        opportunity=opp,
        type=type,
        occurred_at=when,
        owner=user,
        subject=clean_subject,
        outcome=str(outcome or ""),
    )
    activity.contacts.set(contacts)
    return activity


__all__ += ["activity_log", "opportunity_contact_add", "opportunity_contact_remove"]


# --- Archive (admins) ----------------------------------------------------------------------

from django.core.exceptions import PermissionDenied  # noqa: E402


def _admin_locked(*, user: User, opportunity_id: int, expected_version: int) -> Opportunity:
    if not (user.is_authenticated and user.is_active and user.is_admin):
        raise PermissionDenied(gettext("only admins archive or restore deals"))
    try:
        opp = Opportunity.objects.select_for_update().get(pk=opportunity_id)
    except (Opportunity.DoesNotExist, ValueError, TypeError):
        raise NotFound(
            gettext("opportunity %(opportunity_id)s not found") % {"opportunity_id": opportunity_id}
        ) from None
    check_version(opp.version, expected_version, what="opportunity")
    return opp


@transaction.atomic
def opportunity_archive(*, user: User, opportunity_id: int, expected_version: int) -> Opportunity:
    """Hide a deal from every list, board and inspection, keeping it and its history.

    Admins only (``PermissionDenied`` otherwise). Who and when are recorded; restoring undoes
    it. There is no hard delete: transitions feed conversion and forecast history.
    """
    opp = _admin_locked(user=user, opportunity_id=opportunity_id, expected_version=expected_version)
    if opp.archived_at is not None:
        raise InvalidChange(gettext("the deal is already archived"), field="")
    now = timezone.now()
    opp.archived_at, opp.archived_by = now, user
    opp.updated_at, opp.updated_by, opp.version = now, user, opp.version + 1
    opp.save(update_fields=["archived_at", "archived_by", "updated_at", "updated_by", "version"])
    return opp


@transaction.atomic
def opportunity_restore(*, user: User, opportunity_id: int, expected_version: int) -> Opportunity:
    """Bring an archived deal back to the lists (admins only); the archive stamp is cleared."""
    opp = _admin_locked(user=user, opportunity_id=opportunity_id, expected_version=expected_version)
    if opp.archived_at is None:
        raise InvalidChange(gettext("the deal is not archived"), field="")
    opp.archived_at, opp.archived_by = None, None
    opp.updated_at, opp.updated_by, opp.version = timezone.now(), user, opp.version + 1
    opp.save(update_fields=["archived_at", "archived_by", "updated_at", "updated_by", "version"])
    return opp


__all__ += ["opportunity_archive", "opportunity_restore"]
