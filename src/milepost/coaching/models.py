"""Coaching as stored data: 1:1 sessions, their agenda and notes, action items, skill ratings.

Privacy is the point of this app: a session, its notes and its action items are visible to the
session's manager, the rep, and managers above the rep in the reporting line — never to peers,
and not to sales-ops admins by role alone (they see every deal, not every coaching
conversation). The rule lives in :mod:`milepost.coaching.sessions.selectors`.

Competencies are keys of the competency model (:class:`CompetencyModel`, a validated YAML
document editable by admins), not rows, so the model can change without migrating ratings.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from milepost.core.models import AppendOnly


class CompetencyModel(models.Model):
    """The competency model and the indicator map (criteria, elements, signals -> skills)."""

    key = models.SlugField(max_length=64, unique=True, default="default")
    definition = models.JSONField()
    checksum = models.CharField(max_length=64)
    source_text = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"competency model {self.key} v{self.version}"


class CoachingCadence(models.Model):
    """How often a manager meets a rep 1:1 (e.g. weekly on Tuesday at 10:00)."""

    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cadences_run"
    )
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cadences_received"
    )
    every_weeks = models.PositiveSmallIntegerField(default=1)
    weekday = models.PositiveSmallIntegerField(default=1, help_text="0 = Monday")
    time_of_day = models.TimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=30)
    timezone = models.CharField(max_length=64, default="UTC")
    starts_on = models.DateField()
    active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["manager", "rep"], name="one_cadence_per_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.manager_id} -> {self.rep_id} every {self.every_weeks} week(s)"


class SessionStatus(models.TextChoices):
    DRAFT = "draft", gettext_lazy("Draft agenda")
    IN_PROGRESS = "in_progress", gettext_lazy("In progress")
    COMPLETED = "completed", gettext_lazy("Completed")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")


class CoachingSession(models.Model):
    """One 1:1 between a manager and a rep: the agenda as discussed, notes and decisions."""

    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sessions_run"
    )
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sessions_received"
    )
    cadence = models.ForeignKey(
        CoachingCadence, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions"
    )
    scheduled_for = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=30)
    status = models.CharField(
        max_length=12, choices=SessionStatus.choices, default=SessionStatus.DRAFT
    )
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    decisions = models.TextField(blank=True)
    # Inspection as of the draft: what the agenda was generated from (for honest effect views).
    generated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-scheduled_for", "-id"]
        indexes = [
            models.Index(fields=["rep", "scheduled_for"]),
            models.Index(fields=["manager", "scheduled_for"]),
        ]

    def __str__(self) -> str:
        return f"1:1 {self.manager_id} with {self.rep_id} on {self.scheduled_for:%Y-%m-%d}"


class ItemKind(models.TextChoices):
    DEAL = "deal", gettext_lazy("Deal coaching")
    SKILL = "skill", gettext_lazy("Skill coaching")
    CARRY_OVER = "carry_over", gettext_lazy("Carried over")
    CUSTOM = "custom", gettext_lazy("Added by the manager")


class AgendaItem(models.Model):
    """One item of a session's agenda, with what it was generated from and the notes taken."""

    session = models.ForeignKey(CoachingSession, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=12, choices=ItemKind.choices)
    title = models.CharField(max_length=300)
    opportunity = models.ForeignKey(
        "pipeline.Opportunity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    competency = models.SlugField(max_length=64, blank=True)
    action_item = models.ForeignKey(
        "coaching.ActionItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Generated content, frozen at draft time: reasons, unverified criteria, signals, questions.
    detail = models.JSONField(default=dict, blank=True)
    discussed = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    decision = models.TextField(blank=True)

    class Meta:
        ordering = ["session", "position"]
        constraints = [
            models.UniqueConstraint(fields=["session", "position"], name="agenda_position"),
        ]

    def __str__(self) -> str:
        return self.title


class ActionStatus(models.TextChoices):
    OPEN = "open", gettext_lazy("Open")
    DONE = "done", gettext_lazy("Done")
    DROPPED = "dropped", gettext_lazy("Dropped")


class ActionItem(models.Model):
    """Something to do after a 1:1, owned by the rep or the manager, followed to the end."""

    session = models.ForeignKey(
        CoachingSession, on_delete=models.CASCADE, related_name="action_items"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="coaching_actions"
    )
    title = models.CharField(max_length=300)
    due_date = models.DateField()
    opportunity = models.ForeignKey(
        "pipeline.Opportunity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    competency = models.SlugField(max_length=64, blank=True)
    status = models.CharField(max_length=8, choices=ActionStatus.choices, default=ActionStatus.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [
            models.Index(fields=["owner", "status", "due_date"]),
            models.Index(fields=["opportunity", "status"]),
        ]

    def __str__(self) -> str:
        return self.title


class SkillRating(AppendOnly):
    """A 1-5 rating of a rep on one competency, with the observation behind it. Append-only:
    the series of ratings is the rep's trend."""

    append_only_what = "skill ratings"

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skill_ratings"
    )
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    competency = models.SlugField(max_length=64)
    score = models.PositiveSmallIntegerField()
    observation = models.TextField(blank=True)
    is_self = models.BooleanField(default=False)
    session = models.ForeignKey(
        CoachingSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="ratings"
    )
    rated_at = models.DateTimeField()

    class Meta:
        ordering = ["rated_at", "id"]
        indexes = [models.Index(fields=["rep", "competency", "rated_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__gte=1, score__lte=5), name="skill_score_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rep_id} {self.competency}={self.score}"


class DigestDelivery(models.Model):
    """The weekly digest sent to a manager for a week (so sending twice sends once)."""

    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    week_start = models.DateField()
    sent_at = models.DateTimeField()
    recipient = models.EmailField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["manager", "week_start"], name="one_digest_per_week"),
        ]

    def __str__(self) -> str:
        return f"digest {self.manager_id} {self.week_start}"
