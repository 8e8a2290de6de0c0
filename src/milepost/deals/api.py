"""Deal endpoints of the REST API: opportunities, stage moves, accounts, contacts, activities.

Handlers only parse input, call a selector or a service, and shape the answer. Row-level access
comes from the selectors (a hidden row is a 404, exactly like a missing one); domain errors are
mapped to HTTP in :mod:`milepost.core.api_errors`.

Every operation names its ``operation_id``: django-ninja derives the default from the module
path, and these endpoints were published as ``milepost_pipeline_api_*`` before they moved to the
deals app; generated clients depend on the ids, so they stay.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Query, Router, Status
from ninja.errors import HttpError

from milepost.accounts.selectors import account_get, account_list, contact_get, contact_list
from milepost.accounts.services import account_create, contact_create
from milepost.core.errors import InvalidChange
from milepost.core.schemas import ERRORS, ConflictOut, ErrorOut, PageQuery
from milepost.inspection.creates import opportunity_create_gated
from milepost.inspection.moves import opportunity_move_stage
from milepost.pipeline import schemas as s
from milepost.pipeline.choices import TransitionSource
from milepost.pipeline.selectors import (
    OpportunityFilters,
    opportunity_activities,
    opportunity_contacts,
    opportunity_get,
    opportunity_list,
    opportunity_transitions,
)
from milepost.pipeline.services import (
    activity_log,
    opportunity_archive,
    opportunity_contact_add,
    opportunity_contact_remove,
    opportunity_restore,
    opportunity_update,
)
from milepost.pipeline.validation import deal_warnings
from milepost.process.models import StageKind

router = Router()


# API ordering names → ORM ordering; ``id`` last so pages are stable.
OPPORTUNITY_ORDERING = {
    "close_date": ("close_date", "id"),
    "amount": ("amount", "id"),
    "name": ("name", "id"),
    "created_at": ("created_at", "id"),
    "updated_at": ("updated_at", "id"),
    "stage": ("stage__position", "id"),
}


def _ordering(key: str) -> tuple[str, ...]:
    descending = key.startswith("-")
    fields = OPPORTUNITY_ORDERING[key.lstrip("-")]
    return tuple(f"-{f}" for f in fields) if descending else fields


def _page(qs: QuerySet, query: PageQuery) -> dict:
    """One page of ``qs`` and the total count; the page size is capped by the settings."""
    limit = min(query.limit, settings.MILEPOST_API_PAGE_SIZE_MAX)
    return {
        "items": list(qs[query.offset : query.offset + limit]),
        "count": qs.count(),
        "limit": limit,
        "offset": query.offset,
    }


# --- opportunities -------------------------------------------------------------------------


@router.get(
    "/opportunities",
    response=s.OpportunityPage,
    tags=["opportunities"],
    operation_id="milepost_pipeline_api_list_opportunities",
)
def list_opportunities(request: HttpRequest, query: Query[s.OpportunityQuery]):
    """Opportunities you may see, filtered, ordered and paginated (``count`` is the total)."""
    filters = OpportunityFilters(
        owner_id=query.owner_id,
        team_of=query.team_of,
        process_key=query.process,
        stage_key=query.stage,
        status=query.status,
        forecast_category=query.forecast_category,
        close_from=query.close_from,
        close_to=query.close_to,
        search=query.q,
        account_id=query.account_id,
    )
    qs = opportunity_list(user=request.auth, filters=filters).order_by(*_ordering(query.ordering))
    return _page(qs, query)


@router.get(
    "/opportunities/{opportunity_id}",
    response={200: s.OpportunityOut, **ERRORS},
    tags=["opportunities"],
    operation_id="milepost_pipeline_api_get_opportunity",
)
def get_opportunity(request: HttpRequest, opportunity_id: int):
    return opportunity_get(user=request.auth, opportunity_id=opportunity_id)


@router.post(
    "/opportunities",
    response={201: s.OpportunityWriteOut, **ERRORS},
    tags=["opportunities"],
    operation_id="milepost_pipeline_api_create_opportunity",
)
def create_opportunity(request: HttpRequest, payload: s.OpportunityCreateIn):
    """Create a deal in the first open stage of its process, or in ``stage_key`` if it passes
    that stage's gate (as a move there would). ``warnings`` lists what looks wrong but was
    accepted (a close date already past)."""
    result = opportunity_create_gated(user=request.auth, **payload.model_dump())
    opp = opportunity_get(user=request.auth, opportunity_id=result.opportunity.pk)
    opp.warnings = result.warnings
    return Status(201, opp)


@router.patch(
    "/opportunities/{opportunity_id}",
    response={200: s.OpportunityWriteOut, 409: ConflictOut, **ERRORS},
    tags=["opportunities"],
    operation_id="milepost_pipeline_api_update_opportunity",
)
def update_opportunity(request: HttpRequest, opportunity_id: int, payload: s.OpportunityPatchIn):
    """Change the fields sent. A stale ``version`` is a 409 carrying the current version;
    ``warnings`` lists what looks wrong in the new values but was accepted."""
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    if not changes:
        raise InvalidChange(gettext("send at least one field to change besides version"), field="")
    updated = opportunity_update(
        user=request.auth, opportunity_id=opportunity_id, expected_version=version, changes=changes
    )
    opp = opportunity_get(user=request.auth, opportunity_id=opportunity_id)
    opp.warnings = deal_warnings(
        {k: getattr(updated, k) for k in ("close_date", "next_step_date") if k in changes},
        is_open=updated.stage.kind == StageKind.OPEN,
    )
    return opp


@router.post(
    "/opportunities/{opportunity_id}/move",
    response={200: s.MoveOut, 409: ConflictOut, **ERRORS},
    tags=["opportunities"],
    operation_id="milepost_pipeline_api_move_opportunity",
)
def move_opportunity(request: HttpRequest, opportunity_id: int, payload: s.MoveIn):
    """Move to another stage of the deal's process; the transition is recorded (source api)."""
    by_id = isinstance(payload.stage, int)
    result = opportunity_move_stage(
        user=request.auth,
        opportunity_id=opportunity_id,
        to_stage_id=payload.stage if by_id else None,
        to_stage_key=None if by_id else payload.stage,
        expected_version=payload.version,
        source=TransitionSource.API,
        note=payload.note,
        lost_reason=payload.lost_reason,
        justification=payload.justification,
    )
    return {
        "opportunity": opportunity_get(user=request.auth, opportunity_id=opportunity_id),
        "transition": result.transition,
    }


