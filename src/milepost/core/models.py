"""Model building blocks shared by the apps."""

from __future__ import annotations

from django.db import models


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete a row of an append-only history."""


class AppendOnly(models.Model):
    """A history row: inserted once, never updated or deleted.

    ``save()`` of an existing row and ``delete()`` raise :class:`AppendOnlyError` here;
    ``append_only_what`` names the rows in the error ("stage transitions"). The database
    enforces the same for everything else (``QuerySet.update()``/``.delete()``, raw SQL, a
    deleted parent cascading): triggers installed by each app's ``*_append_only_triggers``
    migration refuse UPDATE and DELETE with an ``IntegrityError`` (details and the one UPDATE
    they allow, a SET_NULL reference to a deleted row, in ``pipeline/migrations/_append_only.py``).
    A new subclass needs such a migration: ``pipeline/tests/test_append_only_triggers.py``
    finds every subclass and fails without it. To rewrite history on purpose, see
    :func:`milepost.pipeline.append_only.append_only_unlocked`.
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
