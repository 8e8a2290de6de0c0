"""Opportunities and what happens to them: stage transitions, activities, contacts, leads.

Writes go through :mod:`milepost.pipeline.services` (optimistic locking, transitions), reads
through :mod:`milepost.pipeline.selectors` (row-level access). Models hold no business logic.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from milepost.core.models import AppendOnly
from milepost.pipeline.choices import ActivityType, BuyingRole, LeadStatus, TransitionSource
from milepost.process.models import ForecastCategory


class Product(models.Model):
    """Something we sell, with its list price (the dataset's products)."""

    name = models.CharField(max_length=100, unique=True)
    series = models.CharField(max_length=50, blank=True)
    list_price = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Lead(models.Model):
    """Where an opportunity came from, so lead → opportunity → win conversion can be measured."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="leads"
    )
    company = models.CharField(max_length=200)
    contact_name = models.CharField(max_length=160, blank=True)
    email = models.EmailField(blank=True)
    source = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=LeadStatus.choices, default=LeadStatus.NEW)
    created_at = models.DateTimeField()
    converted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self) -> str:
        return self.company


class Opportunity(models.Model):
    """A deal being pursued. Its stage belongs to one version of one sales process.

    ``version`` is the optimistic-locking counter: every write must name the version it read
    and bumps it; a stale writer gets a conflict instead of overwriting someone's change.
    ``probability`` is the stage default unless ``probability_overridden`` (who and when kept).
    """

    external_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    name = models.CharField(max_length=200)
    account = models.ForeignKey(
        "accounts.Account",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="opportunities"
    )
    lead = models.OneToOneField(
        Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunity"
    )
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="opportunities"
    )
    stage = models.ForeignKey(
        "process.Stage", on_delete=models.PROTECT, related_name="opportunities"
    )
    stage_entered_at = models.DateTimeField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    close_date = models.DateField()
    forecast_category = models.CharField(max_length=16, choices=ForecastCategory.choices)
    probability = models.PositiveSmallIntegerField()
    probability_overridden = models.BooleanField(default=False)
    probability_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    probability_set_at = models.DateTimeField(null=True, blank=True)
    next_step = models.CharField(max_length=300, blank=True)
    next_step_date = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=64, blank=True)
    lost_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    # Archived by an admin: hidden from every list, board and inspection, but kept with its
    # history (and restorable); deleting a deal would erase transitions forecasting needs.
    archived_at = models.DateTimeField(null=True, blank=True)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who made the last write that bumped ``version`` (named in a conflict message).
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["close_date", "id"]
        verbose_name_plural = "opportunities"
        indexes = [
            models.Index(fields=["owner", "stage"]),
            models.Index(fields=["stage", "close_date"]),
            models.Index(fields=["close_date"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(probability__lte=100), name="opportunity_probability_0_100"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="opportunity_amount_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OpportunityContact(models.Model):
    """A contact involved in a deal, with the buying role they play in *this* deal."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="contact_roles"
    )
    contact = models.ForeignKey(
        "accounts.Contact", on_delete=models.CASCADE, related_name="opportunity_roles"
    )
    buying_role = models.CharField(max_length=20, choices=BuyingRole.choices)
    notes = models.TextField(blank=True)
    added_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)  # optimistic locking, as on the deal

    class Meta:
        ordering = ["opportunity", "buying_role"]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "contact", "buying_role"], name="one_role_per_contact_deal"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact} as {self.get_buying_role_display()}"


class StageTransition(AppendOnly):
    """One stage change, recorded at the moment it happened. Append-only.

    Conversion ratios, velocity and forecasting read these rows, so they are never edited:
    the amount, close date and (later) exit-criteria result are as they were at the move.
    ``from_stage`` is null for the opportunity's first stage.
    """

    append_only_what = "stage transitions"

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="transitions"
    )
    from_stage = models.ForeignKey(
        "process.Stage", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey("process.Stage", on_delete=models.PROTECT, related_name="+")
    moved_at = models.DateTimeField()
    moved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    close_date = models.DateField()
    seconds_in_from_stage = models.BigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=TransitionSource.choices)
    criteria_result = models.JSONField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    # Stage positions moved, forward (+) or back (-), for a move a person made from an open
    # stage to an open or won one; null otherwise (first stage, lost, reopened, process
    # change). Fixed at the move (process versions never change), so inspection finds skips
    # (> 1) and steps back (< 0) through a partial index instead of joining every row to the
    # stages. Set by :func:`milepost.pipeline.facts.stage_steps` wherever transitions are written.
    stage_steps = models.SmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["opportunity", "moved_at", "id"]
        indexes = [
            models.Index(fields=["opportunity", "moved_at"]),
            models.Index(fields=["to_stage", "moved_at"]),
            models.Index(
                fields=["opportunity", "moved_at", "stage_steps"],
                condition=models.Q(stage_steps__gt=1) | models.Q(stage_steps__lt=0),
                name="transition_skip_or_back",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage or '∅'} → {self.to_stage} at {self.moved_at:%Y-%m-%d}"

    @property
    def days_in_from_stage(self) -> float | None:
        if self.seconds_in_from_stage is None:
            return None
        return self.seconds_in_from_stage / 86400


class OpportunityChange(AppendOnly):
    """A change to a deal's close date or amount, as it happened. Append-only.

    Inspection reads these to see a close date pushed out again and again, or an amount cut
    after the forecast call. ``close_date_shift_days`` is kept (rather than computed in SQL) so
    both databases add it up the same way; positive means pushed out.
    """

    append_only_what = "opportunity changes"

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="changes")
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=16, choices=TransitionSource.choices)
    close_date_from = models.DateField(null=True, blank=True)
    close_date_to = models.DateField(null=True, blank=True)
    close_date_shift_days = models.IntegerField(null=True, blank=True)
    amount_from = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    amount_to = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["opportunity", "changed_at", "id"]
        indexes = [models.Index(fields=["opportunity", "changed_at"])]

    def __str__(self) -> str:
        return f"change to deal {self.opportunity_id} at {self.changed_at:%Y-%m-%d}"


