"""The risk model fitted for each process version (see :mod:`milepost.engine.risk_model`).

Inspection reads the row of each version it evaluates; without one, the process file's weights
go through the fallback mapping. Nothing else in inspection is stored: the rest is computed.
"""

from __future__ import annotations

from django.db import models

from milepost.engine.risk_model import RiskModel


class RiskModelSource(models.TextChoices):
    FITTED = "fitted", "Fitted on closed history"
    FALLBACK = "fallback", "Process weights (too little history)"


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
