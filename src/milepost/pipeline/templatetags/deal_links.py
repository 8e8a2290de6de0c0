"""``{% load deal_links %}``: link a signal to where it is fixed on the deal page."""

from __future__ import annotations

from django import template

from milepost.pipeline.fix_links import signal_fix_label, signal_fix_url

register = template.Library()


@register.simple_tag
def fix_url(opportunity_id: int, signal: str) -> str:
    return signal_fix_url(opportunity_id, signal)


@register.simple_tag
def fix_label(signal: str) -> str:
    return signal_fix_label(signal)
