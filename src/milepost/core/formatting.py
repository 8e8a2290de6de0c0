"""How Milepost shows money, percentages, dates and counts: one place, used by every page.

Templates use the filters in ``core/templatetags/milepost_format.py`` (built in to every template,
no ``{% load %}`` needed); Python code that builds display strings (table columns, messages,
presentation dataclasses) calls these functions. Both follow the active language (Django's
``get_language()``, English unless ``LocaleMiddleware`` picked another) through Babel's CLDR data,
so ``$5,482`` in English is ``5.482 $`` in German, with no hand-written symbol table.

What each context gets (docs/ui.md lists them for new pages):

- money: the deal's own currency, whole units (cents are noise on a pipeline page);
- percentages: ``46%`` (a value in points, 0-100, as probabilities are stored);
- dates: ``MILEPOST_DATE_FORMAT["short"]`` in tables and lists, ``["long"]`` in page headers,
  a relative phrase ("in 3 days") only where the distance is the point;
- machine formats (CSV, ``<input type="date">``, ``<time datetime>``, the API) stay ISO 8601.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from django.conf import settings
from django.utils import timezone, translation

EMPTY = "—"  # what a missing value shows as, everywhere
DEFAULT_DATE_FORMAT = {"short": "medium", "long": "long"}


@lru_cache(maxsize=32)
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(translation.to_locale(language))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_US")


def current_locale() -> Locale:
    """The Babel locale of the active Django language."""
    return _locale(translation.get_language() or settings.LANGUAGE_CODE)


@lru_cache(maxsize=32)
def _whole_currency_pattern(locale: Locale) -> babel_numbers.NumberPattern:
    pattern = copy.copy(locale.currency_formats["standard"])
    pattern.frac_prec = (0, 0)
    return pattern


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def money(amount: object, currency: str | None = None) -> str:
    """``$5,482``: whole units in ``currency`` (default: ``MILEPOST_DEFAULT_CURRENCY``)."""
    value = _decimal(amount)
    if value is None:
        return EMPTY
    code = (currency or settings.MILEPOST_DEFAULT_CURRENCY).upper()
    rounded = value.quantize(Decimal("1"))
    return _whole_currency_pattern(current_locale()).apply(
        rounded, current_locale(), currency=code, currency_digits=False
    )


def money_totals(totals: Mapping[str, object]) -> str:
    """Amounts in several currencies, never added together: ``$5,000 + €1,200``."""
    if not totals:
        return money(0)
    return " + ".join(money(v, c) for c, v in sorted(totals.items()))


def percent(points: object, digits: int = 0) -> str:
    """``46%`` for 46 (points, 0-100, as probabilities and rates are stored here)."""
    value = _decimal(points)
    if value is None:
        return EMPTY
    locale = current_locale()
    pattern = _percent_pattern(locale, max(0, digits))
    return pattern.apply(value / 100, locale)


def share(fraction: object, digits: int = 0) -> str:
    """``46%`` for 0.46: a share computed as a fraction (rates, coverage)."""
    value = _decimal(fraction)
    return EMPTY if value is None else percent(value * 100, digits)


@lru_cache(maxsize=64)
def _percent_pattern(locale: Locale, digits: int) -> babel_numbers.NumberPattern:
    pattern = copy.copy(locale.percent_formats[None])
    pattern.frac_prec = (digits, digits)
    return pattern


def number(value: object, digits: int = 0) -> str:
    """``12,345`` (grouped for the locale); ``digits`` decimals when asked."""
    dec = _decimal(value)
    if dec is None:
        return EMPTY
    pattern = "#,##0" if digits <= 0 else "#,##0." + "0" * digits
    return babel_numbers.format_decimal(dec, pattern, locale=current_locale())


def _date_format(kind: str) -> str:
    formats = {**DEFAULT_DATE_FORMAT, **getattr(settings, "MILEPOST_DATE_FORMAT", {})}
    return formats[kind]


def _as_date(value: date | datetime | str) -> date:
    if isinstance(value, str):  # an ISO date from a JSON detail (agendas store them so)
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def date_short(value: date | datetime | str | None) -> str:
    """The date in tables and lists (``Oct 16, 2026`` in English)."""
    if value is None or value == "":
        return EMPTY
    return babel_dates.format_date(_as_date(value), _date_format("short"), current_locale())


def date_long(value: date | datetime | str | None) -> str:
    """The date in a page's header or a sentence (``October 16, 2026`` in English)."""
    if value is None or value == "":
        return EMPTY
    return babel_dates.format_date(_as_date(value), _date_format("long"), current_locale())


def _datetime(value: datetime, kind: str) -> str:
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    locale = current_locale()
    glue = str(locale.datetime_formats["medium" if kind == "short" else "long"])
    day = babel_dates.format_date(local.date(), _date_format(kind), locale)
    clock = babel_dates.format_time(local.time(), "short", locale=locale)
    return glue.replace("{1}", day).replace("{0}", clock)


def datetime_short(value: datetime | None) -> str:
    """A moment in tables, in the current time zone: ``Oct 16, 2026, 3:04 PM`` in English."""
    if value is None or value == "":
        return EMPTY
    return _datetime(value, "short")


def datetime_long(value: datetime | None) -> str:
    """A moment in a page's header: ``October 16, 2026, 3:04 PM`` in English."""
    if value is None or value == "":
        return EMPTY
    return _datetime(value, "long")


def relative(value: date | datetime | None, today: date | None = None) -> str:
    """``in 3 days`` / ``3 days ago`` / ``today``: only where the distance is the point."""
    if value is None or value == "":
        return EMPTY
    on = today or timezone.localdate()
    days = (_as_date(value) - on).days
    if days == 0:
        return str(translation.gettext("today"))
    return babel_dates.format_timedelta(
        timedelta(days=days),
        granularity="day",
        threshold=1000,  # "in 40 days", not "in 1 month": a close date is counted in days
        add_direction=True,
        locale=current_locale(),
    )
