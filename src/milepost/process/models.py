"""A sales process as stored data: versions of a YAML definition and their stages.

A :class:`SalesProcess` (new business, renewal, partner ...) has immutable
:class:`ProcessVersion` rows; loading a changed file makes a new version and old versions stay
readable. Stages and exit criteria are stored as rows of the version that defined them, so an
opportunity's stage (a foreign key) always means exactly what it meant when it was set.
The YAML schema itself lives in :mod:`milepost.engine.process_schema` (no Django there).
The methodology packs a process maps (:class:`MethodologyPack`) are stored here too.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy


class StageKind(models.TextChoices):
    OPEN = "open", gettext_lazy("Open")
    WON = "won", gettext_lazy("Closed won")
    LOST = "lost", gettext_lazy("Closed lost")


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", gettext_lazy("Pipeline")
    BEST_CASE = "best_case", gettext_lazy("Best case")
    COMMIT = "commit", gettext_lazy("Commit")
    CLOSED = "closed", gettext_lazy("Closed")
    OMITTED = "omitted", gettext_lazy("Omitted")


class Verifier(models.TextChoices):
    REP = "rep", gettext_lazy("Rep")
    MANAGER = "manager", gettext_lazy("Manager")
    BUYER = "buyer", gettext_lazy("Buyer")


class SalesProcess(models.Model):
    """A named process that opportunities follow, e.g. ``new_business`` or ``renewal``."""

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "sales processes"

    def __str__(self) -> str:
        return self.name

    def current_version(self) -> ProcessVersion | None:
        return self.versions.filter(is_current=True).first()


class ProcessVersion(models.Model):
    """One immutable version of a process definition, as loaded from YAML.

    ``definition`` is the validated document (JSON); ``checksum`` is its canonical SHA-256 so
    reloading an unchanged file does not create a version. Never edited after creation.
    """

    process = models.ForeignKey(SalesProcess, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    checksum = models.CharField(max_length=64)
    definition = models.JSONField()
    source_text = models.TextField(blank=True)
    source_name = models.CharField(max_length=255, blank=True)
    is_current = models.BooleanField(default=False)
    loaded_at = models.DateTimeField(auto_now_add=True)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["process", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["process", "number"], name="process_version_number"),
            models.UniqueConstraint(
                fields=["process"],
                condition=models.Q(is_current=True),
                name="process_one_current_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.process.name} v{self.number}"


class Stage(models.Model):
    """A stage of one process version, aligned to a phase of the buyer's journey.

    ``kind`` (open / won / lost) is separate from the label so analytics never parse labels.
    """

    version = models.ForeignKey(ProcessVersion, on_delete=models.CASCADE, related_name="stages")
    key = models.SlugField(max_length=64)
    label = models.CharField(max_length=120)
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=8, choices=StageKind.choices)
    buyer_phase = models.CharField(max_length=32)
    buyer_goal = models.TextField(blank=True)
    default_probability = models.PositiveSmallIntegerField()
    default_forecast_category = models.CharField(max_length=16, choices=ForecastCategory.choices)
    expected_days = models.PositiveIntegerField(null=True, blank=True)
    max_days = models.PositiveIntegerField(null=True, blank=True)
    suggested_actions = models.JSONField(default=list)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="stage_key_per_version"),
            models.UniqueConstraint(
                fields=["version", "position"], name="stage_position_per_version"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def is_open(self) -> bool:
        return self.kind == StageKind.OPEN


class ExitCriterion(models.Model):
    """A verifiable outcome that must be true before an opportunity leaves its stage.

    ``rule`` is an optional machine-checkable condition in Milepost's declarative vocabulary
    (validated by the process schema); evaluation belongs to the inspection engine.
    """

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="exit_criteria")
    key = models.SlugField(max_length=64)
    statement = models.CharField(max_length=300)
    verifier = models.CharField(max_length=8, choices=Verifier.choices)
    position = models.PositiveSmallIntegerField()
    rule = models.JSONField(null=True, blank=True)
    guidance = models.TextField(blank=True)

    class Meta:
        ordering = ["stage", "position"]
        verbose_name_plural = "exit criteria"
        constraints = [
            models.UniqueConstraint(fields=["stage", "key"], name="criterion_key_per_stage"),
        ]

    def __str__(self) -> str:
        return self.statement


class ProcessDraft(models.Model):
    """A sales-ops admin's work in progress on a process, before it becomes a version.

    ``document`` is the process document as edited (JSON, same shape as a version's
    definition) and may be invalid while being worked on: publishing validates it with the
    same validator as the CLI and stores a new immutable :class:`ProcessVersion`.
    ``based_on`` is the version the draft started from (the diff and the stage mapping are
    against the live version at publish time). ``version`` is the optimistic lock.
    """

    process = models.ForeignKey(
        SalesProcess, null=True, blank=True, on_delete=models.CASCADE, related_name="drafts"
    )
    based_on = models.ForeignKey(
        ProcessVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    document = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_as = models.ForeignKey(
        ProcessVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"draft of {self.document.get('key', '?')} ({self.pk})"


class MethodologyPack(models.Model):
    """The current version of one methodology pack (reloading a changed file replaces it).

    Reference data like a process: a process maps pack elements to its stages and is checked
    against the loaded packs, and a changed pack must still fit the current processes, so the
    two live in one app. What reps score on a deal is in :mod:`milepost.methodology`. The table
    keeps the name it had when the model was part of the methodology app.
    """

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    definition = models.JSONField()
    checksum = models.CharField(max_length=64)
    source_name = models.CharField(max_length=255, blank=True)
    loaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "methodology_methodologypack"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
