"""One way to show money, percentages, dates and counts (core/formatting.py and its filters)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.template import engines
from django.utils import translation

from milepost.core import formatting


@pytest.mark.parametrize(
    ("language", "amount", "currency", "shown"),
    [
        ("en", Decimal("5482.40"), "USD", "$5,482"),
        ("en", 5482, "EUR", "€5,482"),
        ("en", 5482, "JPY", "¥5,482"),
        ("en", 5482, "GBP", "£5,482"),
        ("en", 5482, "CHF", "CHF5,482"),
        ("de", 5482, "EUR", "5.482\xa0€"),
        ("en", Decimal("-12.6"), "USD", "-$13"),
        ("en", None, "USD", "—"),
    ],
)
def test_money_is_in_the_deals_currency_in_the_users_locale(language, amount, currency, shown):
    with translation.override(language):
        assert formatting.money(amount, currency) == shown


def test_money_without_a_currency_uses_the_default(settings):
    settings.MILEPOST_DEFAULT_CURRENCY = "EUR"
    assert formatting.money(10) == "€10"


def test_totals_in_several_currencies_are_listed_not_added():
    assert formatting.money_totals({"USD": 5, "EUR": 7}) == "€7 + $5"
    assert formatting.money_totals({}) == "$0"


@pytest.mark.parametrize(
    ("language", "points", "digits", "shown"),
    [("en", 46, 0, "46%"), ("en", Decimal("12.26"), 1, "12.3%"), ("de", 46, 0, "46\xa0%")],
)
def test_percent_takes_points(language, points, digits, shown):
    with translation.override(language):
        assert formatting.percent(points, digits) == shown


def test_share_takes_a_fraction():
    assert formatting.share(0.46) == "46%"
    assert formatting.share(None) == "—"


def test_dates_have_one_format_per_context():
    d = date(2026, 10, 16)
    assert formatting.date_short(d) == "Oct 16, 2026"
    assert formatting.date_long(d) == "October 16, 2026"
    assert formatting.date_short(None) == "—"
    assert formatting.date_short("2026-10-16") == "Oct 16, 2026"  # ISO text from JSON details


def test_date_format_is_a_setting(settings):
    settings.MILEPOST_DATE_FORMAT = {"short": "yyyy-MM-dd"}
    assert formatting.date_short(date(2026, 10, 16)) == "2026-10-16"
    assert formatting.date_long(date(2026, 10, 16)) == "October 16, 2026"


def test_datetimes_are_shown_in_the_current_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    moment = datetime(2026, 10, 16, 2, 30, tzinfo=UTC)
    assert formatting.datetime_short(moment) == "Oct 15, 2026, 10:30\u202fPM"
    assert formatting.datetime_long(moment) == "October 15, 2026, 10:30\u202fPM"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (date(2026, 10, 19), "in 3 days"),
        (date(2026, 10, 15), "1 day ago"),
        (date(2026, 10, 16), "today"),
        (date(2026, 12, 15), "in 60 days"),
    ],
)
def test_relative_dates_count_days(value, shown):
    assert formatting.relative(value, today=date(2026, 10, 16)) == shown


def test_filters_are_available_in_every_template_without_load():
    template = engines["django"].from_string(
        "{{ a|money:c }} | {{ p|percent }} | {{ d|date_short }} | {{ d|date_long }}"
        " | {{ n|number }}"
    )
    context = {"a": 5482, "c": "USD", "p": 46, "d": date(2026, 10, 16), "n": 12345}
    rendered = template.render(context)
    assert rendered == "$5,482 | 46% | Oct 16, 2026 | October 16, 2026 | 12,345"
