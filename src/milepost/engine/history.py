"""Synthetic stage histories: simulate pipelines, or fit plausible paths to real outcomes.

The Maven CRM dataset (and many real CRMs) keep only a deal's *current* stage. Conversion,
velocity and forecasting need the path a deal took, so the demo synthesises it from a parameter
file of *true* values (``params/history_new_business.yaml``): per open stage the probabilities of
advancing, skipping a stage, going back and being lost, a lognormal time in stage, Poisson
activity rates by type, and how many contacts with which buying roles a deal has.

Two entry points, both deterministic from a seed and vectorised with NumPy (one step over all
opportunities at a time, never a Python loop per opportunity):

- :func:`simulate` runs the Markov process forward from creation to a horizon, for benchmarks
  (a million opportunities in seconds; :func:`iter_simulate` streams bounded chunks).
- :func:`fit_histories` draws, for real deals, a path consistent with their known outcome and
  dates: won deals end in *won* exactly at their close, lost deals are lost on their close date
  from a sampled stage, open deals sit in a sampled open stage at the as-of moment.

Stages are integer indexes: ``0 .. K-1`` the open stages in process order, ``K`` won, ``K+1``
lost, and ``-1`` (:data:`NO_STAGE`) the "from" of a deal's first transition. Times are
``datetime64[s]`` in UTC. No Django here: the importer maps indexes to stage rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np

from milepost.engine import yaml_text
from milepost.engine.vocabulary import ACTIVITY_TYPES, BUYING_ROLES

PARAMS_DIR = Path(__file__).resolve().parent / "params"
DEFAULT_PARAMS_FILE = PARAMS_DIR / "history_new_business.yaml"

MOVES: tuple[str, ...] = ("advance", "skip", "back", "lost")
ADVANCE, SKIP, BACK, LOST = range(4)
NO_STAGE = -1
DAY = 86_400
WEEK = 7 * DAY

OUTCOMES: tuple[str, ...] = ("won", "lost", "open", "prospecting")
WON_OUTCOME, LOST_OUTCOME, OPEN_OUTCOME, PROSPECTING_OUTCOME = range(4)

# Working hours used to place real (date-only) events in the day: a deal is engaged in the
# morning and closed in the afternoon, so a same-day cycle still has ordered timestamps.
_ENGAGE_HOURS = (9, 12)
_CLOSE_HOURS = (14, 18)
_AS_OF_HOUR = 18


class ParamsInvalid(ValueError):
    """The parameter file is inconsistent (probabilities, stage names, activity types)."""


CRITERION_EFFECT_KEYS: tuple[str, ...] = ("met", "win_lift", "late", "waived", "buyer")


@dataclass(frozen=True)
class CriterionEffect:
    """The truth about one exit criterion at the deals' last forward exit of its stage
    (``criteria`` in the parameter file; see :func:`criteria_at_exits`).

    - ``met``: share of those exits with the criterion met;
    - ``win_lift``: among the exits of deals that closed, win rate with it met minus win rate
      without it (0: the criterion tells nothing about the outcome);
    - ``late``: share of not-met exits where it became met after the exit;
    - ``waived``: share of not-met exits that went through a gate warning;
    - ``buyer``: share of met exits whose evidence is buyer-confirmed (the rest: rep or
      manager, evenly).
    """

    stage: str
    criterion: str
    met: float
    win_lift: float = 0.0
    late: float = 0.0
    waived: float = 0.0
    buyer: float = 0.0


@dataclass(frozen=True, eq=False)
class HistoryParams:
    """Validated generator parameters as arrays indexed by open stage (``K`` rows)."""

    process: str
    stages: tuple[str, ...]
    won: str
    lost: str
    moves: np.ndarray  # (K, 4) advance, skip, back, lost; rows sum to 1
    dwell_median_days: np.ndarray  # (K,)
    dwell_sigma: np.ndarray  # (K,)
    activity_types: tuple[str, ...]
    activity_rates: np.ndarray  # (K, A) per week
    milestones: np.ndarray  # (K,) activity type index or -1
    contacts_per_account: int
    contacts_mean: float
    contacts_max: int
    roles: tuple[str, ...]
    role_probs: np.ndarray  # (R,)
    leading_roles: tuple[tuple[int, int], ...]  # (role index, from open stage index)
    lost_duration_sigma: float
    criteria: tuple[CriterionEffect, ...] = ()

    @property
    def n_open(self) -> int:
        return len(self.stages)

    @property
    def won_index(self) -> int:
        return len(self.stages)

    @property
    def lost_index(self) -> int:
        return len(self.stages) + 1

    @property
    def stage_keys(self) -> tuple[str, ...]:
        """Every stage key by index: open stages, then won, then lost."""
        return (*self.stages, self.won, self.lost)

    def expected_exit_days(self) -> np.ndarray:
        """Cumulative median days from creation to leaving each open stage (forward path)."""
        return np.cumsum(self.dwell_median_days)

    def reach_probabilities(self) -> np.ndarray:
        """Probability that a deal enters each open stage, following forward moves only."""
        k = self.n_open
        reach = np.zeros(k + 2)
        reach[0] = 1.0
        for s in range(k):
            reach[s + 1] += reach[s] * self.moves[s, ADVANCE]
            reach[s + 2] += reach[s] * self.moves[s, SKIP]
        return reach[:k]


def load_params(path: Path | str = DEFAULT_PARAMS_FILE) -> HistoryParams:
    """Read and validate a parameter file (YAML)."""
    return params_from_dict(yaml_text.safe_load(Path(path).read_text()))


def params_from_dict(doc: dict[str, Any]) -> HistoryParams:
    """Validate a parameter document (as loaded from YAML); raise :class:`ParamsInvalid`."""
    try:
        stage_moves: dict[str, dict[str, float]] = doc["stages"]
        stages = tuple(stage_moves)
        k = len(stages)
        if k < 2:
            raise ParamsInvalid("at least two open stages are needed")
        moves = np.array(
            [[float(stage_moves[s].get(m, 0.0)) for m in MOVES] for s in stages], dtype=float
        )
        for s, row in zip(stages, moves, strict=True):
            unknown = set(stage_moves[s]) - set(MOVES)
            if unknown:
                raise ParamsInvalid(f"stage {s}: unknown moves {sorted(unknown)}")
            if (row < 0).any() or abs(row.sum() - 1.0) > 1e-6:
                raise ParamsInvalid(f"stage {s}: move probabilities must be >= 0 and sum to 1")
            if row[ADVANCE] <= 0:
                raise ParamsInvalid(f"stage {s}: the probability to advance must be positive")
        if moves[0, BACK] > 0:
            raise ParamsInvalid(f"stage {stages[0]}: the first stage cannot go back")
        if moves[-1, SKIP] > 0:
            raise ParamsInvalid(f"stage {stages[-1]}: the last open stage cannot skip")
        moves = moves / moves.sum(axis=1, keepdims=True)

        tis = doc["time_in_stage"]
        _same_stages("time_in_stage", tis, stages)
        median = np.array([float(tis[s]["median_days"]) for s in stages])
        sigma = np.array([float(tis[s]["sigma"]) for s in stages])
        if (median <= 0).any() or (sigma <= 0).any():
            raise ParamsInvalid("time_in_stage: median_days and sigma must be positive")

        types = ACTIVITY_TYPES
        rates_doc = doc.get("activities_per_week", {})
        rates = np.zeros((k, len(types)))
        for s, by_type in rates_doc.items():
            if s not in stages:
                raise ParamsInvalid(f"activities_per_week: unknown stage {s}")
            for t, rate in by_type.items():
                if t not in types or float(rate) < 0:
                    raise ParamsInvalid(f"activities_per_week.{s}: bad type or rate {t}={rate}")
                rates[stages.index(s), types.index(t)] = float(rate)
        milestones = np.full(k, -1, dtype=np.int64)
        for s, t in (doc.get("milestones") or {}).items():
            if s not in stages or t not in types:
                raise ParamsInvalid(f"milestones: unknown stage or type {s}={t}")
            milestones[stages.index(s)] = types.index(t)

        contacts = doc["contacts"]
        mix = contacts["role_mix"]
        roles = BUYING_ROLES
        unknown_roles = set(mix) - set(roles)
        if unknown_roles:
            raise ParamsInvalid(f"contacts.role_mix: unknown roles {sorted(unknown_roles)}")
        role_probs = np.array([float(mix.get(r, 0.0)) for r in roles])
        if (role_probs < 0).any() or abs(role_probs.sum() - 1.0) > 1e-6:
            raise ParamsInvalid("contacts.role_mix must be >= 0 and sum to 1")
        leading = []
        for role, stage in (contacts.get("leading_roles") or {}).items():
            if role not in roles or stage not in stages:
                raise ParamsInvalid(f"contacts.leading_roles: unknown {role}={stage}")
            leading.append((roles.index(role), stages.index(stage)))
        cmax = int(contacts["max_per_deal"])
        per_account = int(contacts["per_account"])
        cmean = float(contacts["mean_per_deal"])
        if not 1 <= cmean <= cmax <= per_account or len(leading) > cmax:
            raise ParamsInvalid("contacts: need 1 <= mean_per_deal <= max_per_deal <= per_account")
        return HistoryParams(
            process=str(doc.get("process", "")),
            stages=stages,
            won=str(doc.get("won", "won")),
            lost=str(doc.get("lost", "lost")),
            moves=moves,
            dwell_median_days=median,
            dwell_sigma=sigma,
            activity_types=types,
            activity_rates=rates,
            milestones=milestones,
            contacts_per_account=per_account,
            contacts_mean=cmean,
            contacts_max=cmax,
            roles=roles,
            role_probs=role_probs / role_probs.sum(),
            leading_roles=tuple(leading),
            lost_duration_sigma=float((doc.get("fit") or {}).get("lost_duration_sigma", 0.8)),
            criteria=_criterion_effects(doc.get("criteria") or {}, stages),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ParamsInvalid(f"malformed parameter document: {exc!r}") from exc


def _criterion_effects(
    doc: dict[str, dict[str, dict[str, Any]]], stages: tuple[str, ...]
) -> tuple[CriterionEffect, ...]:
    effects = []
    for stage, by_criterion in doc.items():
        if stage not in stages:
            raise ParamsInvalid(f"criteria: unknown stage {stage}")
        for criterion, spec in by_criterion.items():
            where = f"criteria.{stage}.{criterion}"
            unknown = set(spec) - set(CRITERION_EFFECT_KEYS)
            if unknown:
                raise ParamsInvalid(f"{where}: unknown keys {sorted(unknown)}")
            values = {k: float(v) for k, v in spec.items()}
            if not 0 < values.get("met", -1) < 1:
                raise ParamsInvalid(f"{where}: met must be a share strictly between 0 and 1")
            if not -1 < values.get("win_lift", 0.0) < 1:
                raise ParamsInvalid(f"{where}: win_lift must be between -1 and 1")
            if any(not 0 <= values.get(k, 0.0) <= 1 for k in ("late", "waived", "buyer")):
                raise ParamsInvalid(f"{where}: late, waived and buyer are shares in [0, 1]")
            effects.append(CriterionEffect(stage, str(criterion), **values))
    return tuple(effects)


def _same_stages(section: str, mapping: dict[str, Any], stages: tuple[str, ...]) -> None:
    if tuple(mapping) != stages:
        raise ParamsInvalid(f"{section}: stages must be {list(stages)}, got {list(mapping)}")


# ---------------------------------------------------------------------------------------------
# Output


@dataclass(frozen=True, eq=False)
class DealShaping:
    """Optional per-deal bends of :func:`fit_histories`' timings (arrays of length n).

    - ``open_elapsed``: for open deals past the first stage, the share of the sampled time in
      its current stage already spent at ``as_of`` (below 1: entered recently, still active;
      above 1: stalled). Without it an open deal's sampled path starts at its creation.
    - ``activity_scale``: multiplies the activity rates of every visit of the deal.
    - ``quiet_days_before_close``: a closed deal's activities stop that many days before its
      close (it went quiet).
    - ``final_visit_weight``: multiplies the weight of a closed deal's last open stage visit
      (above 1: it lingered there longer before it closed).
    """

    open_elapsed: np.ndarray | None = None
    activity_scale: np.ndarray | None = None
    quiet_days_before_close: np.ndarray | None = None
    final_visit_weight: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class History:
    """Columnar histories of ``n`` opportunities (index ``0 .. n-1``).

    Transitions are sorted by opportunity then time; the first transition of each opportunity
    has ``t_from == -1`` and ``t_seconds == -1``. Activities and contact roles are grouped by
    visit / opportunity but not globally sorted.
    """

    stage_keys: tuple[str, ...]
    activity_types: tuple[str, ...]
    roles: tuple[str, ...]
    n: int
    created_at: np.ndarray  # datetime64[s] (n,)
    final_stage: np.ndarray  # int8 (n,)
    stage_entered_at: np.ndarray  # datetime64[s] (n,)
    t_opp: np.ndarray  # int64 (T,)
    t_from: np.ndarray  # int8
    t_to: np.ndarray  # int8
    t_at: np.ndarray  # datetime64[s]
    t_seconds: np.ndarray  # int64 seconds spent in t_from (-1 for the first transition)
    a_opp: np.ndarray  # int64 (A,)
    a_stage: np.ndarray  # int8
    a_type: np.ndarray  # int8 (index into activity_types)
    a_at: np.ndarray  # datetime64[s]
    a_milestone: np.ndarray  # bool
    c_opp: np.ndarray  # int64 (C,)
    c_slot: np.ndarray  # int8: 0 .. contacts_max-1, distinct within an opportunity
    c_role: np.ndarray  # int8 (index into roles)

    def transitions_frame(self) -> Any:
        """The transitions as a Polars frame with stage keys (for analysis and benchmarks)."""
        import polars as pl

        keys = pl.Series(["", *self.stage_keys])
        return pl.DataFrame(
            {
                "opportunity": self.t_opp,
                "from_stage": keys.gather(self.t_from.astype(np.int64) + 1),
                "to_stage": keys.gather(self.t_to.astype(np.int64) + 1),
                "moved_at": self.t_at.astype("datetime64[ms]"),
                "seconds_in_from_stage": self.t_seconds,
            }
        ).with_columns(pl.col("from_stage").replace("", None))

    def activities_frame(self) -> Any:
        """The activities as a Polars frame with stage keys and activity type names."""
        import polars as pl

        return pl.DataFrame(
            {
                "opportunity": self.a_opp,
                "stage": pl.Series(self.stage_keys).gather(self.a_stage.astype(np.int64)),
                "type": pl.Series(self.activity_types).gather(self.a_type.astype(np.int64)),
                "occurred_at": self.a_at.astype("datetime64[ms]"),
                "milestone": self.a_milestone,
            }
        )

    @staticmethod
    def concat(parts: Sequence[History]) -> History:
        """Join histories of disjoint opportunity ranges, renumbering opportunities."""
        offsets = np.cumsum([0, *(p.n for p in parts)])
        first = parts[0]

        def cat(name: str, shift: bool = False) -> np.ndarray:
            pairs = zip(parts, offsets[:-1], strict=True)
            return np.concatenate([getattr(p, name) + (off if shift else 0) for p, off in pairs])

        return History(
            stage_keys=first.stage_keys,
            activity_types=first.activity_types,
            roles=first.roles,
            n=int(offsets[-1]),
            created_at=cat("created_at"),
            final_stage=cat("final_stage"),
            stage_entered_at=cat("stage_entered_at"),
            t_opp=cat("t_opp", True),
            t_from=cat("t_from"),
            t_to=cat("t_to"),
            t_at=cat("t_at"),
            t_seconds=cat("t_seconds"),
            a_opp=cat("a_opp", True),
            a_stage=cat("a_stage"),
            a_type=cat("a_type"),
            a_at=cat("a_at"),
            a_milestone=cat("a_milestone"),
            c_opp=cat("c_opp", True),
            c_slot=cat("c_slot"),
            c_role=cat("c_role"),
        )


# ---------------------------------------------------------------------------------------------
# Shared building blocks


def _seconds(value: datetime | date | np.datetime64 | str) -> int:
    """A moment as integer seconds since the epoch (UTC). Dates mean midnight UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp())
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp())
    return int(np.datetime64(cast(Any, value), "s").astype(np.int64))


