"""Reads for sales processes. Process definitions are readable by every signed-in user."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from milepost.process.models import ExitCriterion, ProcessVersion, SalesProcess, Stage


def process_list() -> QuerySet[SalesProcess]:
    return SalesProcess.objects.prefetch_related(
        Prefetch("versions", queryset=ProcessVersion.objects.filter(is_current=True))
    )


def current_version(*, process_key: str) -> ProcessVersion | None:
    return (
        ProcessVersion.objects.filter(process__key=process_key, is_current=True)
        .select_related("process")
        .first()
    )


def version_stages(*, version_id: int) -> list[Stage]:
    """Stages of a version in order, with their exit criteria prefetched (one extra query)."""
    return list(
        Stage.objects.filter(version_id=version_id)
        .order_by("position")
        .prefetch_related(
            Prefetch("exit_criteria", queryset=ExitCriterion.objects.order_by("position"))
        )
    )
