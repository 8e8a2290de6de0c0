"""Writes for the pipeline. Every write is atomic, permission-checked and version-checked.

- :func:`opportunity_create` starts a deal in the first open stage of a process (or a named one)
  and records its first transition.
- :func:`opportunity_update` changes plain fields under optimistic locking.
- :func:`stage_change` is the ungated stage-change primitive (moves, imports, process
  migrations); the gated move a person asks for is
  :func:`milepost.inspection.moves.opportunity_move_stage` (the gate needs exit criteria).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from milepost.accounts.selectors import account_get, contact_scope
from milepost.core.errors import InvalidChange, NotFound, VersionConflict, check_version
from milepost.pipeline.choices import TransitionSource
from milepost.pipeline.facts import stage_steps
from milepost.pipeline.models import Opportunity, OpportunityChange, StageTransition
from milepost.pipeline.selectors import opportunity_get
from milepost.process.models import ForecastCategory, ProcessVersion, Stage, StageKind
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
        raise InvalidChange(f"you cannot assign deals to user {owner_id}", field="owner_id")
    try:
        return User.objects.get(pk=owner_id, is_active=True)
    except User.DoesNotExist:
        raise InvalidChange(f"user {owner_id} does not exist", field="owner_id") from None


def _visible_account_id(*, user: User, account_id: Any) -> int | None:
    # A hidden account is bad input named by its field; the message is the same as for an id
    # that does not exist, so nothing about other teams' accounts leaks.
    if account_id is None:
        return None
    try:
        return account_get(user=user, account_id=account_id).pk
    except NotFound:
        raise InvalidChange(f"account {account_id} not found", field="account_id") from None


_AMOUNT_FIELD = Opportunity._meta.get_field("amount")
AMOUNT_LIMIT = Decimal(10) ** (_AMOUNT_FIELD.max_digits - _AMOUNT_FIELD.decimal_places)  # type: ignore[attr-defined]


def _clean_amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidChange(f"amount {value!r} is not a number", field="amount") from None
    if not amount.is_finite() or amount < 0:
        raise InvalidChange("amount must be zero or more", field="amount")
    if amount >= AMOUNT_LIMIT:
        # The column's size: past it PostgreSQL refuses the row and SQLite stores a value that
        # no page can then read back, so it is refused here, before anything is written.
        raise InvalidChange(f"amount must be less than {AMOUNT_LIMIT:,}", field="amount")
    return amount.quantize(Decimal("0.01"))


def _clean_currency(value: Any) -> str:
    text = str(value or "").upper()
    if len(text) != 3 or not text.isalpha():
        raise InvalidChange(f"currency {value!r} is not an ISO 4217 code", field="currency")
    return text


def _clean_changes(*, user: User, changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise InvalidChange(
            f"cannot change: {', '.join(sorted(unknown))}", field=sorted(unknown)[0]
        )
    clean: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "name":
            if not str(value or "").strip():
                raise InvalidChange("name cannot be empty", field="name")
            clean[field] = str(value).strip()[:200]
        elif field == "amount":
            clean[field] = _clean_amount(value)
        elif field == "currency":
            clean[field] = _clean_currency(value)
        elif field in ("close_date", "next_step_date"):
            if value is None and field == "next_step_date":
                clean[field] = None
            elif isinstance(value, date):
                clean[field] = value
            else:
                try:
                    clean[field] = date.fromisoformat(str(value))
                except ValueError:
                    raise InvalidChange(
                        f"{field} {value!r} is not a date (YYYY-MM-DD)", field=field
                    ) from None
        elif field == "forecast_category":
            if value not in ForecastCategory.values:
                raise InvalidChange(f"unknown forecast category {value!r}", field=field)
            clean[field] = value
        elif field == "probability":
            if value is not None and (not isinstance(value, int) or not 0 <= value <= 100):
                raise InvalidChange("probability is a whole number from 0 to 100", field=field)
            clean[field] = value
        elif field == "account_id":
            clean[field] = _visible_account_id(user=user, account_id=value)
        elif field == "owner_id":
            clean[field] = _assignable_owner(user=user, owner_id=value).pk
        else:
            clean[field] = "" if value is None else str(value)
    return clean


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
    at: datetime | None = None,
) -> Opportunity:
    """Create a deal in the current version of ``process_key`` and record its first stage."""
    now = at or timezone.now()
    version = ProcessVersion.objects.filter(process__key=process_key, is_current=True).first()
    if version is None:
        raise InvalidChange(f"no process {process_key!r} is loaded", field="process_key")
    stages = Stage.objects.filter(version=version)
    stage = (
        stages.filter(key=stage_key).first()
        if stage_key
        else stages.filter(kind=StageKind.OPEN).order_by("position").first()
    )
    if stage is None:
        raise InvalidChange(
            f"process {process_key!r} has no stage {stage_key!r}", field="stage_key"
        )
    fields = _clean_changes(
        user=user,
        changes={
            "name": name,
            "amount": amount,
            "currency": currency,
            "close_date": close_date,
            "next_step": next_step,
            "next_step_date": next_step_date,
            "source": source,
            "account_id": account_id,
            "owner_id": owner_id if owner_id is not None else user.pk,
        },
    )
    opp = Opportunity.objects.create(
        **fields,
        stage=stage,
        stage_entered_at=now,
        probability=stage.default_probability,
        forecast_category=stage.default_forecast_category,
        created_at=now,
        updated_at=now,
        closed_at=now if stage.kind != StageKind.OPEN else None,
    )
    StageTransition.objects.create(
        opportunity=opp,
        from_stage=None,
        to_stage=stage,
        moved_at=now,
        moved_by=user,
        amount=opp.amount,
        currency=opp.currency,
        close_date=opp.close_date,
        source=TransitionSource.USER,
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
        **clean, updated_at=now, version=F("version") + 1
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
    return transition


def ensure_visible(*, user: User, opportunity_id: int) -> None:
    """Raise :class:`NotFound` unless ``user`` may see the opportunity."""
    opportunity_get(user=user, opportunity_id=opportunity_id)


__all__ = [
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
        raise InvalidChange("the deal has no account, so it has no contacts", field="contact_id")
    if missing:
        raise InvalidChange(
            f"contact {missing[0]} is not a contact of this deal's account", field="contact_id"
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
        raise InvalidChange(f"unknown buying role {buying_role!r}", field="buying_role")
    (contact,) = _account_contacts(user=user, opportunity=opp, contact_ids=[contact_id])
    if OpportunityContact.objects.filter(
        opportunity=opp, contact=contact, buying_role=buying_role
    ).exists():
        raise InvalidChange(f"{contact} is already recorded in this role", field="buying_role")
    try:
        with transaction.atomic():  # savepoint: a concurrent add of the same role
            return OpportunityContact.objects.create(
                opportunity=opp, contact=contact, buying_role=buying_role, notes=str(notes or "")
            )
    except IntegrityError:
        raise InvalidChange(
            f"{contact} is already recorded in this role", field="buying_role"
        ) from None


@transaction.atomic
def opportunity_contact_remove(*, user: User, opportunity_id: int, link_id: int) -> None:
    """Remove one contact-role row from a visible deal (the contact itself is kept)."""
    opp = opportunity_get(user=user, opportunity_id=opportunity_id)
    deleted, _ = OpportunityContact.objects.filter(pk=link_id, opportunity=opp).delete()
    if not deleted:
        raise NotFound(f"contact role {link_id} not found on this opportunity")


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
        raise InvalidChange(f"unknown activity type {type!r}", field="type")
    clean_subject = str(subject or "").strip()
    if not clean_subject:
        raise InvalidChange("subject cannot be empty", field="subject")
    if len(clean_subject) > 200:
        raise InvalidChange("subject is longer than 200 characters", field="subject")
    when = occurred_at or timezone.now()
    if timezone.is_naive(when):
        raise InvalidChange("occurred_at needs a timezone (e.g. ...Z)", field="occurred_at")
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
