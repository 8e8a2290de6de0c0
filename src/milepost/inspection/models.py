"""The risk model fitted for each process version (see :mod:`milepost.engine.risk_model`).

Inspection reads the row of each version it evaluates; without one, the process file's weights
go through the fallback mapping. The other stored rows are snoozes (:class:`Snooze`) and their
history; everything else in inspection is computed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from milepost.core.models import AppendOnly
from milepost.engine.risk_model import RiskModel


class RiskModelSource(models.TextChoices):
    FITTED = "fitted", gettext_lazy("Fitted on closed history")
    FALLBACK = "fallback", gettext_lazy("Process weights (too little history)")


class RiskModelFit(models.Model):
    """The latest risk model of one process version: intercept, one non-negative coefficient
    per signal, and the numbers that say how far to trust it (closed deals, snapshots,
    lost-or-slipped deals, held-out AUC, calibration by band).

    Replaced by each fit (``milepost fit_risk``); not a history of fits. Does not decide
    anything by itself: :func:`milepost.inspection.risk.risk_models` turns it into the
    engine's :class:`~milepost.engine.risk_model.RiskModel`.
    """

    version = models.OneToOneField(
        "process.ProcessVersion", on_delete=models.CASCADE, related_name="risk_model"
    )
    source = models.CharField(max_length=16, choices=RiskModelSource.choices)
    fitted_at = models.DateTimeField()
    history_until = models.DateTimeField(help_text="Closed history up to this moment was used.")
    intercept = models.FloatField()
    coefficients = models.JSONField(help_text="Log-odds per signal, all >= 0.")
    deals = models.PositiveIntegerField(help_text="Closed deals in the training frame.")
    snapshots = models.PositiveIntegerField()
    positives = models.PositiveIntegerField(help_text="Deals lost or slipped.")
    auc = models.FloatField(null=True, blank=True, help_text="Held-out area under the ROC curve.")
    quality = models.JSONField(default=dict, help_text="Calibration bands and signal counts.")

    class Meta:
        ordering = ["version_id"]

    def __str__(self) -> str:
        return f"Risk model of process version {self.version_id} ({self.source})"

    def as_engine(self) -> RiskModel:
        return RiskModel(
            intercept=self.intercept,
            coefficients={str(k): float(v) for k, v in self.coefficients.items()},
            source="fitted" if self.source == RiskModelSource.FITTED else "fallback",
            quality=self.quality,
        )


class Snooze(models.Model):
    """A manager's "we know, leave it until then" on a deal: the whole deal (``signal`` empty)
    or one signal of it, with a reason and a last day (``until``, inclusive, UTC).

    While active (created by ``as_of``, ``as_of``'s date not past ``until``, not ended by then)
    the inspection leaves a snoozed deal out of "needs attention now", and a snoozed signal out
    of the deal's risk. Nothing expires it: every read compares with its own moment. Ending one
    early sets ``ended_at``; the row stays. Who did what is in :class:`SnoozeEvent`.
    Written only by :mod:`milepost.inspection.snoozes.services`.
    """

    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, related_name="snoozes"
    )
    signal = models.CharField(max_length=32, blank=True, help_text="Empty: the whole deal.")
    reason = models.CharField(max_length=500)
    until = models.DateField(help_text="Last day the snooze applies (UTC).")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["until", "id"]
        indexes = [models.Index(fields=["opportunity", "until"])]

    def __str__(self) -> str:
        what = self.signal or "deal"
        return f"Snooze of {what} on deal {self.opportunity_id} until {self.until}"


class SnoozeAction(models.TextChoices):
    CREATED = "created", gettext_lazy("Snoozed")
    ENDED = "ended", gettext_lazy("Ended early")


class SnoozeEvent(AppendOnly):
    """One snooze created or ended early, by whom, when and why. Append-only (the audit)."""

    append_only_what = "snooze history rows"

    snooze = models.ForeignKey(Snooze, on_delete=models.CASCADE, related_name="events")
    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, related_name="+"
    )
    action = models.CharField(max_length=10, choices=SnoozeAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    signal = models.CharField(max_length=32, blank=True)
    reason = models.CharField(max_length=500)
    until = models.DateField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["opportunity", "at"])]

    def __str__(self) -> str:
        return f"{self.action} snooze {self.snooze_id} on deal {self.opportunity_id}"
