"""Writes for methodologies: score elements and record buying influences on a deal.

Loading packs is :mod:`milepost.process.services` (packs are reference data like processes).

Who may write on a deal: anyone who may see it (its owner, the managers above the owner, an
admin), the same as for evidence. Every change is atomic, version-checked (optimistic lock) and
appends a history row with who and when. A bad value raises
:class:`~milepost.core.errors.InvalidChange` naming the field, and nothing is written.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from milepost.accounts.models import Contact
from milepost.accounts.selectors import contact_scope
from milepost.core.errors import InvalidChange, NotFound, VersionConflict, check_version
from milepost.engine.methodology_schema import (
    InfluenceModelDef,
    MethodologyDef,
)
from milepost.engine.process_schema import MethodologyUse
from milepost.evidence.services import artefact_create, artefact_rule_accepting
from milepost.methodology.models import (
    BuyingInfluence,
    BuyingInfluenceEvent,
    ElementAssessment,
    ElementAssessmentEvent,
    InfluenceAction,
)
from milepost.pipeline.models import Opportunity
from milepost.pipeline.services import opportunity_lock
from milepost.process.selectors import pack_definitions
from milepost.team.models import User

# ---------------------------------------------------------------------------------------------
# On a deal.


def rep_up_to(opportunity: Opportunity, pack_key: str, element: str) -> str | None:
    """The deal's process's limit on what a rep may set on ``element`` of ``pack_key`` (None:
    the pack's levels decide)."""
    for use in opportunity.stage.version.definition.get("methodologies", []):
        if use.get("pack") == pack_key:
            return MethodologyUse.model_validate(use).rep_limit(element)
    return None


def _pack_of_deal(opportunity: Opportunity, pack_key: str) -> MethodologyDef:
    used = [u.get("pack") for u in opportunity.stage.version.definition.get("methodologies", [])]
    if pack_key not in used:
        raise InvalidChange(
            gettext("this deal's process does not use the methodology %(pack_key)r")
            % {"pack_key": pack_key},
            field="pack",
        )
    packs = pack_definitions()
    if pack_key not in packs:
        raise InvalidChange(
            gettext("no methodology pack %(pack_key)r is loaded") % {"pack_key": pack_key},
            field="pack",
        )
    return packs[pack_key]


def _contacts(
    *, user: User, opportunity: Opportunity, contact_ids: list[int], field: str
) -> list[Contact]:
    """The deal's account contacts with these ids (visible to ``user``), or InvalidChange."""
    ids = sorted(set(contact_ids))
    if not ids:
        return []
    found = list(contact_scope(user=user).filter(pk__in=ids, account_id=opportunity.account_id))
    if opportunity.account_id is None or len(found) != len(ids):
        stray = sorted(set(ids) - {c.pk for c in found})
        raise InvalidChange(
            gettext("contact %(join)s is not a contact of this deal's account")
            % {"join": ", ".join(map(str, stray))},
            field=field,
        )
    return found


def _clean_answers(
    *, user: User, opportunity: Opportunity, pack: MethodologyDef, element: str, answers: dict
) -> dict[str, Any]:
    fields = {f.key: f for f in pack.element(element).fields}
    clean: dict[str, Any] = {}
    for key, raw in (answers or {}).items():
        field = fields.get(key)
        if field is None:
            raise InvalidChange(
                gettext("%(name)s %(element)s has no field %(key)r (fields: %(value)s)")
                % {
                    "name": pack.name,
                    "element": element,
                    "key": key,
                    "value": ", ".join(fields) or "none",
                },
                field=f"answers.{key}",
            )
        value = raw.strip() if isinstance(raw, str) else raw
        if value in (None, ""):
            continue
        where = f"answers.{key}"
        if field.type in ("text", "long_text"):
            if not isinstance(value, str) or len(value) > 4000:
                raise InvalidChange(
                    gettext("%(label)s: text up to 4000 characters") % {"label": field.label},
                    field=where,
                )
        elif field.type == "number":
            try:
                number = Decimal(str(value))
            except InvalidOperation:
                raise InvalidChange(
                    gettext("%(label)s: %(value)r is not a number")
                    % {"label": field.label, "value": value},
                    field=where,
                ) from None
            if not number.is_finite():
                raise InvalidChange(
                    gettext("%(label)s: %(value)r is not a number")
                    % {"label": field.label, "value": value},
                    field=where,
                )
            value = str(number)
        elif field.type == "date":
            try:
                value = date.fromisoformat(str(value)).isoformat()
            except ValueError:
                raise InvalidChange(
                    gettext("%(label)s: %(value)r is not a date (YYYY-MM-DD)")
                    % {"label": field.label, "value": value},
                    field=where,
                ) from None
        elif field.type == "choice":
            if value not in field.choices:
                raise InvalidChange(
                    gettext("%(label)s: %(value)r is not one of %(join)s")
                    % {"label": field.label, "value": value, "join": ", ".join(field.choices)},
                    field=where,
                )
        elif field.type == "contact":
            try:
                contact_id = int(value)
            except (TypeError, ValueError):
                raise InvalidChange(
                    gettext("%(label)s: not a contact id") % {"label": field.label}, field=where
                ) from None
            _contacts(user=user, opportunity=opportunity, contact_ids=[contact_id], field=where)
            value = contact_id
        clean[key] = value
    return clean


@transaction.atomic
def assessment_record(
    *,
    user: User,
    opportunity_id: int,
    pack: str,
    element: str,
    level: str,
    notes: str = "",
    answers: dict[str, Any] | None = None,
    contact_ids: list[int] | None = None,
    expected_version: int | None = None,
    artefact_kind: str = "",
    artefact_text: str = "",
    artefact_file: Any = None,
    attendee_id: int | None = None,
) -> ElementAssessment:
    """Score one methodology element on a deal (create or update).

    The deal's owner may set, on their own word, the levels the pack (``set_by``) and the
    process (``rep_up_to``, ``rep_up_to_per_element``) allow; a higher score is recorded as a
    claim: it counts at the highest level below it they may set (``verified_level``) until a
    manager verifies it (:func:`assessment_verify`). The owner may attach the buyer's proof
    (``artefact_*``, as for evidence: their e-mail, a signed document, meeting notes naming the
    attendee ``attendee_id``); an admin's acceptance rule that accepts it makes the score count
    at once, otherwise the manager who verifies accepts it. Someone other than the owner (a
    manager above them, an admin) vouches for what they set: it counts as it is. Updating an
    existing assessment needs ``expected_version`` (the version the caller read); a stale one
    raises :class:`VersionConflict`. Whatever is refused writes nothing, no file either.
    """
    opportunity = opportunity_lock(user=user, opportunity_id=opportunity_id)
    definition = _pack_of_deal(opportunity, pack)
    try:
        scale = definition.scale_of(element)
    except KeyError:
        raise InvalidChange(
            gettext("%(name)s has no element %(element)r")
            % {"name": definition.name, "element": element},
            field="element",
        ) from None
    if level not in scale.keys:
        raise InvalidChange(
            gettext("%(level)r is not a level of %(name)s %(element)s (levels: %(join)s)")
            % {
                "level": level,
                "name": definition.name,
                "element": element,
                "join": ", ".join(scale.keys),
            },
            field="level",
        )
    notes = (notes or "").strip()
    if len(notes) > 4000:
        raise InvalidChange(gettext("the notes are longer than 4000 characters"), field="notes")
    clean = _clean_answers(
        user=user, opportunity=opportunity, pack=definition, element=element, answers=answers or {}
    )
    contacts = _contacts(
        user=user, opportunity=opportunity, contact_ids=list(contact_ids or []), field="contacts"
    )
    attendees = _contacts(
        user=user,
        opportunity=opportunity,
        contact_ids=[attendee_id] if attendee_id is not None else [],
        field="attendee",
    )
    current = (
        ElementAssessment.objects.select_for_update()
        .filter(opportunity=opportunity, pack=pack, element=element)
        .first()
    )
    if current is None:
        if expected_version not in (None, 0):
            raise VersionConflict(0, what="assessment")
    else:
        check_version(current.version, expected_version, what="assessment")
    now = timezone.now()
    # Last, every other check passed: it stores the file.
    artefact = artefact_create(
        user=user,
        opportunity=opportunity,
        kind=artefact_kind,
        text=artefact_text,
        upload=artefact_file,
        attendee=attendees[0] if attendees else None,
        at=now,
        attendee_field="attendee",
    )
    is_owner = user.pk == opportunity.owner_id
    limit = rep_up_to(opportunity, pack, element)
    counted = scale.rep_counts(level, rep_up_to=limit) if is_owner else level
    rule = artefact_rule_accepting(opportunity, artefact) if counted != level else ""
    if rule:
        counted = level
    verified_by = None if is_owner else user
    verified_at = now if (rule or not is_owner) else None
    values = dict(
        level=level,
        verified_level=counted,
        verified_by=verified_by,
        verified_at=verified_at,
        artefact=artefact,
        accepted_by_rule=rule,
        notes=notes,
        answers=clean,
        updated_by=user,
        updated_at=now,
    )
    previous = ""
    if current is None:
        current = ElementAssessment.objects.create(
            opportunity=opportunity, pack=pack, element=element, **values
        )
    else:
        previous = current.level
        for name, value in values.items():
            setattr(current, name, value)
        current.version += 1
        current.save()
    current.contacts.set(contacts)
    ElementAssessmentEvent.objects.create(
        assessment=current,
        opportunity=opportunity,
        pack=pack,
        element=element,
        level=level,
        verified_level=counted,
        previous_level=previous,
        artefact_id=artefact.pk if artefact is not None else None,
        accepted_by_rule=rule,
        notes=notes,
        answers=clean,
        contact_ids=[c.pk for c in contacts],
        actor=user,
        at=now,
    )
    return current


@transaction.atomic
def assessment_verify(
    *, user: User, opportunity_id: int, pack: str, element: str, expected_version: int | None
) -> ElementAssessment:
    """A manager of the deal's owner (or an admin) verifies the owner's score: the level
    scored becomes the level that counts (with the buyer's artefact attached, verifying it is
    accepting it). Nobody verifies their own deal (InvalidChange)."""
    opportunity = opportunity_lock(user=user, opportunity_id=opportunity_id)
    if opportunity.owner_id == user.pk:
        raise InvalidChange(gettext("you cannot verify scores on your own deal"), field="user")
    current = (
        ElementAssessment.objects.select_for_update()
        .filter(opportunity=opportunity, pack=pack, element=element)
        .first()
    )
    if current is None:
        raise NotFound(gettext("no score recorded for %(element)r") % {"element": element})
    check_version(current.version, expected_version, what="assessment")
    if current.verified_level == current.level:
        raise InvalidChange(gettext("this score is not awaiting verification"))
    now = timezone.now()
    current.verified_level = current.level
    current.verified_by, current.verified_at = user, now
    current.version += 1
    current.save()
    ElementAssessmentEvent.objects.create(
        assessment=current,
        opportunity=opportunity,
        pack=pack,
        element=element,
        level=current.level,
        verified_level=current.level,
        verified=True,
        previous_level=current.level,
        artefact_id=current.artefact_id,
        notes=current.notes,
        answers=current.answers,
        contact_ids=list(current.contacts.values_list("pk", flat=True)),
        actor=user,
        at=now,
    )
    return current


def _influence_model(opportunity: Opportunity, pack: str) -> InfluenceModelDef:
    definition = _pack_of_deal(opportunity, pack)
    if definition.buying_influences is None:
        raise InvalidChange(
            gettext("%(name)s has no buying influences") % {"name": definition.name}, field="pack"
        )
    return definition.buying_influences


def _influence_event(influence: BuyingInfluence, *, action: str, actor: User) -> None:
    BuyingInfluenceEvent.objects.create(
        opportunity_id=influence.opportunity_id,
        contact_id=influence.contact_id,
        action=action,
        role=influence.role,
        degree=influence.degree,
        response_mode=influence.response_mode,
        rating=influence.rating,
        win_results=influence.win_results,
        notes=influence.notes,
        actor=actor,
        at=timezone.now(),
    )


@transaction.atomic
def influence_save(
    *,
    user: User,
    opportunity_id: int,
    pack: str,
    contact_id: int,
    role: str,
    degree: str,
    response_mode: str,
    rating: int = 0,
    win_results: str = "",
    notes: str = "",
    influence_id: int | None = None,
    expected_version: int | None = None,
) -> BuyingInfluence:
    """Add a buying influence, or update one (``influence_id`` + ``expected_version``)."""
    opportunity = opportunity_lock(user=user, opportunity_id=opportunity_id)
    model = _influence_model(opportunity, pack)
    for name, value, options in (
        ("role", role, model.roles),
        ("degree", degree, model.degrees),
        ("response_mode", response_mode, model.response_modes),
    ):
        keys = [o.key for o in options]
        if value not in keys:
            raise InvalidChange(
                gettext("%(value)r is not one of %(join)s")
                % {"value": value, "join": ", ".join(keys)},
                field=name,
            )
    if not isinstance(rating, int) or not model.rating_min <= rating <= model.rating_max:
        raise InvalidChange(
            gettext("the rating is a whole number from %(rating_min)s to %(rating_max)s")
            % {"rating_min": model.rating_min, "rating_max": model.rating_max},
            field="rating",
        )
    for name, text in (("win_results", win_results), ("notes", notes)):
        if len(text or "") > 4000:
            raise InvalidChange(
                gettext("%(replace)s is longer than 4000 characters")
                % {"replace": name.replace("_", " ")},
                name,
            )
    (contact,) = _contacts(
        user=user, opportunity=opportunity, contact_ids=[contact_id], field="contact"
    )
    values = {
        "contact": contact,
        "pack": pack,
        "role": role,
        "degree": degree,
        "response_mode": response_mode,
        "rating": rating,
        "win_results": (win_results or "").strip(),
        "notes": (notes or "").strip(),
        "updated_by": user,
        "updated_at": timezone.now(),
    }
    clash = BuyingInfluence.objects.filter(opportunity=opportunity, contact=contact, role=role)
    if influence_id is None:
        if clash.exists():
            raise InvalidChange(
                gettext("%(contact)s is already recorded as %(replace)s on this deal")
                % {"contact": contact, "replace": role.replace("_", " ")},
                field="role",
            )
        influence = BuyingInfluence.objects.create(opportunity=opportunity, **values)
        _influence_event(influence, action=InfluenceAction.ADDED, actor=user)
        return influence
    influence = _own_influence(opportunity, influence_id)
    check_version(influence.version, expected_version, what="buying influence")
    if clash.exclude(pk=influence.pk).exists():
        raise InvalidChange(
            gettext("%(contact)s is already recorded as %(replace)s on this deal")
            % {"contact": contact, "replace": role.replace("_", " ")},
            field="role",
        )
    for name, value in values.items():
        setattr(influence, name, value)
    influence.version += 1
    influence.save()
    _influence_event(influence, action=InfluenceAction.UPDATED, actor=user)
    return influence


def _own_influence(opportunity: Opportunity, influence_id: int) -> BuyingInfluence:
    influence = (
        BuyingInfluence.objects.select_for_update()
        .filter(pk=influence_id, opportunity=opportunity)
        .first()
    )
    if influence is None:
        raise NotFound(
            gettext("buying influence %(influence_id)s") % {"influence_id": influence_id}
        )
    return influence


@transaction.atomic
def influence_remove(
    *, user: User, opportunity_id: int, influence_id: int, expected_version: int
) -> None:
    opportunity = opportunity_lock(user=user, opportunity_id=opportunity_id)
    influence = _own_influence(opportunity, influence_id)
    check_version(influence.version, expected_version, what="buying influence")
    _influence_event(influence, action=InfluenceAction.REMOVED, actor=user)
    influence.delete()
