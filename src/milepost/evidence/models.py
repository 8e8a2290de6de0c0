"""Evidence that an exit criterion is met, and the history of every change to it.

Evidence is keyed by the criterion's *key* (unique within a process), not by a criterion row of
one process version: a new version of the process keeps the evidence already gathered for the
criteria it still has. One current row per (deal, criterion) carries the state the inspection
reads; :class:`EvidenceEvent` rows are the append-only history a manager audits.
"""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.translation import gettext_lazy

from milepost.core.models import AppendOnly


class EvidenceLevel(models.TextChoices):
    """How far the evidence can be trusted; mirrors ``engine.vocabulary.VERIFIERS``."""

    REP = "rep", gettext_lazy("Rep-asserted")
    MANAGER = "manager", gettext_lazy("Manager-verified")
    BUYER = "buyer", gettext_lazy("Buyer-confirmed")


class EvidenceSource(models.TextChoices):
    """Where the evidence comes from (who stands behind it).

    A buyer-facing link (mutual action plans) records ``buyer_action`` through
    :func:`milepost.evidence.services.evidence_record_buyer_action`; nothing else may.
    """

    REP_CLAIM = "rep_claim", gettext_lazy("Rep's claim")
    MANAGER = "manager", gettext_lazy("Recorded by a manager")
    ARTEFACT = "artefact", gettext_lazy("Buyer artefact")
    BUYER_ACTION = "buyer_action", gettext_lazy("Buyer action")


class BuyerClaim(models.TextChoices):
    """Whether buyer confirmation is claimed and how the claim was reviewed.

    Evidence counts at ``level``; ``buyer`` is reached only by an accepted claim (an artefact a
    manager or a rule accepted) or a buyer action. A pending or rejected claim counts at the
    rep's (or the verifying manager's) level.
    """

    NONE = "", gettext_lazy("Not claimed")
    PENDING = "pending", gettext_lazy("Buyer confirmation claimed, awaiting verification")
    ACCEPTED = "accepted", gettext_lazy("Buyer confirmation accepted")
    REJECTED = "rejected", gettext_lazy("Buyer confirmation rejected")


class ArtefactKind(models.TextChoices):
    EMAIL = "email", gettext_lazy("The buyer's e-mail")
    DOCUMENT = "document", gettext_lazy("Signed document")
    MEETING_NOTES = "meeting_notes", gettext_lazy("Meeting notes")


class AcceptanceRuleKind(models.TextChoices):
    """Rules a sales-ops admin may turn on to accept artefacts without a manager."""

    EMAIL_FROM_ACCOUNT_DOMAIN = (
        "email_from_account_domain",
        gettext_lazy("An e-mail whose sender is at the account's domain"),
    )


class EvidenceState(models.TextChoices):
    ACTIVE = "active", gettext_lazy("Active")
    REJECTED = "rejected", gettext_lazy("Rejected")
    WITHDRAWN = "withdrawn", gettext_lazy("Withdrawn")


class EvidenceAction(models.TextChoices):
    RECORDED = "recorded", gettext_lazy("Recorded")
    UPDATED = "updated", gettext_lazy("Updated")
    VERIFIED = "verified", gettext_lazy("Verified by a manager")
    REJECTED = "rejected", gettext_lazy("Rejected")
    WITHDRAWN = "withdrawn", gettext_lazy("Withdrawn")
    ACCEPTED = "accepted", gettext_lazy("Buyer confirmation accepted")
    CLAIM_REJECTED = "claim_rejected", gettext_lazy("Buyer confirmation rejected")
    MIGRATED = "migrated", gettext_lazy("Self-certification turned into a claim")


# The folder of the artefact storage that holds the files (one sub-folder per deal).
ARTEFACT_FOLDER = "evidence"


def artefact_storage() -> FileSystemStorage:
    """Files attached as evidence: under ``MILEPOST_DATA_DIR/media``, with no public URL (they
    are served only by the permission-checked download view). A callable, so that migrations
    name it rather than freeze a path. No location given: it follows ``MEDIA_ROOT`` whenever
    that changes (tests write into their own folder)."""
    return FileSystemStorage()


