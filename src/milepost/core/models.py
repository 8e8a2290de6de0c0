"""Model building blocks shared by the apps."""

from __future__ import annotations

from django.db import models


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete a row of an append-only history."""


class AppendOnly(models.Model):
    """A history row: inserted once, never updated or deleted through the ORM.

    ``append_only_what`` names the rows in the error ("stage transitions").
    """

    append_only_what = "these rows"

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError(f"{self.append_only_what} are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise AppendOnlyError(f"{self.append_only_what} are append-only")
