"""Template helpers for snoozes: who may snooze, and the signals one may snooze."""

from __future__ import annotations

from typing import Any

from django import template

from milepost.engine.signals import SIGNAL_LABELS
from milepost.inspection.snoozes.services import MAX_DAYS_AHEAD, can_snooze

register = template.Library()


@register.filter
def may_snooze(user: Any) -> bool:
    return can_snooze(user)


@register.filter
def signal_label(key: str) -> str:
    return SIGNAL_LABELS.get(key, key)


@register.simple_tag
def snooze_signal_choices() -> list[tuple[str, str]]:
    return list(SIGNAL_LABELS.items())


@register.simple_tag
def snooze_max_days() -> int:
    return MAX_DAYS_AHEAD
