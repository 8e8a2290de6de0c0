"""Evidence that an exit criterion is met, and the history of every change to it.

Evidence is keyed by the criterion's *key* (unique within a process), not by a criterion row of
one process version: a new version of the process keeps the evidence already gathered for the
criteria it still has. One current row per (deal, criterion) carries the state the inspection
reads; :class:`EvidenceEvent` rows are the append-only history a manager audits.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from milepost.core.models import AppendOnly


class EvidenceLevel(models.TextChoices):
    """How far the evidence can be trusted; mirrors ``engine.vocabulary.VERIFIERS``."""

    REP = "rep", gettext_lazy("Rep-asserted")
    MANAGER = "manager", gettext_lazy("Manager-verified")
    BUYER = "buyer", gettext_lazy("Buyer-confirmed")


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


class Evidence(models.Model):
    """The current evidence for one exit criterion of one deal."""

    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, related_name="evidence"
    )
    criterion_key = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=EvidenceState.choices)
    level = models.CharField(max_length=8, choices=EvidenceLevel.choices)
    note = models.TextField()
    link = models.URLField(max_length=500, blank=True)
    evidence_date = models.DateField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        "accounts.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The buyer contact who confirmed it (required for buyer-confirmed evidence).",
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
        indexes = [models.Index(fields=["criterion_key", "state"])]

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
    action = models.CharField(max_length=10, choices=EvidenceAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=EvidenceState.choices)
    level = models.CharField(max_length=8, choices=EvidenceLevel.choices)
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
