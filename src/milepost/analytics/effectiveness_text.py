"""The process-effectiveness texts, translatable: gettext copies of the engine's English
templates (``engine.process_effectiveness.MESSAGES`` / ``VERDICT_MESSAGES``) with the same
``%(name)s`` parameters, and the formatting of those parameters with the project's builtins.

The engine knows no language; here each template is marked for translation and the numbers are
formatted for the reader's locale (shares as percentages, differences in points, counts
grouped) before they are put in. ``tests/test_effectiveness_pages.py`` checks that every key and
parameter of the engine's templates is here, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from milepost.core import formatting

MESSAGES = {
    "criterion_no_difference": _(
        "Exit criterion “%(criterion_statement)s” (%(stage_label)s) does not separate wins "
        "from losses: %(won_met)s of %(n_met)s deals won with it met at the exit "
        "(%(rate_met)s), %(won_not_met)s of %(n_not_met)s without it (%(rate_not_met)s); "
        "difference %(difference)s, 95%% interval %(low)s to %(high)s (n=%(n)s)."
    ),
    "criterion_lower": _(
        "Deals that met exit criterion “%(criterion_statement)s” (%(stage_label)s) win less "
        "often than deals that did not: %(won_met)s of %(n_met)s (%(rate_met)s) against "
        "%(won_not_met)s of %(n_not_met)s (%(rate_not_met)s); difference %(difference)s, 95%% "
        "interval %(low)s to %(high)s (n=%(n)s). Check what the criterion really asks."
    ),
    "criterion_waived": _(
        "Exit criterion “%(criterion_statement)s” (%(stage_label)s) predicts wins "
        "(%(rate_met)s won with it met, %(rate_not_met)s without; difference %(difference)s, "
        "95%% interval %(low)s to %(high)s, n=%(n)s) but %(waived)s of %(exits)s deals "
        "(%(waived_share)s) moved on past it through a gate warning."
    ),
    "criterion_met_late": _(
        "Exit criterion “%(criterion_statement)s” (%(stage_label)s) is often met only after "
        "the deal left the stage: %(met_late)s of %(n_not_met)s deals that left without it "
        "(%(late_share)s) met it later. It may belong to %(next_stage_label)s."
    ),
    "max_days_below_p80": _(
        "%(stage_label)s's max_days (%(max_days)s) is far below the time deals really spend "
        "there: p80 %(p80)s days, median %(p50)s, over %(visits)s visits; %(over)s of them "
        "(%(over_share)s) went over max_days."
    ),
    "skippers_win_less": _(
        "Deals skipping %(stage_label)s win less: %(won_skip)s of %(n_skip)s (%(rate_skip)s) "
        "against %(won_through)s of %(n_through)s (%(rate_through)s) that went through it; "
        "difference %(difference)s, 95%% interval %(low)s to %(high)s."
    ),
}

VERDICT_MESSAGES = {
    "too_few": _(
        "Too few deals to tell: %(n_with)s on one side and %(n_without)s on the other, at "
        "least %(min_group)s each are needed."
    ),
    "higher": _("Wins more often: the whole 95%% interval is above zero."),
    "lower": _("Wins less often: the whole 95%% interval is below zero."),
    "no_difference": _(
        "No difference that matters: the whole 95%% interval is within %(margin)s points."
    ),
    "unclear": _("Not clear yet: the 95%% interval is too wide to tell."),
}

VERDICTS = {
    "too_few": _("too few deals"),
    "higher": _("wins more"),
    "lower": _("wins less"),
    "no_difference": _("no difference"),
    "unclear": _("unclear"),
}

CHANGES = {
    "remove_criterion": _("Remove exit criterion “%(criterion)s” from %(stage)s"),
    "move_criterion": _("Move exit criterion “%(criterion)s” from %(stage)s to %(to)s"),
    "set_stage_field": _("Set %(field)s of %(stage)s from %(from)s to %(to)s"),
    "set_process_field": _("Set the process's %(field)s from %(from)s to %(to)s"),
}

SHARES = frozenset(
    {"rate_met", "rate_not_met", "waived_share", "late_share", "over_share", "rate_skip",
     "rate_through"}
)  # fmt: skip
DIFFERENCES = frozenset({"difference", "low", "high"})
DAYS = frozenset({"p80", "p50"})


def points(fraction: float | None) -> str:
    """A difference of two rates in percentage points, signed: ``+12.5 points``."""
    if fraction is None:
        return formatting.EMPTY
    value = fraction * 100
    sign = "+" if value > 0 else ("-" if value < 0 else "")
    return gettext("%(n)s points") % {"n": sign + formatting.number(abs(value), 1)}


def shown_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A suggestion's parameters formatted for the reader (shares, points, days, counts)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key in SHARES and isinstance(value, int | float):
            out[key] = formatting.share(value, 0)
        elif key in DIFFERENCES and isinstance(value, int | float):
            out[key] = points(value)
        elif key in DAYS and isinstance(value, int | float):
            out[key] = formatting.number(value, 1)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = formatting.number(value)
        else:
            out[key] = value
    return out


def suggestion_text(kind: str, params: Mapping[str, Any]) -> str:
    return str(MESSAGES[kind]) % shown_params(params)


def verdict_text(
    verdict: str, *, n_with: int, n_without: int, min_group: int, margin: float
) -> str:
    return str(VERDICT_MESSAGES[verdict]) % {
        "n_with": formatting.number(n_with),
        "n_without": formatting.number(n_without),
        "min_group": formatting.number(min_group),
        "margin": formatting.number(margin * 100),
    }


def change_text(change: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    """The proposed change in words (stage keys shown as their labels)."""
    values = {
        "criterion": change.get("criterion", ""),
        "stage": labels.get(change.get("stage") or "", change.get("stage") or ""),
        "to": labels.get(str(change.get("to")), change.get("to")),
        "from": change.get("from", formatting.EMPTY),
        "field": change.get("field", ""),
    }
    template = CHANGES.get(str(change.get("action")))
    return str(template) % values if template is not None else str(change)
