"""What reps record on a deal against the methodology packs its process uses.

The packs themselves are reference data next to the processes that map them
(:class:`milepost.process.models.MethodologyPack`). On a deal, one :class:`ElementAssessment`
row per (pack, element) holds the current score, notes, answers and linked contacts;
:class:`ElementAssessmentEvent` is its append-only history, so inspection and coaching can see
how qualification evolved. :class:`BuyingInfluence` is a Strategic-Selling buying influence (a
contact in a buying role with degree of influence, response mode, rating).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from milepost.core.models import AppendOnly


class ElementAssessment(models.Model):
    """The current score of one methodology element on one deal.

    ``level`` is what was scored; ``verified_level`` the level that **counts** (criteria read
    it). A rep may set some levels on their own word (the pack's ``set_by``, the process's
    ``rep_up_to``); above that their score is a claim: ``verified_level`` stays at the highest
    level they may set until a manager of the owner (or an admin) verifies it, or until the
    buyer's artefact the owner attached (``artefact``: their e-mail, a signed document, meeting
    notes) is accepted, by that manager or by an admin's rule (``accepted_by_rule``). Scores
    set by someone other than the owner count as they are.
    """

    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, related_name="element_assessments"
    )
    pack = models.SlugField(max_length=64)
    element = models.SlugField(max_length=48)
    level = models.SlugField(max_length=32)
    verified_level = models.SlugField(max_length=32, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    artefact = models.ForeignKey(
        "evidence.Artefact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The buyer's proof the owner attached to a score above what they may set.",
    )
    accepted_by_rule = models.CharField(
        max_length=32,
        blank=True,
        help_text="The admin's acceptance rule that accepted the artefact (no manager needed).",
    )
    notes = models.TextField(blank=True)
    answers = models.JSONField(default=dict, blank=True)
    contacts = models.ManyToManyField("accounts.Contact", blank=True, related_name="+")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "pack", "element"], name="one_assessment_per_element"
            ),
        ]
        indexes = [models.Index(fields=["pack", "element"])]

    def __str__(self) -> str:
        return f"{self.pack}.{self.element} on deal {self.opportunity_id}: {self.level}"

    @property
    def awaiting_verification(self) -> bool:
        return self.verified_level != self.level


class ElementAssessmentEvent(AppendOnly):
    """One change to an element's assessment, as it was after the change. Append-only."""

    append_only_what = "methodology history rows"

    assessment = models.ForeignKey(
        ElementAssessment, on_delete=models.CASCADE, related_name="events"
    )
    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, related_name="+"
    )
    pack = models.SlugField(max_length=64)
    element = models.SlugField(max_length=48)
    level = models.SlugField(max_length=32)
    verified_level = models.SlugField(max_length=32, blank=True)
    verified = models.BooleanField(
        default=False, help_text="The event is a manager's verification, not a new score."
    )
    previous_level = models.SlugField(max_length=32, blank=True)
    # The id of the buyer's artefact backing the score then (kept as a number: a history row
    # never changes, whatever happens to the artefact), and the rule that accepted it.
    artefact_id = models.PositiveBigIntegerField(null=True, blank=True)
    accepted_by_rule = models.CharField(max_length=32, blank=True)
    notes = models.TextField(blank=True)
    answers = models.JSONField(default=dict, blank=True)
    contact_ids = models.JSONField(default=list, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["opportunity", "at"])]

    def __str__(self) -> str:
        return f"{self.pack}.{self.element} -> {self.level} on deal {self.opportunity_id}"


class BuyingInfluence(models.Model):
    """A contact's part in the buying decision, Strategic-Selling style (Blue Sheet row)."""

    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, related_name="buying_influences"
    )
    contact = models.ForeignKey("accounts.Contact", on_delete=models.CASCADE, related_name="+")
    pack = models.SlugField(max_length=64)
    role = models.SlugField(max_length=32)
    degree = models.SlugField(max_length=32)
    response_mode = models.SlugField(max_length=32)
    rating = models.SmallIntegerField(default=0)
    win_results = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["opportunity", "role", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "contact", "role"], name="one_influence_per_contact_role"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} as {self.role} on deal {self.opportunity_id}"


class InfluenceAction(models.TextChoices):
    ADDED = "added", gettext_lazy("Added")
    UPDATED = "updated", gettext_lazy("Updated")
    REMOVED = "removed", gettext_lazy("Removed")


class BuyingInfluenceEvent(AppendOnly):
    """One change to a deal's buying influences (added, updated, removed). Append-only."""

    append_only_what = "buying-influence history rows"

    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, related_name="+"
    )
    contact = models.ForeignKey(
        "accounts.Contact", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=8, choices=InfluenceAction.choices)
    role = models.SlugField(max_length=32)
    degree = models.SlugField(max_length=32, blank=True)
    response_mode = models.SlugField(max_length=32, blank=True)
    rating = models.SmallIntegerField(null=True, blank=True)
    win_results = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["opportunity", "at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.role} on deal {self.opportunity_id}"
