"""Synthetic exit-criteria evidence and close-date pushes for imported deals without them.

The Maven CRM dataset records neither evidence nor how close dates moved, so an inspection of
the raw import would show every deal past its first stage as "not under control" and no deal
ever pushed. The demo synthesises, per new deal, the plausible residue of real selling:

* evidence for the evidence criteria of the stages the deal has passed: per deal a
  "diligence" decides how often it reaches the level the criterion needs (rep-asserted,
  manager-verified, buyer-confirmed with a contact of the account), some evidence is weaker
  than needed, a few are rejected; the note says it is synthetic. Buyer confirmation follows the
  rules reps follow: it rests on an artefact (synthetic meeting notes naming the contact) that
  the rep's manager accepted; :data:`PENDING_CLAIM_RATE` of the buyer claims on open deals
  still await the manager (they count at the rep's level and fill the review queue);
* a next step (the stage's first suggested action) with a date around today for most open
  deals, which the dataset does not have either;
* for a quarter of open deals, one to three close-date pushes dated during the deal's life;
* **habits**: one rep in five per team has one bad habit a manager should coach — they skip next
  steps (:data:`SKIP_NEXT_STEP_RATE` of their open deals have none), or their discovery is
  shallow (the discovery stage's evidence reaches the needed level on
  :data:`SHALLOW_DISCOVERY_DILIGENCE` of their deals). Without habits every rep looks like the
  team and the coaching agenda never finds a skill gap.

Deterministic from the seed; vectorised draws, rows written with plain bulk inserts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from milepost.engine.process_schema import ProcessDef

# Reps differ: most record what their deals need, some record little. A deal's "diligence" is
# the chance that each criterion of a passed stage has evidence at the level it needs.
DILIGENCE = (0.97, 0.75, 0.3)
DILIGENCE_WEIGHTS = (0.5, 0.35, 0.15)
SHORT_RATE = 0.5  # of the criteria that miss, half have evidence below the needed level
REJECTED_RATE = 0.04
LEVELS = ("rep", "manager", "buyer")
PENDING_CLAIM_RATE = 0.05  # of buyer claims on open deals: not yet accepted by the manager
ARTEFACT_NOTE = "Synthetic demo meeting notes: {name} confirmed this in a meeting."
PUSHED_RATE = 0.25
NEXT_STEP_RATE = 0.85  # open deals with a next step
NEXT_STEP_DAYS = (-10, 21)  # next-step date around today: some overdue
NOTE = "Synthetic demo evidence: {statement}"
HABIT_SHARE = 0.2  # of each team's reps
MIN_TEAM_FOR_HABIT = 3  # a habit is a pattern against teammates: needs some
HABITS = ("skips_next_steps", "shallow_discovery")
SKIP_NEXT_STEP_RATE = 0.7  # of a next-step skipper's open deals, the share with no next step
SHALLOW_DISCOVERY_DILIGENCE = 0.15
DISCOVERY_STAGE = 1  # position of the open stage whose evidence a shallow discoverer skimps


def rep_habits(
    owner_ids: Sequence[int], *, seed: int, teams: Mapping[int, int | None] | None = None
) -> dict[int, str]:
    """Which reps have which habit: deterministic from the seed, the reps and their teams.

    One rep in five per team (at least one), so a habit stands out against teammates who do
    not share it (a team where most reps skip next steps has a team topic, not a rep's gap).
    Habits alternate so both show up. ``teams`` maps rep -> manager; without it, one team.
    """
    rng = np.random.default_rng(seed)
    by_team: dict[int | None, list[int]] = {}
    for rep in sorted(set(owner_ids)):
        by_team.setdefault((teams or {}).get(rep), []).append(rep)
    chosen: list[int] = []
    for team in sorted(by_team, key=lambda t: (t is None, t or 0)):
        reps = by_team[team]
        picks = max(1, round(len(reps) * HABIT_SHARE)) if len(reps) >= MIN_TEAM_FOR_HABIT else 0
        chosen += [reps[int(i)] for i in rng.permutation(len(reps))[:picks]]
    return {rep: HABITS[i % len(HABITS)] for i, rep in enumerate(chosen)}


def _draw_diligence(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(DILIGENCE, size=n, p=DILIGENCE_WEIGHTS)


def deal_diligence(n: int, *, seed: int) -> np.ndarray:
    """The per-deal diligence :func:`evidence_rows` draws with the same ``seed`` (its first
    draw), so other synthetic records of a deal (methodology scores) agree with its evidence."""
    return _draw_diligence(np.random.default_rng(seed), n)


def evidence_rows(
    process: ProcessDef,
    passed: Sequence[int],
    contacts: Sequence[int | None],
    recorded_at: Sequence[datetime],
    *,
    seed: int,
    shallow: Sequence[bool] | None = None,
    is_open: Sequence[bool] | None = None,
) -> list[dict[str, Any]]:
    """Evidence for deal ``i`` for criteria of open stages ``< passed[i]``.

    ``contacts[i]`` is a contact of the deal's account (None: buyer-confirmed evidence is not
    possible, so it is recorded as manager-verified instead). ``shallow[i]``: the deal's rep
    skimps discovery (see the module docstring). Buyer-level rows carry ``claim``: ``accepted``
    (by the manager, on a meeting-notes artefact) or, for :data:`PENDING_CLAIM_RATE` of those
    on open deals (``is_open[i]``), ``pending``; their ``level`` is then ``rep``.
    """
    rng = np.random.default_rng(seed)
    diligence = _draw_diligence(rng, len(passed))[:, None]
    criteria = [
        (position, c)
        for position, stage in enumerate(process.open_stages)
        for c in stage.exit_criteria
        if c.needs_evidence
    ]
    rows: list[dict[str, Any]] = []
    if not criteria or not passed:
        return rows
    n = len(passed)
    draws = rng.random((n, len(criteria)))
    positions = np.array([p for p, _ in criteria])[None, :]
    if shallow is not None:
        skimped = np.asarray(shallow, dtype=bool)[:, None] & (positions == DISCOVERY_STAGE)
        diligence = np.where(skimped, SHALLOW_DISCOVERY_DILIGENCE, diligence)
    enough = draws < diligence  # evidence at the needed level (or above)
    short = ~enough & (rng.random((n, len(criteria))) < SHORT_RATE)  # evidence, too weak
    rejected = rng.random((n, len(criteria))) < REJECTED_RATE
    above = rng.random((n, len(criteria))) < 0.3  # stronger evidence than needed
    # Drawn from its own generator so the draws above stay what they were.
    pending = np.random.default_rng([seed, 1]).random((n, len(criteria))) < PENDING_CLAIM_RATE
    open_deal = np.asarray(is_open if is_open is not None else [False] * n, dtype=bool)
    limit = np.asarray(passed)[:, None]
    recorded = (positions < limit) & (enough | short)
    for i, j in zip(*np.nonzero(recorded), strict=True):
        _, criterion = criteria[j]
        need = LEVELS.index(criterion.verifier)
        if enough[i, j]:
            rank = min(need + int(above[i, j]), len(LEVELS) - 1)
        elif need == 0:
            continue  # nothing is weaker than the rep's own word
        else:
            rank = need - 1
        level = LEVELS[rank]
        if level == "buyer" and contacts[i] is None:
            level = "manager"
        claim = ""
        if level == "buyer":
            claim = "pending" if open_deal[i] and pending[i, j] else "accepted"
            if claim == "pending":
                level = "rep"
        rows.append(
            {
                "deal": int(i),
                "criterion_key": criterion.id,
                "state": "rejected" if rejected[i, j] else "active",
                "level": level,
                "claim": claim,
                "note": NOTE.format(statement=criterion.statement)[:4000],
                "confirmed_by": contacts[i] if claim else None,
                "evidence_date": recorded_at[i].date() if claim else None,
                "recorded_at": recorded_at[i],
                "rejection_reason": "Synthetic: the buyer did not confirm this in writing"
                if rejected[i, j]
                else "",
            }
        )
    return rows


def next_steps(
    process: ProcessDef,
    stage_keys: Sequence[str | None],
    today: date,
    *,
    seed: int,
    skips: Sequence[bool] | None = None,
) -> list[tuple[str, date] | None]:
    """A next step (the stage's first suggested action) and its date for most open deals.

    ``stage_keys[i]`` is deal ``i``'s open stage, None for closed deals (no next step).
    ``skips[i]``: the deal's rep habitually skips next steps.
    """
    rng = np.random.default_rng(seed)
    n = len(stage_keys)
    rate = np.full(n, NEXT_STEP_RATE)
    if skips is not None:
        rate = np.where(np.asarray(skips, dtype=bool), 1 - SKIP_NEXT_STEP_RATE, rate)
    has = rng.random(n) < rate
    offsets = rng.integers(NEXT_STEP_DAYS[0], NEXT_STEP_DAYS[1] + 1, size=n)
    actions = {
        s.key: (s.suggested_actions[0] if s.suggested_actions else s.label)
        for s in process.open_stages
    }
    return [
        (actions[key][:300], today + timedelta(days=int(offsets[i])))
        if key is not None and has[i]
        else None
        for i, key in enumerate(stage_keys)
    ]


def push_rows(
    open_deals: Sequence[int],
    created_at: Sequence[datetime],
    close_dates: Sequence[date],
    now: datetime,
    *,
    seed: int,
    rate: float = PUSHED_RATE,
    ends: Sequence[datetime] | None = None,
) -> list[dict[str, Any]]:
    """Close-date pushes for a share ``rate`` of ``open_deals`` (indexes), dated before the
    current date (or each deal's ``ends``: when a closed deal closed).

    The pushes chain: each moves the date from the previous one, and the last one lands on the
    deal's current close date, so the history is consistent with the deal as it is.
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for i in open_deals:
        if rng.random() >= rate:
            continue
        count = int(rng.integers(1, 4))
        shifts = rng.integers(7, 46, size=count)
        start, end = created_at[i], (now if ends is None else ends[i])
        span = max((end - start).total_seconds(), 1.0)
        moments = sorted(start + timedelta(seconds=float(s)) for s in rng.random(count) * span)
        current = close_dates[i] - timedelta(days=int(shifts.sum()))
        for moment, shift in zip(moments, shifts.tolist(), strict=True):
            rows.append(
                {
                    "deal": i,
                    "changed_at": moment,
                    "close_date_from": current,
                    "close_date_to": current + timedelta(days=shift),
                    "close_date_shift_days": shift,
                }
            )
            current += timedelta(days=shift)
    return rows