ARCHIVE_ERRORS = {403: ErrorOut, 409: ConflictOut, **ERRORS}


@router.post(
    "/opportunities/{opportunity_id}/archive",
    response={200: s.ArchiveOut, **ARCHIVE_ERRORS},
    tags=["opportunities"],
    operation_id="milepost_pipeline_api_archive_opportunity",
)
def archive_opportunity(request: HttpRequest, opportunity_id: int, payload: s.ArchiveIn):
    """Hide the deal from every list, board and inspection, keeping its history (admins only:
    403 for anyone else). A stale ``version`` is a 409; restore undoes it."""
    try:
        return opportunity_archive(
            user=request.auth, opportunity_id=opportunity_id, expected_version=payload.version
        )
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None


@router.post(
    "/opportunities/{opportunity_id}/restore",
    response={200: s.ArchiveOut, **ARCHIVE_ERRORS},
    tags=["opportunities"],
    operation_id="milepost_pipeline_api_restore_opportunity",
)
def restore_opportunity(request: HttpRequest, opportunity_id: int, payload: s.ArchiveIn):
    """Bring an archived deal back (admins only: 403 for anyone else); stale ``version``: 409."""
    try:
        return opportunity_restore(
            user=request.auth, opportunity_id=opportunity_id, expected_version=payload.version
        )
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None


@router.get(
    "/opportunities/{opportunity_id}/transitions",
    response={200: list[s.TransitionOut], **ERRORS},
    tags=["opportunities"],
    operation_id="milepost_pipeline_api_list_transitions",
)
def list_transitions(request: HttpRequest, opportunity_id: int):
    opp = opportunity_get(user=request.auth, opportunity_id=opportunity_id)
    return opportunity_transitions(opportunity=opp)


@router.get(
    "/opportunities/{opportunity_id}/contacts",
    response={200: list[s.OpportunityContactOut], **ERRORS},
    tags=["opportunities"],
    operation_id="milepost_pipeline_api_list_opportunity_contacts",
)
def list_opportunity_contacts(request: HttpRequest, opportunity_id: int):
    opp = opportunity_get(user=request.auth, opportunity_id=opportunity_id)
    return opportunity_contacts(opportunity=opp)