def _artefact_path(instance: Artefact, filename: str) -> str:
    # A random name: the original one is kept in the row, never trusted as a path.
    suffix = PurePosixPath(filename).suffix.lower()[:8]
    return f"{ARTEFACT_FOLDER}/{instance.opportunity_id}/{uuid.uuid4().hex}{suffix}"


class Artefact(models.Model):
    """Something from the buyer a person attached as evidence: their e-mail (pasted or an
    ``.eml`` file, with its sender, date and subject), a signed document, or meeting notes that
    name the buyer who attended. Written once, never changed; replacing evidence attaches a new
    one. It proves nothing by itself: a manager or an admin's rule accepts it."""

    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=ArtefactKind.choices)
    file = models.FileField(
        storage=artefact_storage, upload_to=_artefact_path, max_length=200, blank=True
    )
    file_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(default=0)
    text = models.TextField(blank=True, help_text="A pasted e-mail or the meeting notes.")
    email_from = models.CharField(max_length=254, blank=True)
    email_date = models.DateTimeField(null=True, blank=True)
    email_subject = models.CharField(max_length=300, blank=True)
    attendee = models.ForeignKey(
        "accounts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind} on deal {self.opportunity_id}"


class AcceptanceRule(models.Model):
    """An admin's rule that accepts artefacts as buyer-confirmed without a manager."""

    kind = models.CharField(max_length=32, choices=AcceptanceRuleKind.choices, unique=True)
    enabled = models.BooleanField(default=False)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.kind}: {'on' if self.enabled else 'off'}"


class Evidence(models.Model):
    """The current evidence for one exit criterion of one deal."""

    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, related_name="evidence"
    )
    criterion_key = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=EvidenceState.choices)
    level = models.CharField(
        max_length=8, choices=EvidenceLevel.choices, help_text="The level inspection counts."
    )
    source = models.CharField(
        max_length=12, choices=EvidenceSource.choices, default=EvidenceSource.REP_CLAIM
    )
    buyer_claim = models.CharField(
        max_length=10, choices=BuyerClaim.choices, default=BuyerClaim.NONE, blank=True
    )
    accepted_by_rule = models.CharField(
        max_length=32, choices=AcceptanceRuleKind.choices, blank=True
    )
    artefact = models.ForeignKey(
        Artefact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField()
    link = models.URLField(max_length=500, blank=True)
    evidence_date = models.DateField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        "accounts.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The buyer contact who confirmed it (named by every buyer confirmation claim).",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField()
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name_plural = "evidence"
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "criterion_key"], name="one_evidence_per_criterion"
            ),
        ]
        indexes = [
            models.Index(fields=["criterion_key", "state"]),
            models.Index(fields=["buyer_claim", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.criterion_key} on deal {self.opportunity_id}: {self.state}/{self.level}"


class EvidenceEvent(AppendOnly):
    """One change to a deal's evidence, as it was after the change. Append-only."""

    append_only_what = "evidence history rows"

    evidence = models.ForeignKey(Evidence, on_delete=models.CASCADE, related_name="events")
    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, related_name="+"
    )
    criterion_key = models.CharField(max_length=64)
    action = models.CharField(max_length=16, choices=EvidenceAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=EvidenceState.choices)
    level = models.CharField(max_length=8, choices=EvidenceLevel.choices)
    source = models.CharField(
        max_length=12, choices=EvidenceSource.choices, default=EvidenceSource.REP_CLAIM
    )
    buyer_claim = models.CharField(
        max_length=10, choices=BuyerClaim.choices, default=BuyerClaim.NONE, blank=True
    )
    accepted_by_rule = models.CharField(
        max_length=32, choices=AcceptanceRuleKind.choices, blank=True
    )
    artefact = models.ForeignKey(
        Artefact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    link = models.URLField(max_length=500, blank=True)
    evidence_date = models.DateField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        "accounts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["opportunity", "at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.criterion_key} on deal {self.opportunity_id}"
