"""Suggestions to the sales-ops admin, ranked, each with its evidence and a proposed change.

A suggestion is **never applied**: it carries a machine-readable :class:`ProposedChange` that
the designer can turn into a draft a person reviews and publishes. Its text is an English
template with named parameters (``%(name)s``) plus the parameters as plain values (counts,
shares in [0, 1], days), so the Django layer translates the template and formats the numbers.

The rules (thresholds in :class:`EffectivenessSettings`):

=========================  ==============================================  ====================
kind                       when                                            proposed change
=========================  ==============================================  ====================
criterion_no_difference    the met-vs-not-met win-rate difference's 95%    remove the criterion
                           interval lies within ±margin
criterion_lower            deals with the criterion met win *less* (the    remove the criterion
                           whole interval below 0, by margin or more)
criterion_waived           it separates (interval above 0, by margin or    gate_policy warn →
                           more) and at least waived_share of exits        block
                           waived it at a gate warning
criterion_met_late         at least late_share of its not-met exits met    move it to the next
                           it only after the exit (≥ min_group of them)    open stage
max_days_below_p80         p80 of days in stage ≥ far_factor x max_days    max_days → ceil(p80)
                           (≥ min_visits completed visits)
skippers_win_less          closed deals that skipped the stage win less    gate_policy → block
                           than those that went through (interval < 0,
                           by margin or more; policy not block yet)
=========================  ==============================================  ====================

"By margin or more": the point difference is at least ``margin`` (10 points) as well as the
interval clear of 0. On a large pipeline a one-point difference is "significant" and still not
worth changing a process for.

**Ranking**: ``score = evidence x affected``, highest first.

* ``evidence`` in [0, 1] says how clearly the data back the claim. For a difference: how far
  the interval's nearer bound is past the threshold, in half-widths of the interval, capped at
  1 (``min(1, |bound| / half_width)`` for "higher/lower"; ``(margin - max|bound|) / margin`` for
  "no difference"): an interval that barely clears the line scores near 0, one far past it 1.
  For a share (met late, over max_days): the lower end of the share's Wilson interval, so a
  share seen on few deals counts for less.
* ``affected``: the money (sum of ``amount``) of the deals behind the figure, or their number
  when ``rank_by`` is "count". A clear finding about a stage few deals touch ranks below a
  slightly less clear one about most of the pipeline.

Ties break on more deals, then kind, stage and criterion, so the list is the same whatever
the order of the input rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from milepost.engine.process_effectiveness.contract import EffectivenessSettings
from milepost.engine.process_effectiveness.figures import CriterionFigures, StageFigures
from milepost.engine.process_effectiveness.stats import Comparison, wilson_interval
from milepost.engine.process_schema import ProcessDef

KINDS: tuple[str, ...] = (
    "criterion_lower",
    "skippers_win_less",
    "criterion_no_difference",
    "criterion_waived",
    "criterion_met_late",
    "max_days_below_p80",
)

MESSAGES: dict[str, str] = {
    "criterion_no_difference": (
        "Exit criterion “%(criterion_statement)s” (%(stage_label)s) does not separate wins "
        "from losses: %(won_met)s of %(n_met)s deals won with it met at the exit "
        "(%(rate_met)s), %(won_not_met)s of %(n_not_met)s without it (%(rate_not_met)s); "
        "difference %(difference)s, 95%% interval %(low)s to %(high)s (n=%(n)s)."
    ),
    "criterion_lower": (
        "Deals that met exit criterion “%(criterion_statement)s” (%(stage_label)s) win less "
        "often than deals that did not: %(won_met)s of %(n_met)s (%(rate_met)s) against "
        "%(won_not_met)s of %(n_not_met)s (%(rate_not_met)s); difference %(difference)s, 95%% "
        "interval %(low)s to %(high)s (n=%(n)s). Check what the criterion really asks."
    ),
    "criterion_waived": (
        "Exit criterion “%(criterion_statement)s” (%(stage_label)s) predicts wins "
        "(%(rate_met)s won with it met, %(rate_not_met)s without; difference %(difference)s, "
        "95%% interval %(low)s to %(high)s, n=%(n)s) but %(waived)s of %(exits)s deals "
        "(%(waived_share)s) moved on past it through a gate warning."
    ),
    "criterion_met_late": (
        "Exit criterion “%(criterion_statement)s” (%(stage_label)s) is often met only after "
        "the deal left the stage: %(met_late)s of %(n_not_met)s deals that left without it "
        "(%(late_share)s) met it later. It may belong to %(next_stage_label)s."
    ),
    "max_days_below_p80": (
        "%(stage_label)s's max_days (%(max_days)s) is far below the time deals really spend "
        "there: p80 %(p80)s days, median %(p50)s, over %(visits)s visits; %(over)s of them "
        "(%(over_share)s) went over max_days."
    ),
    "skippers_win_less": (
        "Deals skipping %(stage_label)s win less: %(won_skip)s of %(n_skip)s (%(rate_skip)s) "
        "against %(won_through)s of %(n_through)s (%(rate_through)s) that went through it; "
        "difference %(difference)s, 95%% interval %(low)s to %(high)s."
    ),
}
"""English message templates by kind; named parameters are in ``Suggestion.params``."""

VERDICT_MESSAGES: dict[str, str] = {
    "too_few": (
        "Too few deals to tell: %(n_with)s on one side and %(n_without)s on the other, at "
        "least %(min_group)s each are needed."
    ),
    "higher": "Wins more often: the whole 95%% interval is above zero.",
    "lower": "Wins less often: the whole 95%% interval is below zero.",
    "no_difference": (
        "No difference that matters: the whole 95%% interval is within %(margin)s points."
    ),
    "unclear": "Not clear yet: the 95%% interval is too wide to tell.",
}
"""English text of a comparison's verdict (``Comparison.verdict``), with named parameters
``n_with``, ``n_without`` (its two group sizes), ``min_group`` and ``margin`` (in points,
from the settings); the Django layer translates them as it does :data:`MESSAGES`."""

# Parameters that are shares (0..1) or signed differences, for :meth:`Suggestion.english`.
_SHARES = frozenset(
    {
        "rate_met",
        "rate_not_met",
        "waived_share",
        "late_share",
        "over_share",
        "rate_skip",
        "rate_through",
    }
)
_DIFFERENCES = frozenset({"difference", "low", "high"})


@dataclass(frozen=True, slots=True)
class ProposedChange:
    """A change to the process a person may make from a suggestion (never made automatically).

    ``action``: ``remove_criterion`` | ``move_criterion`` (to ``to``, a stage key) |
    ``set_stage_field`` (``field`` of ``stage`` from ``from_`` to ``to``) |
    ``set_process_field`` (``field`` of the process). JSON form: :meth:`as_json`.
    """

    action: str
    stage: str | None = None
    criterion: str | None = None
    field: str | None = None
    from_: Any = None
    to: Any = None

    def as_json(self) -> dict[str, Any]:
        """E.g. ``{"action": "set_stage_field", "stage": "discover", "field": "max_days",
        "from": 14, "to": 30}``; keys that do not apply are left out."""
        out: dict[str, Any] = {"action": self.action}
        for key, value in (
            ("stage", self.stage),
            ("criterion", self.criterion),
            ("field", self.field),
            ("from", self.from_),
            ("to", self.to),
        ):
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One ranked suggestion: ``message`` (English template, :data:`MESSAGES`) with ``params``,
    the ``change`` it proposes, and why it ranks where it does (``evidence`` x affected ->
    ``score``). The deals behind it are in ``ProcessEffectiveness.deals`` (by its stage and
    criterion)."""

    kind: str
    stage: str
    criterion: str | None
    message: str
    params: Mapping[str, Any]
    change: ProposedChange
    evidence: float
    affected_deals: int
    affected_amount: float
    score: float

    def english(self) -> str:
        """The message in English with plain number formatting (CLI, tests, logs)."""
        shown: dict[str, Any] = {}
        for key, value in self.params.items():
            if key in _SHARES and isinstance(value, float):
                shown[key] = f"{value:.0%}"
            elif key in _DIFFERENCES and isinstance(value, float):
                shown[key] = f"{value * 100:+.1f} points"
            elif isinstance(value, float):
                shown[key] = f"{value:g}"
            else:
                shown[key] = value
        return self.message % shown


