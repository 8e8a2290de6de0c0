"""Template filters for every number, amount and date a page shows (see core/formatting.py).

Built in to every template (``TEMPLATES[...]["OPTIONS"]["builtins"]``), so pages use them
without ``{% load %}``::

    {{ opp.amount|money:opp.currency }}   {{ opp.probability|percent }}
    {{ rate|share }} (a fraction: 0.46 -> 46%)
    {{ opp.close_date|date_short }}       {{ session.held_on|date_long }}
    {{ action.due_date|relative }}         {{ count|number }}

Plurals are not filters: use ``{% blocktranslate count n=value %}`` (docs/ui.md).
"""

from __future__ import annotations

from django import template

from milepost.core import formatting

register = template.Library()


@register.filter
def money(amount: object, currency: str | None = None) -> str:
    return formatting.money(amount, currency or None)


@register.filter
def money_totals(totals: dict[str, object]) -> str:
    return formatting.money_totals(totals)


@register.filter
def percent(points: object, digits: int = 0) -> str:
    return formatting.percent(points, int(digits))


@register.filter
def share(fraction: object, digits: int = 0) -> str:
    return formatting.share(fraction, int(digits))


@register.filter
def number(value: object, digits: int = 0) -> str:
    return formatting.number(value, int(digits))


@register.filter(expects_localtime=False)
def date_short(value: object) -> str:
    return formatting.date_short(value)  # type: ignore[arg-type]


@register.filter(expects_localtime=False)
def date_long(value: object) -> str:
    return formatting.date_long(value)  # type: ignore[arg-type]


@register.filter(expects_localtime=False)
def datetime_short(value: object) -> str:
    return formatting.datetime_short(value)  # type: ignore[arg-type]


@register.filter(expects_localtime=False)
def datetime_long(value: object) -> str:
    return formatting.datetime_long(value)  # type: ignore[arg-type]


@register.filter(expects_localtime=False)
def relative(value: object) -> str:
    return formatting.relative(value)  # type: ignore[arg-type]