def _as_time(seconds: np.ndarray) -> np.ndarray:
    return np.asarray(seconds, dtype=np.int64).astype("datetime64[s]")


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of ``probs`` (rows sum to 1): the chosen column index."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = np.asarray(rng.random(int(probs.shape[0])))[:, None]
    return np.asarray(np.minimum((u >= cum).sum(axis=1), probs.shape[1] - 1))


def _dwell_seconds(rng: np.random.Generator, stage: np.ndarray, p: HistoryParams) -> np.ndarray:
    """Lognormal time in stage, whole seconds, at least one."""
    z = rng.standard_normal(stage.shape[0])
    days = np.exp(np.log(p.dwell_median_days[stage]) + p.dwell_sigma[stage] * z)
    return np.asarray(np.maximum(1, (days * DAY).astype(np.int64)))


def _target(stage: np.ndarray, move: np.ndarray, p: HistoryParams) -> np.ndarray:
    step = np.array([1, 2, -1, 0])[move]
    return np.where(move == LOST, p.lost_index, stage + step)


def _activities(
    rng: np.random.Generator,
    v_opp: np.ndarray,
    v_stage: np.ndarray,
    v_start: np.ndarray,
    v_end: np.ndarray,
    v_forward: np.ndarray,
    p: HistoryParams,
    rate_scale: np.ndarray | None = None,
) -> tuple[np.ndarray, ...]:
    """Poisson activities inside each stage visit (rates times ``rate_scale``, per visit,
    if given), plus one milestone per forward exit."""
    span = np.maximum(v_end - v_start, 0)
    weeks = span / WEEK
    opp, stage, kind, at, milestone = [], [], [], [], []
    for t in range(len(p.activity_types)):
        rate = p.activity_rates[v_stage, t]
        if rate_scale is not None:
            rate = rate * rate_scale
        if not rate.any():
            continue
        counts = rng.poisson(rate * weeks)
        idx = np.repeat(np.arange(v_opp.shape[0]), counts)
        opp.append(v_opp[idx])
        stage.append(v_stage[idx])
        kind.append(np.full(idx.shape[0], t, dtype=np.int8))
        at.append(v_start[idx] + (rng.random(idx.shape[0]) * span[idx]).astype(np.int64))
        milestone.append(np.zeros(idx.shape[0], dtype=bool))
    mtype = p.milestones[v_stage]
    has = v_forward & (mtype >= 0)
    opp.append(v_opp[has])
    stage.append(v_stage[has])
    kind.append(mtype[has].astype(np.int8))
    frac = 0.5 + 0.45 * rng.random(int(has.sum()))
    at.append(v_start[has] + (frac * span[has]).astype(np.int64))
    milestone.append(np.ones(int(has.sum()), dtype=bool))
    return (
        np.concatenate(opp).astype(np.int64),
        np.concatenate(stage).astype(np.int8),
        np.concatenate(kind).astype(np.int8),
        np.concatenate(at),
        np.concatenate(milestone),
    )