@router.post(
    "/opportunities/{opportunity_id}/contacts",
    response={201: s.OpportunityContactOut, **ERRORS},
    tags=["opportunities"],
    operation_id="milepost_pipeline_api_add_opportunity_contact",
)
def add_opportunity_contact(
    request: HttpRequest, opportunity_id: int, payload: s.OpportunityContactIn
):
    """Record the buying role a contact of the deal's account plays in this deal."""
    return Status(
        201,
        opportunity_contact_add(
            user=request.auth, opportunity_id=opportunity_id, **payload.model_dump()
        ),
    )


@router.delete(
    "/opportunities/{opportunity_id}/contacts/{link_id}",
    response={204: None, 409: ConflictOut, **ERRORS},
    tags=["opportunities"],
    operation_id="milepost_pipeline_api_remove_opportunity_contact",
)
def remove_opportunity_contact(
    request: HttpRequest, opportunity_id: int, link_id: int, version: int | None = None
):
    """Remove one contact-role row (its ``id`` from the list); the contact itself stays.

    ``version`` (query) is the role's version you read: required, a stale one is a 409."""
    opportunity_contact_remove(
        user=request.auth, opportunity_id=opportunity_id, link_id=link_id, expected_version=version
    )
    return Status(204, None)


@router.get(
    "/opportunities/{opportunity_id}/activities",
    response={200: list[s.ActivityOut], **ERRORS},
    tags=["opportunities"],
    operation_id="milepost_pipeline_api_list_activities",
)
def list_activities(request: HttpRequest, opportunity_id: int):
    opp = opportunity_get(user=request.auth, opportunity_id=opportunity_id)
    return opportunity_activities(opportunity=opp)


@router.post(
    "/opportunities/{opportunity_id}/activities",
    response={201: s.ActivityOut, **ERRORS},
    tags=["opportunities"],
    operation_id="milepost_pipeline_api_log_activity",
)
def log_activity(request: HttpRequest, opportunity_id: int, payload: s.ActivityIn):
    return Status(
        201, activity_log(user=request.auth, opportunity_id=opportunity_id, **payload.model_dump())
    )


# --- accounts ------------------------------------------------------------------------------


@router.get(
    "/accounts",
    response=s.AccountPage,
    tags=["accounts"],
    operation_id="milepost_pipeline_api_list_accounts",
)
def list_accounts(request: HttpRequest, query: Query[s.AccountQuery]):
    """Accounts you may see: owned by someone visible to you or carrying a deal you may see."""
    return _page(account_list(user=request.auth, search=query.q), query)


@router.get(
    "/accounts/{account_id}",
    response={200: s.AccountOut, **ERRORS},
    tags=["accounts"],
    operation_id="milepost_pipeline_api_get_account",
)
def get_account(request: HttpRequest, account_id: int):
    return account_get(user=request.auth, account_id=account_id)


@router.post(
    "/accounts",
    response={201: s.AccountOut, **ERRORS},
    tags=["accounts"],
    operation_id="milepost_pipeline_api_create_account",
)
def create_account(request: HttpRequest, payload: s.AccountIn):
    """Any signed-in user may add an account; they own it unless ``owner_id`` says otherwise."""
    return Status(201, account_create(user=request.auth, **payload.model_dump()))


# --- contacts ------------------------------------------------------------------------------


@router.get(
    "/contacts",
    response=s.ContactPage,
    tags=["contacts"],
    operation_id="milepost_pipeline_api_list_contacts",
)
def list_contacts(request: HttpRequest, query: Query[s.ContactQuery]):
    qs = contact_list(user=request.auth, account_id=query.account_id, search=query.q)
    return _page(qs, query)


@router.get(
    "/contacts/{contact_id}",
    response={200: s.ContactOut, **ERRORS},
    tags=["contacts"],
    operation_id="milepost_pipeline_api_get_contact",
)
def get_contact(request: HttpRequest, contact_id: int):
    return contact_get(user=request.auth, contact_id=contact_id)


@router.post(
    "/contacts",
    response={201: s.ContactOut, **ERRORS},
    tags=["contacts"],
    operation_id="milepost_pipeline_api_create_contact",
)
def create_contact(request: HttpRequest, payload: s.ContactIn):
    """Add a contact to an account you may see."""
    return Status(201, contact_create(user=request.auth, **payload.model_dump()))
