"""Check and read what a person attaches as evidence from the buyer, before anything is stored.

* **E-mail**: the raw message (an uploaded ``.eml`` or the text pasted with its headers),
  parsed with Python's :mod:`email` package for the sender, the date and the subject. A message
  without a sender address or a date is refused: it could not be checked by anyone.
* **Signed document**: a PDF, PNG or JPEG file, recognised by its first bytes (the name and the
  browser's content type are not trusted).
* **Meeting notes**: text that names the buyer who attended (a contact of the deal's account,
  checked by the service).

Every file is at most :data:`MAX_ARTEFACT_BYTES` (the request body limit is 2.5 MB) and every
text at most :data:`ARTEFACT_TEXT_MAX` characters. Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import PurePosixPath
from typing import Any

from django.utils.translation import gettext

from milepost.core.errors import InvalidChange

MAX_ARTEFACT_BYTES = 2_000_000
ARTEFACT_TEXT_MAX = 100_000
# suffix -> (first bytes, content type served back)
DOCUMENT_TYPES: dict[str, tuple[bytes, str]] = {
    ".pdf": (b"%PDF-", "application/pdf"),
    ".png": (b"\x89PNG\r\n\x1a\n", "image/png"),
    ".jpg": (b"\xff\xd8\xff", "image/jpeg"),
    ".jpeg": (b"\xff\xd8\xff", "image/jpeg"),
}
EMAIL_SUFFIXES = (".eml",)
EMAIL_TYPE = "message/rfc822"


@dataclass(frozen=True)
class ParsedEmail:
    """What the evidence keeps of a buyer's e-mail."""

    sender: str  # the address, lower-cased
    sent_at: datetime  # aware, UTC
    subject: str

    @property
    def domain(self) -> str:
        return self.sender.rpartition("@")[2]


def _header(message: Any, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:
        return ""
    return str(value or "").strip()


def parse_email(raw: bytes, *, field: str) -> ParsedEmail:
    """The sender, date and subject of a raw e-mail; :class:`InvalidChange` naming ``field``."""
    if len(raw) > MAX_ARTEFACT_BYTES:
        raise InvalidChange(
            gettext("the e-mail is larger than %(max)s bytes") % {"max": f"{MAX_ARTEFACT_BYTES:,}"},
            field=field,
        )
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    except Exception:
        raise InvalidChange(gettext("this is not an e-mail message"), field=field) from None
    _, sender = parseaddr(_header(message, "From"))
    sender = sender.strip().lower()
    if "@" not in sender or sender.startswith("@") or sender.endswith("@"):
        raise InvalidChange(
            gettext("the e-mail has no sender address (paste it with its From: and Date: lines)"),
            field=field,
        )
    try:
        sent_at = parsedate_to_datetime(_header(message, "Date"))
    except (TypeError, ValueError, IndexError):
        raise InvalidChange(
            gettext("the e-mail has no readable date (its Date: line)"), field=field
        ) from None
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=UTC)
    subject = _header(message, "Subject")[:300]
    return ParsedEmail(sender=sender[:254], sent_at=sent_at.astimezone(UTC), subject=subject)


@dataclass(frozen=True)
class CheckedFile:
    name: str
    content_type: str
    size: int
    content: bytes


def check_file(upload: Any, *, kind: str, field: str) -> CheckedFile:
    """Read an uploaded file (bounded) and check it is what ``kind`` allows."""
    size = int(getattr(upload, "size", 0) or 0)
    if size > MAX_ARTEFACT_BYTES:
        raise InvalidChange(
            gettext("the file is larger than %(max)s bytes") % {"max": f"{MAX_ARTEFACT_BYTES:,}"},
            field=field,
        )
    content = upload.read(MAX_ARTEFACT_BYTES + 1)
    if len(content) > MAX_ARTEFACT_BYTES:
        raise InvalidChange(
            gettext("the file is larger than %(max)s bytes") % {"max": f"{MAX_ARTEFACT_BYTES:,}"},
            field=field,
        )
    if not content:
        raise InvalidChange(gettext("the file is empty"), field=field)
    name = PurePosixPath(str(getattr(upload, "name", "") or "upload").replace("\\", "/")).name
    name = name.replace("\x00", "")[:255] or "upload"
    suffix = PurePosixPath(name).suffix.lower()
    if kind == "email":
        if suffix not in EMAIL_SUFFIXES:
            raise InvalidChange(gettext("an e-mail file ends in .eml"), field=field)
        return CheckedFile(name, EMAIL_TYPE, len(content), content)
    allowed = DOCUMENT_TYPES.get(suffix)
    if allowed is None or not content.startswith(allowed[0]):
        raise InvalidChange(gettext("a signed document is a PDF, PNG or JPEG file"), field=field)
    return CheckedFile(name, allowed[1], len(content), content)