def _difference_evidence(c: Comparison) -> float:
    half = (c.high - c.low) / 2
    if half <= 0:
        return 1.0
    if c.verdict == "higher":
        return min(1.0, c.low / half)
    if c.verdict == "lower":
        return min(1.0, -c.high / half)
    return 0.0


def _no_difference_evidence(c: Comparison, margin: float) -> float:
    return max(0.0, (margin - max(abs(c.low), abs(c.high))) / margin)


def _comparison_params(c: Comparison) -> dict[str, Any]:
    return {
        "won_met": c.with_.won,
        "n_met": c.with_.n,
        "rate_met": c.with_.rate,
        "won_not_met": c.without.won,
        "n_not_met": c.without.n,
        "rate_not_met": c.without.rate,
        "difference": c.difference,
        "low": c.low,
        "high": c.high,
        "n": c.n,
    }


def suggest(
    process: ProcessDef,
    criteria: list[CriterionFigures],
    stages: list[StageFigures],
    settings: EffectivenessSettings,
) -> list[Suggestion]:
    """Every suggestion the rules (module docstring) find, ranked."""
    labels = {s.key: s.label for s in process.stages}
    statements = {c.id: c.statement for s in process.open_stages for c in s.exit_criteria}
    open_keys = [s.key for s in process.open_stages]
    found: list[tuple[str, str, str | None, dict[str, Any], ProposedChange, float, int, float]]
    found = []
    big = settings.margin
    for f in criteria:
        c = f.comparison
        base = {
            "stage": f.stage,
            "stage_label": labels[f.stage],
            "criterion": f.criterion,
            "criterion_statement": statements[f.criterion],
            **_comparison_params(c),
        }
        remove = ProposedChange("remove_criterion", stage=f.stage, criterion=f.criterion)
        if c.verdict == "no_difference":
            found.append(
                (
                    "criterion_no_difference",
                    f.stage,
                    f.criterion,
                    base,
                    remove,
                    _no_difference_evidence(c, settings.margin),
                    f.exits,
                    f.amount,
                )
            )
        elif c.verdict == "lower" and c.difference is not None and c.difference <= -big:
            found.append(
                (
                    "criterion_lower",
                    f.stage,
                    f.criterion,
                    base,
                    remove,
                    _difference_evidence(c),
                    f.exits,
                    f.amount,
                )
            )
        elif (
            c.verdict == "higher"
            and c.difference is not None
            and c.difference >= big
            and process.gate_policy == "warn"
            and f.exits
            and f.waived / f.exits >= settings.waived_share
        ):
            params = {
                **base,
                "waived": f.waived,
                "exits": f.exits,
                "waived_share": f.waived / f.exits,
            }
            change = ProposedChange(
                "set_process_field", field="gate_policy", from_="warn", to="block"
            )
            found.append(
                (
                    "criterion_waived",
                    f.stage,
                    f.criterion,
                    params,
                    change,
                    _difference_evidence(c),
                    f.exits,
                    f.amount,
                )
            )
        at = open_keys.index(f.stage)
        if (
            at + 1 < len(open_keys)
            and f.not_met >= settings.min_group
            and f.met_late / f.not_met >= settings.late_share
        ):
            nxt = open_keys[at + 1]
            params = {
                **base,
                "met_late": f.met_late,
                "late_share": f.met_late / f.not_met,
                "next_stage": nxt,
                "next_stage_label": labels[nxt],
            }
            change = ProposedChange("move_criterion", stage=f.stage, criterion=f.criterion, to=nxt)
            found.append(
                (
                    "criterion_met_late",
                    f.stage,
                    f.criterion,
                    params,
                    change,
                    wilson_interval(f.met_late, f.not_met)[0],
                    f.exits,
                    f.amount,
                )
            )
    for s in stages:
        if (
            s.max_days is not None
            and s.over_max is not None
            and s.days_p80 is not None
            and s.days_p50 is not None
            and s.completed_visits >= settings.min_visits
            and s.days_p80 >= settings.far_factor * s.max_days
        ):
            params = {
                "stage": s.stage,
                "stage_label": labels[s.stage],
                "max_days": s.max_days,
                "p50": s.days_p50,
                "p80": s.days_p80,
                "visits": s.completed_visits,
                "over": s.over_max,
                "over_share": s.over_max / s.completed_visits,
            }
            change = ProposedChange(
                "set_stage_field",
                stage=s.stage,
                field="max_days",
                from_=s.max_days,
                to=math.ceil(s.days_p80),
            )
            found.append(
                (
                    "max_days_below_p80",
                    s.stage,
                    None,
                    params,
                    change,
                    wilson_interval(s.over_max, s.completed_visits)[0],
                    s.stall_deals,
                    s.stall_amount,
                )
            )
        c = s.skip_comparison
        if (
            c.verdict == "lower"
            and c.difference is not None
            and c.difference <= -big
            and process.gate_policy != "block"
        ):
            params = {
                "stage": s.stage,
                "stage_label": labels[s.stage],
                "won_skip": c.with_.won,
                "n_skip": c.with_.n,
                "rate_skip": c.with_.rate,
                "won_through": c.without.won,
                "n_through": c.without.n,
                "rate_through": c.without.rate,
                "difference": c.difference,
                "low": c.low,
                "high": c.high,
                "skip_transitions": s.skip_transitions,
            }
            change = ProposedChange(
                "set_process_field", field="gate_policy", from_=process.gate_policy, to="block"
            )
            found.append(
                (
                    "skippers_win_less",
                    s.stage,
                    None,
                    params,
                    change,
                    _difference_evidence(c),
                    c.n,
                    s.skip_amount,
                )
            )
    out: list[Suggestion] = []
    for kind, stage, criterion, params, change, evidence, n_deals, amount in found:
        affected = amount if settings.rank_by == "amount" else float(n_deals)
        out.append(
            Suggestion(
                kind=kind,
                stage=stage,
                criterion=criterion,
                message=MESSAGES[kind],
                params=params,
                change=change,
                evidence=evidence,
                affected_deals=n_deals,
                affected_amount=amount,
                score=evidence * affected,
            )
        )
    stage_order = {k: i for i, k in enumerate(s.key for s in process.stages)}
    out.sort(
        key=lambda s: (
            -s.score,
            -s.affected_deals,
            KINDS.index(s.kind),
            stage_order[s.stage],
            s.criterion or "",
        )
    )
    return out