class Activity(models.Model):
    """Something the seller did with the buyer: a call, meeting, demo, proposal sent ..."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="activities"
    )
    type = models.CharField(max_length=20, choices=ActivityType.choices)
    occurred_at = models.DateTimeField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="activities"
    )
    subject = models.CharField(max_length=200)
    outcome = models.TextField(blank=True)
    contacts = models.ManyToManyField("accounts.Contact", blank=True, related_name="activities")
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)  # optimistic locking, as on the deal

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["opportunity", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.get_type_display()}: {self.subject}"


class ActivitySummary(models.Model):
    """Per deal: how many activities of each type it has and when the last one happened.

    Derived data, kept so that inspection reads one row per deal instead of aggregating
    millions of activities on every run. Maintained in the same transaction as every activity
    write (see :mod:`milepost.pipeline.facts`); ``milepost pipeline_facts --rebuild`` recomputes
    it from the activities. It counts every activity, including any dated in the future, so
    inspection uses it only for a deal whose ``last_activity_at`` is not after the moment
    inspected, and aggregates the raw rows of the other deals.
    """

    opportunity = models.OneToOneField(
        Opportunity, primary_key=True, on_delete=models.CASCADE, related_name="activity_summary"
    )
    activities = models.PositiveIntegerField()
    last_activity_at = models.DateTimeField()
    call_count = models.PositiveIntegerField(default=0)
    call_last_at = models.DateTimeField(null=True, blank=True)
    meeting_count = models.PositiveIntegerField(default=0)
    meeting_last_at = models.DateTimeField(null=True, blank=True)
    email_count = models.PositiveIntegerField(default=0)
    email_last_at = models.DateTimeField(null=True, blank=True)
    demo_count = models.PositiveIntegerField(default=0)
    demo_last_at = models.DateTimeField(null=True, blank=True)
    workshop_count = models.PositiveIntegerField(default=0)
    workshop_last_at = models.DateTimeField(null=True, blank=True)
    proposal_sent_count = models.PositiveIntegerField(default=0)
    proposal_sent_last_at = models.DateTimeField(null=True, blank=True)
    negotiation_count = models.PositiveIntegerField(default=0)
    negotiation_last_at = models.DateTimeField(null=True, blank=True)
    note_count = models.PositiveIntegerField(default=0)
    note_last_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["last_activity_at"])]

    def __str__(self) -> str:
        return f"{self.activities} activities on deal {self.opportunity_id}"


class ContactEngagement(models.Model):
    """Per (deal, contact): the last activity the contact took part in, and how many.

    Derived from activities and their contacts like :class:`ActivitySummary` (same upkeep),
    so "N contacts engaged in the last D days" counts one row per contact instead of joining
    every activity-contact link to its activity.
    """

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="contact_engagements"
    )
    contact = models.ForeignKey(
        "accounts.Contact", on_delete=models.CASCADE, related_name="engagements"
    )
    last_engaged_at = models.DateTimeField()
    activities = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "contact"], name="one_engagement_per_contact_deal"
            )
        ]
        # Covers "contacts engaged since D, per deal": read from the index alone.
        indexes = [models.Index(fields=["opportunity", "last_engaged_at"])]

    def __str__(self) -> str:
        return f"contact {self.contact_id} on deal {self.opportunity_id}"


class BuyingRoleSummary(models.Model):
    """Per deal: how many contacts play each buying role (derived from
    :class:`OpportunityContact`, kept like :class:`ActivitySummary`), so inspection reads the
    counts with the deal instead of grouping every contact role on each run."""

    opportunity = models.OneToOneField(
        Opportunity, primary_key=True, on_delete=models.CASCADE, related_name="role_summary"
    )
    economic_buyer = models.PositiveIntegerField(default=0)
    champion = models.PositiveIntegerField(default=0)
    technical_buyer = models.PositiveIntegerField(default=0)
    user_buyer = models.PositiveIntegerField(default=0)
    coach = models.PositiveIntegerField(default=0)
    influencer = models.PositiveIntegerField(default=0)
    blocker = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"buying roles of deal {self.opportunity_id}"