def _contacts(
    rng: np.random.Generator, max_stage: np.ndarray, p: HistoryParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contacts per deal (1 + Poisson, capped) and the buying role each plays."""
    n = max_stage.shape[0]
    counts = np.minimum(1 + rng.poisson(p.contacts_mean - 1, n), p.contacts_max)
    opp = np.repeat(np.arange(n), counts)
    starts = np.cumsum(counts) - counts
    slot = np.arange(opp.shape[0]) - np.repeat(starts, counts)
    role = _categorical(rng, np.broadcast_to(p.role_probs, (opp.shape[0], len(p.roles))).copy())
    for position, (role_index, from_stage) in enumerate(p.leading_roles):
        lead = (slot == position) & (max_stage[opp] >= from_stage)
        role[lead] = role_index
    return opp.astype(np.int64), slot.astype(np.int8), role.astype(np.int8)


def _history(
    p: HistoryParams,
    n: int,
    created: np.ndarray,
    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    activities: tuple[np.ndarray, ...],
    contacts: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> History:
    t_opp, t_from, t_to, t_at, t_sec = rows
    last = np.r_[t_opp[1:] != t_opp[:-1], True] if t_opp.size else np.zeros(0, dtype=bool)
    final_stage = np.zeros(n, dtype=np.int8)
    entered = np.zeros(n, dtype=np.int64)
    final_stage[t_opp[last]] = t_to[last]
    entered[t_opp[last]] = t_at[last]
    a_opp, a_stage, a_type, a_at, a_milestone = activities
    return History(
        stage_keys=p.stage_keys,
        activity_types=p.activity_types,
        roles=p.roles,
        n=n,
        created_at=_as_time(created),
        final_stage=final_stage,
        stage_entered_at=_as_time(entered),
        t_opp=t_opp.astype(np.int64),
        t_from=t_from.astype(np.int8),
        t_to=t_to.astype(np.int8),
        t_at=_as_time(t_at),
        t_seconds=t_sec.astype(np.int64),
        a_opp=a_opp,
        a_stage=a_stage,
        a_type=a_type,
        a_at=_as_time(a_at),
        a_milestone=a_milestone,
        c_opp=contacts[0],
        c_slot=contacts[1],
        c_role=contacts[2],
    )


# ---------------------------------------------------------------------------------------------
# Forward simulation


def iter_simulate(
    n: int,
    seed: int,
    start: datetime | date | np.datetime64 | str,
    horizon: datetime | date | np.datetime64 | str,
    params: HistoryParams | None = None,
    *,
    created_until: datetime | date | np.datetime64 | str | None = None,
    activities: bool = True,
    chunk_size: int = 200_000,
    max_steps: int = 500,
) -> Iterator[History]:
    """Yield :func:`simulate`'s output in chunks of ``chunk_size`` opportunities.

    Chunk ``i`` covers opportunities ``i*chunk_size ..``, numbered from 0 within the chunk, and
    uses the ``i``-th child of ``SeedSequence(seed)``: the output depends on ``seed`` and
    ``chunk_size`` only, so memory stays bounded by one chunk whatever ``n`` is.
    """
    p = params or load_params()
    t0, t1 = _seconds(start), _seconds(horizon)
    until = _seconds(created_until) if created_until is not None else t1
    if not t0 < t1 or not t0 < until <= t1:
        raise ValueError("need start < created_until <= horizon")
    n_chunks = -(-n // chunk_size) if n else 0
    children = np.random.SeedSequence(seed).spawn(n_chunks)
    for i, child in enumerate(children):
        m = min(chunk_size, n - i * chunk_size)
        rng = np.random.default_rng(child)
        yield _simulate_chunk(rng, m, t0, until, t1, p, activities, max_steps)


def simulate(
    n: int,
    seed: int,
    start: datetime | date | np.datetime64 | str,
    horizon: datetime | date | np.datetime64 | str,
    params: HistoryParams | None = None,
    **options: Any,
) -> History:
    """Simulate ``n`` opportunities created uniformly in ``[start, created_until)`` and run
    through the process until they close or the ``horizon`` (still open then: censored).

    Each step draws, for every still-open opportunity at once, a lognormal time in its stage and
    a move (advance / skip / back / lost); a move dated past the horizon does not happen.
    Options as for :func:`iter_simulate`.
    """
    p = params or load_params()
    parts = list(iter_simulate(n, seed, start, horizon, p, **options))
    if not parts:
        return _history(p, 0, *_empty_parts())
    return parts[0] if len(parts) == 1 else History.concat(parts)


def _empty_parts() -> tuple[Any, ...]:
    e = np.zeros(0, dtype=np.int64)
    return (e, (e, e, e, e, e), (e, e, e, e, np.zeros(0, dtype=bool)), (e, e, e))


def _simulate_chunk(
    rng: np.random.Generator,
    n: int,
    t0: int,
    until: int,
    t1: int,
    p: HistoryParams,
    with_activities: bool,
    max_steps: int,
) -> History:
    k = p.n_open
    created = t0 + (rng.random(n) * (until - t0)).astype(np.int64)
    stage = np.zeros(n, dtype=np.int64)
    entered = created.copy()
    max_stage = np.zeros(n, dtype=np.int64)
    opp_ids = np.arange(n)
    t_opp, t_from, t_to, t_at, t_sec = [opp_ids], [np.full(n, -1)], [stage.copy()], [created], []
    t_sec.append(np.full(n, -1))
    v_opp, v_stage, v_start, v_end, v_fwd = [], [], [], [], []
    active = opp_ids
    for _ in range(max_steps):
        if active.size == 0:
            break
        s = stage[active]
        dwell = _dwell_seconds(rng, s, p)
        move = _categorical(rng, p.moves[s])
        leave = entered[active] + dwell
        moved = leave < t1
        target = _target(s, move, p)
        v_opp.append(active)
        v_stage.append(s)
        v_start.append(entered[active])
        v_end.append(np.where(moved, leave, t1))
        v_fwd.append(moved & (target > s) & (target <= k))
        a, tgt = active[moved], target[moved]
        t_opp.append(a)
        t_from.append(s[moved])
        t_to.append(tgt)
        t_at.append(leave[moved])
        t_sec.append(dwell[moved])
        stage[a] = tgt
        entered[a] = leave[moved]
        max_stage[a] = np.maximum(max_stage[a], np.minimum(tgt, k - 1))
        active = a[tgt < k]
    else:  # step cap reached: what is still moving stays open in its stage
        if active.size:
            v_opp.append(active)
            v_stage.append(stage[active])
            v_start.append(entered[active])
            v_end.append(np.full(active.size, t1))
            v_fwd.append(np.zeros(active.size, dtype=bool))
    order = np.argsort(np.concatenate(t_opp), kind="stable")
    rows = tuple(np.concatenate(col)[order] for col in (t_opp, t_from, t_to, t_at, t_sec))
    if with_activities and v_opp:
        acts = _activities(
            rng,
            np.concatenate(v_opp),
            np.concatenate(v_stage),
            np.concatenate(v_start),
            np.concatenate(v_end),
            np.concatenate(v_fwd),
            p,
        )
    else:
        acts = _empty_parts()[2]
    contacts = _contacts(rng, max_stage, p)
    return _history(p, n, created, rows, acts, contacts)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Fitting paths to real outcomes


def _outcome_codes(outcome: Sequence[str] | np.ndarray) -> np.ndarray:
    arr = np.asarray(outcome)
    if arr.dtype.kind in "iu":
        codes = arr.astype(np.int64)
    else:
        lookup = {name: i for i, name in enumerate(OUTCOMES)}
        try:
            codes = np.array([lookup[str(o)] for o in arr], dtype=np.int64)
        except KeyError as exc:
            raise ValueError(f"unknown outcome {exc.args[0]!r}; expected {OUTCOMES}") from None
    if codes.size and (codes.min() < 0 or codes.max() >= len(OUTCOMES)):
        raise ValueError("outcome codes out of range")
    return codes


def _day_seconds(days: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Midnight UTC of each date as seconds, and a mask of missing (NaT / None) values."""
    arr = np.asarray(days, dtype="datetime64[D]")
    missing = np.isnat(arr)
    secs = np.where(missing, 0, arr.astype("datetime64[s]").astype(np.int64))
    return secs.astype(np.int64), missing


def _paths(
    rng: np.random.Generator, targets: np.ndarray, p: HistoryParams, max_steps: int = 60
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paths from the first stage to each target stage (``<= K``; ``K`` = won).

    At each step a deal moves advance / skip / back with the parameter file's probabilities
    renormalised without *lost* and without moves past its target; back moves stop after half
    of ``max_steps`` so every path ends. Returns (opportunity, from, to) rows, step-major.
    """
    cur = np.zeros(targets.shape[0], dtype=np.int64)
    opp_rows, from_rows, to_rows = [], [], []
    active = np.flatnonzero(cur < targets)
    for step in range(max_steps):
        if active.size == 0:
            break
        c, t = cur[active], targets[active]
        probs = p.moves[c][:, :LOST].copy()
        probs[:, SKIP] *= c + 2 <= t
        if step >= max_steps // 2:
            probs[:, BACK] = 0.0
        probs /= probs.sum(axis=1, keepdims=True)
        move = _categorical(rng, probs)
        nxt = c + np.array([1, 2, -1])[move]
        opp_rows.append(active)
        from_rows.append(c)
        to_rows.append(nxt)
        cur[active] = nxt
        active = active[nxt < t]
    if not opp_rows:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e
    return np.concatenate(opp_rows), np.concatenate(from_rows), np.concatenate(to_rows)


def _sample_lost_stage(
    rng: np.random.Generator, duration_days: np.ndarray, p: HistoryParams
) -> np.ndarray:
    """The open stage each lost deal was lost from: prior (reach x lost probability) times a
    lognormal kernel of its engage-to-close duration around the typical time to leave a stage."""
    prior = p.reach_probabilities() * p.moves[:, LOST]
    expected = p.expected_exit_days()
    gap = np.log1p(duration_days)[:, None] - np.log1p(expected)[None, :]
    weight = prior[None, :] * np.exp(-0.5 * (gap / p.lost_duration_sigma) ** 2)
    weight += 1e-12 * prior[None, :]  # never all zero
    return _categorical(rng, weight / weight.sum(axis=1, keepdims=True))


def _sample_open_stage(rng: np.random.Generator, n: int, p: HistoryParams) -> np.ndarray:
    """An open stage past the first for each engaged open deal, weighted by expected occupancy
    (probability of reaching the stage x its median time)."""
    occupancy = p.reach_probabilities() * p.dwell_median_days
    occupancy[0] = 0.0
    return _categorical(rng, np.broadcast_to(occupancy / occupancy.sum(), (n, p.n_open)).copy())


def fit_histories(
    outcome: Sequence[str] | np.ndarray,
    engage_date: Sequence[Any] | np.ndarray,
    close_date: Sequence[Any] | np.ndarray,
    as_of: date,
    seed: int,
    params: HistoryParams | None = None,
    *,
    activities: bool = True,
    shaping: DealShaping | None = None,
) -> History:
    """Draw a plausible stage path for each real deal, consistent with its outcome and dates.

    ``outcome`` is ``won`` / ``lost`` / ``open`` / ``prospecting`` (or codes 0-3);
    ``engage_date`` and ``close_date`` are dates (NaT / None where unknown). Rules:

    - the deal is created (enters the first stage) on its engage date, in the morning;
    - *won*: first stage → … → won, advancing or skipping (and occasionally going back) per the
      parameters, reaching won exactly at the close (close date, afternoon);
    - *lost*: a path to a sampled stage, then lost at the close;
    - *open*: a path to a sampled open stage past the first; the last move is before ``as_of``;
    - *prospecting*: created in the first stage (a sampled time in stage before ``as_of`` when
      the engage date is missing) and still there.

    Intermediate moves split the known time in proportion to lognormal times in stage; for open
    deals whose sampled times fit before ``as_of``, the rest is time in the current stage
    (stalled deals, whose activities stop when their sampled time in stage is up).
    ``shaping`` (optional, per deal) bends these timings for a demo: see :class:`DealShaping`.
    Raises ``ValueError`` when dates contradict the outcome.
    """
    p = params or load_params()
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    codes = _outcome_codes(outcome)
    n = codes.shape[0]
    engage_s, engage_missing = _day_seconds(engage_date)
    close_s, close_missing = _day_seconds(close_date)
    as_of_s = _seconds(as_of) + _AS_OF_HOUR * 3600
    closed = (codes == WON_OUTCOME) | (codes == LOST_OUTCOME)
    needs_engage = codes != PROSPECTING_OUTCOME
    if (engage_missing & needs_engage).any():
        raise ValueError("won, lost and open deals need an engage date")
    if (close_missing & closed).any():
        raise ValueError("won and lost deals need a close date")
    if (closed & ~close_missing & ~engage_missing & (close_s < engage_s)).any():
        raise ValueError("a close date is before its engage date")
    if (~engage_missing & (engage_s > _seconds(as_of))).any():
        raise ValueError("an engage date is after the as-of date")

    k = p.n_open
    lo, hi = _ENGAGE_HOURS
    created = engage_s + ((lo + (hi - lo) * np.asarray(rng.random(n))) * 3600).astype(np.int64)
    prospect_guess = as_of_s - _dwell_seconds(rng, np.zeros(n, dtype=np.int64), p)
    created = np.where(engage_missing, prospect_guess, created)
    created = np.minimum(created, as_of_s)
    lo, hi = _CLOSE_HOURS
    close_at = close_s + ((lo + (hi - lo) * np.asarray(rng.random(n))) * 3600).astype(np.int64)
    end = np.where(closed, close_at, as_of_s)

    # Target stage of the forward path, then a terminal move for lost deals.
    target = np.zeros(n, dtype=np.int64)
    target[codes == WON_OUTCOME] = p.won_index
    lost_idx = np.flatnonzero(codes == LOST_OUTCOME)
    target[lost_idx] = _sample_lost_stage(rng, (close_s - engage_s)[lost_idx] / DAY, p)
    open_idx = np.flatnonzero(codes == OPEN_OUTCOME)
    target[open_idx] = _sample_open_stage(rng, open_idx.size, p)
    path_opp, path_from, path_to = _paths(rng, target, p)

    t_opp = np.concatenate([np.arange(n), path_opp, lost_idx])
    t_from = np.concatenate([np.full(n, -1), path_from, target[lost_idx]])
    t_to = np.concatenate([np.zeros(n, dtype=np.int64), path_to, np.full(lost_idx.size, k + 1)])
    order = np.argsort(t_opp, kind="stable")
    t_opp, t_from, t_to = t_opp[order], t_from[order], t_to[order]

    # Time: each row enters t_to; visits of open stages get a lognormal weight.
    is_open_to = t_to < k
    weight = np.zeros(t_opp.shape[0])
    weight[is_open_to] = _dwell_seconds(rng, t_to[is_open_to], p).astype(float)
    counts = np.bincount(t_opp, minlength=n)
    starts = np.cumsum(counts) - counts
    last = starts + counts - 1
    if shaping is not None and shaping.final_visit_weight is not None:
        final_visit = last[closed & (counts >= 2)] - 1  # the visit before won / lost
        weight[final_visit] *= shaping.final_visit_weight[t_opp[final_visit]]
    cum = np.cumsum(weight)
    base = cum[starts] - weight[starts]
    total = cum[starts + counts - 1] - base  # all visits, including an open deal's current one
    before = cum - weight - np.repeat(base, counts)  # time (in weight units) before entering
    span = (end - created).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(total > 0, span / total, 0.0)
    scale = np.where(closed, scale, np.minimum(scale, 1.0))
    current_start = np.zeros(n, dtype=np.int64)
    recent = np.zeros(n, dtype=bool)
    if shaping is not None and shaping.open_elapsed is not None:
        # An open deal entered its current stage ``elapsed`` of its sampled time ago; the
        # earlier visits share the time from creation to then.
        recent = (codes == OPEN_OUTCOME) & (counts >= 2)
        w_now = weight[last]
        current_start = np.maximum(
            created + 3600, as_of_s - (shaping.open_elapsed * w_now).astype(np.int64)
        )
        current_start = np.minimum(current_start, as_of_s)
        with np.errstate(divide="ignore", invalid="ignore"):
            recent_scale = (current_start - created) / np.maximum(total - w_now, 1.0)
        scale = np.where(recent, recent_scale, scale)
    t_at = np.repeat(created, counts) + np.floor(before * np.repeat(scale, counts)).astype(np.int64)
    t_at[last[closed]] = close_at[closed]  # exact close, whatever the rounding
    t_at[last[recent]] = current_start[recent]
    t_sec = np.r_[-1, np.diff(t_at)]
    t_sec[starts] = -1

    # Visits (for activities): every row entering an open stage, ending at the next row.
    nxt_at = np.r_[t_at[1:], 0]
    nxt_to = np.r_[t_to[1:], 0]
    is_last = np.zeros(t_opp.shape[0], dtype=bool)
    is_last[last] = True
    v = is_open_to
    # A deal that sits in its stage longer than its sampled time has gone quiet: activities
    # stop when the sampled time is up (stalled deals show no recent activity).
    quiet_from = t_at + weight.astype(np.int64)
    v_end = np.where(is_last, np.minimum(as_of_s, quiet_from), nxt_at)
    v_fwd = ~is_last & (nxt_to > t_to) & (nxt_to <= k)
    rate_scale = None
    if shaping is not None and shaping.quiet_days_before_close is not None:
        # A closed deal's last open visit goes quiet that many days before the close.
        before_close = np.zeros(t_opp.shape[0], dtype=bool)
        before_close[last[closed & (counts >= 2)] - 1] = True
        quiet = (shaping.quiet_days_before_close[t_opp] * DAY).astype(np.int64)
        v_end = np.where(before_close, np.maximum(t_at, v_end - quiet), v_end)
    if shaping is not None and shaping.activity_scale is not None:
        rate_scale = shaping.activity_scale[t_opp[v]]
    if activities:
        acts = _activities(
            rng, t_opp[v], t_to[v], t_at[v], v_end[v], v_fwd[v], p, rate_scale=rate_scale
        )
        a_sort = np.lexsort((acts[3], acts[0]))
        acts = tuple(col[a_sort] for col in acts)
    else:
        acts = _empty_parts()[2]
    max_stage = np.zeros(n, dtype=np.int64)
    np.maximum.at(max_stage, t_opp, np.minimum(t_to, k - 1) * (t_to != k + 1))
    contacts = _contacts(rng, max_stage, p)
    return _history(p, n, created, (t_opp, t_from, t_to, t_at, t_sec), acts, contacts)


# ---------------------------------------------------------------------------------------------
# Exit criteria at the exits (process effectiveness)


def last_forward_exits(h: History) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each opportunity's last forward exit of each open stage: (opportunity, stage index,
    entered at, exited at) as seconds, sorted by opportunity then stage. A forward exit leaves
    an open stage for a later open stage or won."""
    k = len(h.stage_keys) - 2
    if h.t_opp.size < 2:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e, e
    same = h.t_opp[1:] == h.t_opp[:-1]
    here, nxt = h.t_to[:-1].astype(np.int64), h.t_to[1:].astype(np.int64)
    forward = same & (here < k) & (nxt > here) & (nxt <= k)
    rows = np.flatnonzero(forward)
    opp, stage = h.t_opp[rows], here[rows]
    at = h.t_at.astype(np.int64)
    # Rows are in time order within an opportunity: keep the last row of each (opp, stage).
    order = np.lexsort((rows, stage, opp))
    opp, stage, rows = opp[order], stage[order], rows[order]
    last = np.r_[(opp[1:] != opp[:-1]) | (stage[1:] != stage[:-1]), True]
    rows = rows[last]
    return opp[last], stage[last], at[rows], at[rows + 1]


def criteria_at_exits(h: History, seed: int, params: HistoryParams | None = None) -> Any:
    """Draw the exit criteria of ``params.criteria`` at each deal's last forward exit of their
    stage, so that their true effect on winning is known (:class:`CriterionEffect`).

    Outcomes come first (the Markov history), criteria after, by Bayes' rule: with ``w`` the
    share of closed exits that won, ``m`` the met share and ``d`` the lift, a met exit wins
    with ``p1 = w + (1 - m) d`` and a not-met one with ``p0 = w - m d`` (so ``m p1 + (1 - m) p0
    = w`` and ``p1 - p0 = d``); a won deal met the criterion with chance ``m p1 / w``, a lost one
    ``m (1 - p1) / (1 - w)``, an open one ``m``. The history's outcomes, times and paths are
    untouched. Raises ``ValueError`` when ``d`` is too large for the stage's win rate
    (``p0`` or ``p1`` outside [0, 1]).

    Returns a Polars frame: ``opportunity``, ``stage_key``, ``exited_at``, ``criterion``,
    ``met``, ``first_met_at`` (met: between entering and leaving; met late: 1-30 days after),
    ``waived``, ``evidence_level`` (met only).
    """
    import polars as pl

    p = params or load_params()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 15]))
    opp, stage, entered, exited = last_forward_exits(h)
    final = h.final_stage.astype(np.int64)[opp]
    won, lost = final == p.won_index, final == p.lost_index
    parts = []
    for effect in p.criteria:
        s = p.stages.index(effect.stage)
        sel = np.flatnonzero(stage == s)
        n = sel.size
        m, d = effect.met, effect.win_lift
        closed = won[sel] | lost[sel]
        w = won[sel].sum() / closed.sum() if closed.any() else 0.5
        p1, p0 = w + (1 - m) * d, w - m * d
        if not (0 <= p0 <= 1 and 0 <= p1 <= 1):
            raise ValueError(
                f"criteria.{effect.stage}.{effect.criterion}: win_lift {d} is impossible with "
                f"a win rate of {w:.2f} at the stage's exits"
            )
        chance = np.full(n, m)
        if 0 < w < 1:
            chance[won[sel]] = m * p1 / w
            chance[lost[sel]] = m * (1 - p1) / (1 - w)
        met = rng.random(n) < chance
        late = ~met & (rng.random(n) < effect.late)
        waived = ~met & (rng.random(n) < effect.waived)
        span = exited[sel] - entered[sel]
        first = np.where(
            met,
            entered[sel] + (rng.random(n) * span).astype(np.int64),
            exited[sel] + ((1 + 29 * rng.random(n)) * DAY).astype(np.int64),
        )
        level = np.where(
            rng.random(n) < effect.buyer, "buyer", np.where(rng.random(n) < 0.5, "rep", "manager")
        )
        parts.append(
            pl.DataFrame(
                {
                    "opportunity": opp[sel],
                    "stage_key": np.full(n, effect.stage),
                    "exited_at": _as_time(exited[sel]).astype("datetime64[ms]"),
                    "criterion": np.full(n, effect.criterion),
                    "met": met,
                    "first_met_at": _as_time(first).astype("datetime64[ms]"),
                    "waived": waived,
                    "evidence_level": level,
                }
            ).with_columns(
                first_met_at=pl.when(pl.col("met") | pl.Series(late))
                .then(pl.col("first_met_at"))
                .otherwise(None),
                evidence_level=pl.when(pl.col("met")).then(pl.col("evidence_level")),
            )
        )
    if not parts:
        return pl.DataFrame(
            schema={
                "opportunity": pl.Int64,
                "stage_key": pl.String,
                "exited_at": pl.Datetime("ms"),
                "criterion": pl.String,
                "met": pl.Boolean,
                "first_met_at": pl.Datetime("ms"),
                "waived": pl.Boolean,
                "evidence_level": pl.String,
            }
        )
    return pl.concat(parts)
