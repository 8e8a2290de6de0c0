"""The one validation of evidence input, used by the API and by the process map's forms.

Bounds follow the columns (:mod:`milepost.evidence.models`); what needs the database (a contact
of the deal's account, whether a claim has an artefact, reading the artefact) stays in the
services.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.translation import gettext
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from milepost.core.bounded import Text
from milepost.core.schemas import RowId, StrictInput
from milepost.evidence.artefacts import ARTEFACT_TEXT_MAX

_URL = URLValidator(schemes=["http", "https"])


def _link(value: str) -> str:
    if value:
        try:
            _URL(value)
        except DjangoValidationError:
            raise PydanticCustomError("url", gettext("is not an http(s) link")) from None
    return value


def _note(value: str) -> str:
    if len(value) < 3:
        raise PydanticCustomError(
            "text_short", gettext("say what the evidence is (at least 3 characters)")
        )
    return value


def _reason(value: str) -> str:
    if len(value) < 3:
        raise PydanticCustomError("text_short", gettext("say why (at least 3 characters)"))
    return value


def _not_future(value: date | None) -> date | None:
    if value is not None and value > timezone.localdate():
        raise PydanticCustomError("date_future", gettext("cannot be in the future"))
    if value is not None and value.year < 1990:
        raise PydanticCustomError("date_past", gettext("is before 1990"))
    return value


Note = Annotated[Text(4000, required=True), AfterValidator(_note)]
Link = Annotated[Text(500), AfterValidator(_link)]
EvidenceDate = Annotated[date | None, AfterValidator(_not_future)]
ArtefactKindIn = Literal["", "email", "document", "meeting_notes"]


class EvidenceFields(StrictInput):
    """What a person records as evidence for a criterion (the file of an artefact, if any,
    comes beside it: a multipart upload)."""

    note: Note = Field(..., description="What the evidence is (3+ characters)")
    link: Link = Field("", description="An http(s) link to it, if any")
    evidence_date: EvidenceDate = Field(None, description="When it happened; not in the future")
    buyer_confirmed: bool = Field(
        False,
        description=(
            "Claim the buyer confirmed it: needs an artefact and the buyer contact; it counts "
            "as buyer-confirmed once a manager (or an admin's rule) accepts the artefact"
        ),
    )
    confirmed_by: RowId | None = Field(None, description="Id of a contact of the deal's account")
    artefact_kind: ArtefactKindIn = Field(
        "",
        description=(
            "email (the raw message, pasted in artefact_text or an uploaded .eml), document "
            "(a signed PDF, PNG or JPEG upload) or meeting_notes (artefact_text naming the "
            "attendee in confirmed_by)"
        ),
    )
    artefact_text: Text(ARTEFACT_TEXT_MAX) = Field(  # type: ignore[valid-type]
        "", description="The pasted e-mail with its headers, or the meeting notes"
    )
    version: int | None = Field(
        None, ge=1, description="Current version when replacing evidence; omit for the first"
    )


class BuyerActionFields(StrictInput):
    """What a buyer's own action records (the buyer-facing plan link that mutual action plans
    bring): which contact acted, and what they did, in the words of the plan."""

    contact_id: RowId = Field(..., description="Id of the buyer: a contact of the deal's account")
    note: Note = Field(..., description="What the buyer did (3+ characters)")


class ReviewFields(StrictInput):
    version: int = Field(..., ge=1, description="The evidence version you read; stale → 409")


class RejectFields(ReviewFields):
    reason: Annotated[Text(500), AfterValidator(_reason)] = Field(
        ..., description="Why (the rep sees it)"
    )


class RuleFields(StrictInput):
    enabled: bool
    version: int | None = Field(None, ge=1, description="The rule's version; omit the first time")
