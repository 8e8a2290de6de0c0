"""A synthetic pipeline at scale, as Polars frames ready for a bulk load.

The stage histories come from :func:`milepost.engine.history.iter_simulate` (the default
``new_business`` parameter file); this module turns each simulated chunk into rows of the real
tables with explicit ids: users in a hierarchy, accounts and contacts, opportunities, stage
transitions, activities and their contacts, buying roles, close-date / amount changes and
evidence. Everything is vectorised over a chunk (NumPy / Polars); Python loops only run per
chunk, per activity type or per exit criterion.

Frames use the tables' *column* names (``owner_id``, not ``owner``). Datetimes are naive
``Datetime`` meaning UTC, dates are ``Date``, amounts are exact decimal strings; the loader
converts them for each database. Nothing here writes to a database; :func:`process_refs` and
:func:`id_bases` only read (the stage rows and where free ids start).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from milepost.demo.histories import ACTIVITY_SUBJECTS
from milepost.demo.importer import PROCESS_KEY
from milepost.demo.maven import CURRENCY
from milepost.demo.people import CONTACT_TITLES, FIRST_NAMES, LAST_NAMES
from milepost.engine.history import History, HistoryParams, iter_simulate, load_params

SOURCE = "synthetic"  # TransitionSource.SYNTHETIC
DAY = 86_400
SECTORS = ("software", "retail", "medical", "finance", "marketing", "telecom", "services")
REGIONS = ("East", "Central", "West")
NEXT_STEPS = (
    "Send recap and agreed next meeting",
    "Confirm evaluation plan with the champion",
    "Book the demo with the technical buyer",
    "Review the business case with the economic buyer",
    "Send the revised proposal",
    "Agree the signing timeline",
)
LEVELS = ("rep", "manager", "buyer")
REJECTION_REASONS = (
    "Not confirmed by the buyer in writing",
    "Evidence predates the current stage",
    "The named contact has no authority on this decision",
)


@dataclass(frozen=True)
class ScaleConfig:
    """What to generate. Same config (and same code) gives the same rows."""

    opportunities: int = 1_000_000
    seed: int = 20261123
    as_of: date = date(2026, 11, 23)
    history_days: int = 365  # deals are created uniformly over this window before as_of
    managers: int = 20
    reps_per_manager: int = 10
    deals_per_account: int = 10
    # The parameter file's activity rates give ~15 activities per deal; the benchmark wants
    # ~10M activities + transitions for 1M deals, so Poisson rates are scaled down (milestone
    # activities, which exit criteria look for, are kept).
    activity_rate_scale: float = 0.15
    chunk_size: int = 100_000

    @property
    def accounts(self) -> int:
        return max(1, -(-self.opportunities // self.deals_per_account))

    @property
    def reps(self) -> int:
        return self.managers * self.reps_per_manager

    def marker(self) -> dict[str, Any]:
        """The parameters a loaded database is stamped with (and compared against)."""
        doc = dataclasses.asdict(self)
        doc["as_of"] = self.as_of.isoformat()
        return doc


@dataclass(frozen=True)
class ProcessRefs:
    """The stage rows the history's stage indexes map to (``0..K-1`` open, ``K`` won, ``K+1``
    lost), their defaults, and the evidence criteria (no machine rule) of each open stage."""

    version_id: int
    stage_ids: np.ndarray
    probability: np.ndarray
    forecast_category: tuple[str, ...]
    # (open stage index, criterion key, verifier) for criteria without a rule
    evidence_criteria: tuple[tuple[int, str, str], ...]
    kinds: tuple[str, ...] = ()  # open / won / lost per stage index
    positions: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def stage_steps(self, t_from: np.ndarray, t_to: np.ndarray) -> pl.Series:
        """:func:`milepost.pipeline.facts.stage_steps` for every move at once (the synthetic
        source: no process changes)."""
        kinds = np.array(self.kinds)
        has_from = t_from >= 0
        from_index = np.maximum(t_from, 0)
        keep = has_from & (kinds[from_index] == "open") & (kinds[t_to] != "lost")
        steps = self.positions[t_to] - self.positions[from_index]
        return _where(steps, keep)


TABLES = (
    "team_user",
    "accounts_account",
    "accounts_contact",
    "pipeline_opportunity",
    "pipeline_stagetransition",
    "pipeline_opportunitycontact",
    "pipeline_activity",
    "pipeline_activity_contacts",
    "pipeline_opportunitychange",
    "evidence_evidence",
)


@dataclass
class IdBases:
    """First free id per table; generated ids start there (so a non-empty database works)."""

    next_id: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 1))

    def take(self, table: str, count: int) -> np.ndarray:
        start = self.next_id[table]
        self.next_id[table] = start + count
        return np.arange(start, start + count, dtype=np.int64)


@dataclass(frozen=True)
class Batch:
    """Rows for several tables, in an order that satisfies foreign keys."""

    frames: tuple[tuple[str, pl.DataFrame], ...]

    def rows(self) -> dict[str, int]:
        return {table: frame.height for table, frame in self.frames}


def history_params(config: ScaleConfig) -> HistoryParams:
    params = load_params()
    return dataclasses.replace(
        params, activity_rates=params.activity_rates * config.activity_rate_scale
    )


def process_refs(params: HistoryParams, process_key: str = PROCESS_KEY) -> ProcessRefs:
    """Read the current version of ``process_key`` (loaded beforehand) from the database."""
    from milepost.process.models import ExitCriterion, Stage

    stages = {
        s.key: s
        for s in Stage.objects.filter(version__process__key=process_key, version__is_current=True)
    }
    missing = [k for k in params.stage_keys if k not in stages]
    if missing:
        raise LookupError(f"process {process_key!r} is not loaded or lacks stages {missing}")
    ordered = [stages[k] for k in params.stage_keys]
    index = {k: i for i, k in enumerate(params.stage_keys)}
    criteria = [
        (index[c.stage.key], c.key, c.verifier)
        for c in ExitCriterion.objects.filter(stage__in=ordered[: params.n_open])
        .select_related("stage")
        .order_by("stage__position", "position")
        if c.rule is None
    ]
    return ProcessRefs(
        version_id=ordered[0].version_id,
        stage_ids=np.array([s.pk for s in ordered], dtype=np.int64),
        probability=np.array([s.default_probability for s in ordered], dtype=np.int64),
        forecast_category=tuple(s.default_forecast_category for s in ordered),
        evidence_criteria=tuple(criteria),
        kinds=tuple(s.kind for s in ordered),
        positions=np.array([s.position for s in ordered], dtype=np.int64),
    )


def id_bases(connection: Any) -> IdBases:
    """First free id of every generated table on ``connection`` (``MAX(id) + 1``)."""
    bases = IdBases()
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            bases.next_id[table] = int(cursor.fetchone()[0]) + 1
    return bases


# ---------------------------------------------------------------------------------------------
# People and customers


@dataclass(frozen=True)
class People:
    """Ids the opportunity chunks draw from."""

    admin_id: int
    rep_ids: np.ndarray
    manager_of_rep: np.ndarray  # manager id per rep (same order as rep_ids)
    account_ids: np.ndarray
    account_owner: np.ndarray  # owner (a rep id) per account
    contact_base: int  # contact id of account index a, slot s: base + a * per_account + s
    contacts_per_account: int


def _seconds(moment: date) -> int:
    return int(datetime(moment.year, moment.month, moment.day, tzinfo=UTC).timestamp())


def _datetime(seconds: np.ndarray) -> pl.Series:
    return pl.Series(np.asarray(seconds, dtype=np.int64) * 1_000_000).cast(pl.Datetime("us"))


def _date(seconds: np.ndarray) -> pl.Series:
    return pl.Series(np.asarray(seconds, dtype=np.int64) // DAY).cast(pl.Int32).cast(pl.Date)


def _money(cents: np.ndarray) -> pl.Series:
    """Exact ``"1234.50"`` strings from integer cents."""
    frame = pl.DataFrame({"c": np.asarray(cents, dtype=np.int64)})
    return frame.select(
        pl.format(
            "{}.{}",
            pl.col("c") // 100,
            (pl.col("c") % 100).cast(pl.String).str.zfill(2),
        )
    ).to_series()


def _nulls(n: int, dtype: Any) -> pl.Series:
    return pl.repeat(None, n, dtype=dtype, eager=True)


# The evidence source of each of LEVELS (rep, manager, buyer).
SOURCES = ("rep_claim", "manager", "artefact")


def _const(value: Any, n: int) -> pl.Series:
    return pl.repeat(value, n, eager=True)


def _where(values: Any, keep: np.ndarray) -> pl.Series:
    """``values`` where ``keep``, null elsewhere."""
    series = values if isinstance(values, pl.Series) else pl.Series(values)
    return series.zip_with(pl.Series(keep), _nulls(series.len(), series.dtype))


def _pick(values: tuple[str, ...] | list[str], index: np.ndarray) -> pl.Series:
    return pl.Series(list(values)).gather(np.asarray(index, dtype=np.int64) % len(values))


def people_batch(
    config: ScaleConfig, params: HistoryParams, bases: IdBases
) -> tuple[Batch, People]:
    """Users (1 admin, 1 VP, managers, reps), accounts and their contacts."""
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 1]))
    start = _seconds(config.as_of) - config.history_days * DAY
    m, r = config.managers, config.reps
    n_users = 2 + m + r
    ids = bases.take("team_user", n_users)
    admin_id, vp_id, manager_ids, rep_ids = ids[0], ids[1], ids[2 : 2 + m], ids[2 + m :]
    manager_of_rep = np.repeat(manager_ids, config.reps_per_manager)
    usernames = (
        ["bench.admin", "bench.vp"]
        + [f"bench.manager.{i:03d}" for i in range(m)]
        + [f"bench.rep.{i:04d}" for i in range(r)]
    )
    role = ["admin", "leader"] + ["manager"] * m + ["rep"] * r
    manager_col = np.concatenate([[-1, -1], np.full(m, vp_id), manager_of_rep])
    seq = np.arange(n_users)
    users = pl.DataFrame(
        {
            "id": ids,
            "password": _const("!bench-unusable", n_users),
            "last_login": _nulls(n_users, pl.Datetime("us")),
            "is_superuser": _const(False, n_users),
            "username": usernames,
            "first_name": _pick(FIRST_NAMES, seq * 7 + 3),
            "last_name": _pick(LAST_NAMES, seq * 11 + 5),
            "email": [f"{u}@bench.milepost.example" for u in usernames],
            "is_staff": [True] + [False] * (n_users - 1),
            "is_active": _const(True, n_users),
            "date_joined": _datetime(np.full(n_users, start)),
            "role": role,
            "manager_id": _where(manager_col, manager_col > 0),
            "region": ["", ""]
            + [REGIONS[i % len(REGIONS)] for i in range(m)]
            + [REGIONS[(i // config.reps_per_manager) % len(REGIONS)] for i in range(r)],
            "title": ["Sales-ops admin", "VP of sales"]
            + ["Sales manager"] * m
            + ["Account executive"] * r,
        }
    )

    n_acc = config.accounts
    account_ids = bases.take("accounts_account", n_acc)
    account_owner = rep_ids[rng.integers(0, r, n_acc)]
    created = _datetime(np.full(n_acc, start - 30 * DAY))
    accounts = pl.DataFrame(
        {
            "id": account_ids,
            "name": [f"Bench Account {i:07d}" for i in range(n_acc)],
            "sector": _pick(SECTORS, rng.integers(0, len(SECTORS), n_acc)),
            "year_established": _nulls(n_acc, pl.Int64),
            "annual_revenue_musd": _nulls(n_acc, pl.String),
            "employees": rng.integers(10, 50_000, n_acc),
            "headquarters": _const("", n_acc),
            "parent_id": _nulls(n_acc, pl.Int64),
            "owner_id": account_owner,
            "version": np.ones(n_acc, dtype=np.int64),
            "created_at": created,
            "updated_at": created,
        }
    )

    per = params.contacts_per_account
    contact_ids = bases.take("accounts_contact", n_acc * per)
    acc_index = np.repeat(np.arange(n_acc), per)
    slot = np.tile(np.arange(per), n_acc)
    first = _pick(FIRST_NAMES, acc_index * 13 + slot * 7)
    last = _pick(LAST_NAMES, acc_index * 5 + slot * 3)
    contacts = pl.DataFrame(
        {
            "id": contact_ids,
            "account_id": account_ids[acc_index],
            "first_name": first,
            "last_name": last,
            "title": _pick(CONTACT_TITLES, slot),
            "email": (first + "." + last).str.to_lowercase()
            + "@acct"
            + pl.Series(acc_index).cast(pl.String)
            + ".example",
            "phone": _const("", contact_ids.size),
            "version": np.ones(contact_ids.size, dtype=np.int64),
            "created_at": _datetime(np.full(contact_ids.size, start - 30 * DAY)),
            "updated_at": _datetime(np.full(contact_ids.size, start - 30 * DAY)),
        }
    )
    frames = (("team_user", users), ("accounts_account", accounts), ("accounts_contact", contacts))
    people = People(
        admin_id=int(admin_id),
        rep_ids=rep_ids,
        manager_of_rep=manager_of_rep,
        account_ids=account_ids,
        account_owner=account_owner,
        contact_base=int(contact_ids[0]),
        contacts_per_account=per,
    )
    return Batch(frames), people


# ---------------------------------------------------------------------------------------------
# Opportunities and their history, one simulated chunk at a time


def _subject_parts() -> tuple[list[str], list[str], list[bool]]:
    """Per activity type: text before and after the placeholder, and whether it names the
    contact (else the account) — the demo's own subject templates, filled in vectorised."""
    prefix, suffix, names_contact = [], [], []
    for template in ACTIVITY_SUBJECTS.values():
        key = "{contact}" if "{contact}" in template else "{account}"
        before, _, after = template.partition(key)
        prefix.append(before)
        suffix.append(after)
        names_contact.append(key == "{contact}")
    return prefix, suffix, names_contact


def opportunity_batch(
    config: ScaleConfig,
    refs: ProcessRefs,
    people: People,
    bases: IdBases,
    history: History,
    chunk: int,
) -> Batch:
    """Every row of one simulated chunk of ``history.n`` opportunities."""
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 2, chunk]))
    n = history.n
    k = len(refs.stage_ids) - 2
    as_of = _seconds(config.as_of)
    opp_ids = bases.take("pipeline_opportunity", n)

    # Deal basics.
    acc = rng.integers(0, people.account_ids.size, n)
    owner = people.account_owner[acc]
    rep_pos = np.searchsorted(people.rep_ids, owner)
    manager = people.manager_of_rep[rep_pos]
    final = history.final_stage.astype(np.int64)
    is_open = final < k
    created = history.created_at.astype(np.int64)
    entered = history.stage_entered_at.astype(np.int64)
    cents = np.round(np.exp(np.log(25_000) + 0.9 * rng.standard_normal(n)) * 100).astype(np.int64)
    close_open = as_of + np.round(rng.normal(30, 40, n)).astype(np.int64) * DAY
    close_at = np.where(is_open, np.maximum(close_open, created), entered)
    has_step = rng.random(n) >= 0.2
    step_date = as_of + rng.integers(-21, 35, n) * DAY
    names = pl.Series(opp_ids).cast(pl.String).str.zfill(7)
    opportunities = pl.DataFrame(
        {
            "id": opp_ids,
            "external_id": _nulls(n, pl.String),
            "name": "Bench deal " + names,
            "account_id": people.account_ids[acc],
            "owner_id": owner,
            "lead_id": _nulls(n, pl.Int64),
            "product_id": _nulls(n, pl.Int64),
            "stage_id": refs.stage_ids[final],
            "stage_entered_at": _datetime(entered),
            "amount": _money(cents),
            "currency": _const(CURRENCY, n),
            "close_date": _date(close_at),
            "forecast_category": pl.Series(list(refs.forecast_category)).gather(final),
            "probability": refs.probability[final],
            "probability_overridden": np.zeros(n, dtype=bool),
            "probability_set_by_id": _nulls(n, pl.Int64),
            "probability_set_at": _nulls(n, pl.Datetime("us")),
            "next_step": pl.Series(list(NEXT_STEPS))
            .gather(rng.integers(0, len(NEXT_STEPS), n))
            .zip_with(pl.Series(has_step), _const("", n)),
            "next_step_date": _where(_date(step_date), has_step),
            "source": _const("benchmark", n),
            "lost_reason": _const("", n),
            "created_at": _datetime(created),
            "updated_at": _datetime(entered),
            "closed_at": _where(_datetime(entered), ~is_open),
            "version": np.ones(n, dtype=np.int64),
        }
    )

    # Stage transitions: every simulated move, at the deal's amount and close date.
    t_opp = history.t_opp
    t_from = history.t_from.astype(np.int64)
    t_n = t_opp.size
    transitions = pl.DataFrame(
        {
            "id": bases.take("pipeline_stagetransition", t_n),
            "opportunity_id": opp_ids[t_opp],
            "from_stage_id": _where(refs.stage_ids[np.maximum(t_from, 0)], t_from >= 0),
            "to_stage_id": refs.stage_ids[history.t_to.astype(np.int64)],
            "moved_at": _datetime(history.t_at.astype(np.int64)),
            "moved_by_id": owner[t_opp],
            "amount": _money(cents[t_opp]),
            "currency": _const(CURRENCY, t_n),
            "close_date": _date(close_at[t_opp]),
            "seconds_in_from_stage": _where(history.t_seconds, history.t_seconds >= 0),
            "source": _const(SOURCE, t_n),
            "note": _const("", t_n),
            "stage_steps": refs.stage_steps(t_from, history.t_to.astype(np.int64)),
        }
    )

    # Buying roles: slot j of a deal is its account's j-th contact.
    c_opp = history.c_opp
    contact_of = people.contact_base + acc * people.contacts_per_account
    roles = pl.DataFrame(
        {
            "id": bases.take("pipeline_opportunitycontact", c_opp.size),
            "opportunity_id": opp_ids[c_opp],
            "contact_id": contact_of[c_opp] + history.c_slot.astype(np.int64),
            "buying_role": pl.Series(list(history.roles)).gather(history.c_role.astype(np.int64)),
            "notes": _const("", c_opp.size),
            "added_at": _datetime(created[c_opp]),
            "version": np.ones(c_opp.size, dtype=np.int64),
        }
    )
    n_contacts = np.bincount(c_opp, minlength=n)  # >= 1 for every deal

    # Activities, each with one or two of the deal's contacts.
    a_opp = history.a_opp
    a_n = a_opp.size
    a_ids = bases.take("pipeline_activity", a_n)
    a_type = history.a_type.astype(np.int64)
    a_at = history.a_at.astype(np.int64)
    nc = n_contacts[a_opp]
    first_slot = (rng.random(a_n) * nc).astype(np.int64)
    second = (nc >= 2) & (rng.random(a_n) < 0.35)
    second_slot = (first_slot + 1 + (rng.random(a_n) * np.maximum(nc - 1, 1)).astype(np.int64)) % nc
    first_contact = contact_of[a_opp] + first_slot
    prefix, suffix, names_contact = _subject_parts()
    type_names = list(ACTIVITY_SUBJECTS)
    type_index = np.array([type_names.index(t) for t in history.activity_types])[a_type]
    contact_local = first_contact - people.contact_base
    contact_name = (
        _pick(
            FIRST_NAMES,
            (contact_local // people.contacts_per_account) * 13
            + (contact_local % people.contacts_per_account) * 7,
        )
        + " "
        + _pick(
            LAST_NAMES,
            (contact_local // people.contacts_per_account) * 5
            + (contact_local % people.contacts_per_account) * 3,
        )
    )
    account_name = "Bench Account " + pl.Series(acc[a_opp]).cast(pl.String).str.zfill(7)
    who = contact_name.zip_with(pl.Series(np.array(names_contact)[type_index]), account_name)
    subject = (_pick(prefix, type_index) + who + _pick(suffix, type_index)).str.slice(0, 200)
    activities = pl.DataFrame(
        {
            "id": a_ids,
            "opportunity_id": opp_ids[a_opp],
            "type": pl.Series(list(history.activity_types)).gather(a_type),
            "occurred_at": _datetime(a_at),
            "owner_id": owner[a_opp],
            "subject": subject,
            "outcome": _const("", a_n),
            "created_at": _datetime(a_at),
            "version": np.ones(a_n, dtype=np.int64),
        }
    )
    link_activity = np.concatenate([a_ids, a_ids[second]])
    link_contact = np.concatenate([first_contact, (contact_of[a_opp] + second_slot)[second]])
    order = np.lexsort((link_contact, link_activity))
    links = pl.DataFrame(
        {
            "id": bases.take("pipeline_activity_contacts", link_activity.size),
            "activity_id": link_activity[order],
            "contact_id": link_contact[order],
        }
    )

    changes = _changes(rng, bases, opp_ids, owner, is_open, created, as_of, close_at, cents)
    evidence = _evidence(
        rng, refs, bases, history, opp_ids, owner, manager, contact_of, created, entered, k
    )
    return Batch(
        (
            ("pipeline_opportunity", opportunities),
            ("pipeline_stagetransition", transitions),
            ("pipeline_opportunitycontact", roles),
            ("pipeline_activity", activities),
            ("pipeline_activity_contacts", links),
            ("pipeline_opportunitychange", changes),
            ("evidence_evidence", evidence),
        )
    )


def _changes(
    rng: np.random.Generator,
    bases: IdBases,
    opp_ids: np.ndarray,
    owner: np.ndarray,
    is_open: np.ndarray,
    created: np.ndarray,
    as_of: int,
    close_at: np.ndarray,
    cents: np.ndarray,
) -> pl.DataFrame:
    """Close-date pushes (~25% of open deals, 1-3 each, ending at today's close date) and amount
    changes (~10% of open deals, ending at today's amount)."""
    open_idx = np.flatnonzero(is_open)
    pushed = open_idx[rng.random(open_idx.size) < 0.25]
    pushes = rng.integers(1, 4, pushed.size)
    p_opp = np.repeat(pushed, pushes)
    p_n = p_opp.size
    shift = rng.integers(7, 46, p_n)
    # Position within the deal's pushes, counted from the last one: the last push lands on the
    # current close date, earlier ones end where the next one starts.
    starts = np.cumsum(pushes) - pushes
    pos = np.arange(p_n) - np.repeat(starts, pushes)
    from_last = np.repeat(pushes, pushes) - 1 - pos
    rev_cum = np.zeros(p_n, dtype=np.int64)  # days pushed by the later pushes of the same deal
    for step in range(1, 3):  # at most 3 pushes per deal: two look-aheads
        later = (from_last >= step) & (np.arange(p_n) + step < p_n)
        idx = np.flatnonzero(later)
        rev_cum[idx] += shift[idx + step]
    close_day = close_at[p_opp] // DAY
    to_day = close_day - rev_cum
    from_day = to_day - shift
    span = np.maximum(as_of - created[p_opp], 1)
    p_at = created[p_opp] + (span * (pos + rng.random(p_n)) / np.repeat(pushes, pushes)).astype(
        np.int64
    )

    amended = open_idx[rng.random(open_idx.size) < 0.10]
    m_n = amended.size
    m_from = np.round(cents[amended] * rng.uniform(0.7, 1.5, m_n)).astype(np.int64)
    m_at = created[amended] + (np.maximum(as_of - created[amended], 1) * rng.random(m_n)).astype(
        np.int64
    )
    total = p_n + m_n
    none_int = _nulls(m_n, pl.Int64)
    none_date = _nulls(m_n, pl.Date)
    none_money = _nulls(p_n, pl.String)
    return pl.DataFrame(
        {
            "id": bases.take("pipeline_opportunitychange", total),
            "opportunity_id": np.concatenate([opp_ids[p_opp], opp_ids[amended]]),
            "changed_at": _datetime(np.concatenate([p_at, m_at])),
            "changed_by_id": np.concatenate([owner[p_opp], owner[amended]]),
            "source": _const(SOURCE, total),
            "close_date_from": pl.concat([_date(from_day * DAY), none_date]),
            "close_date_to": pl.concat([_date(to_day * DAY), none_date]),
            "close_date_shift_days": pl.concat([pl.Series(shift, dtype=pl.Int64), none_int]),
            "amount_from": pl.concat([none_money, _money(m_from)]),
            "amount_to": pl.concat([none_money, _money(cents[amended])]),
        }
    )


def _evidence(
    rng: np.random.Generator,
    refs: ProcessRefs,
    bases: IdBases,
    history: History,
    opp_ids: np.ndarray,
    owner: np.ndarray,
    manager: np.ndarray,
    contact_of: np.ndarray,
    created: np.ndarray,
    entered: np.ndarray,
    k: int,
) -> pl.DataFrame:
    """For every deal past a stage, evidence for ~70% of that stage's rule-less criteria."""
    n = opp_ids.size
    reached = np.zeros(n, dtype=np.int64)  # furthest open stage entered; k when won
    to = history.t_to.astype(np.int64)
    np.maximum.at(reached, history.t_opp, np.where(to == k + 1, 0, to))
    opp_parts, key_parts = [], []
    for stage, key, _verifier in refs.evidence_criteria:
        chosen = np.flatnonzero((reached > stage) & (rng.random(n) < 0.7))
        opp_parts.append(chosen)
        key_parts.append(np.full(chosen.size, key, dtype=object))
    e_opp = np.concatenate(opp_parts) if opp_parts else np.zeros(0, dtype=np.int64)
    e_key = np.concatenate(key_parts) if key_parts else np.zeros(0, dtype=object)
    e_n = e_opp.size
    level = rng.integers(0, len(LEVELS), e_n)
    rejected = rng.random(e_n) < 0.05
    span = np.maximum(entered[e_opp] - created[e_opp], 1)
    at = created[e_opp] + (span * rng.random(e_n)).astype(np.int64)
    at_dt = _datetime(at)
    return pl.DataFrame(
        {
            "id": bases.take("evidence_evidence", e_n),
            "opportunity_id": opp_ids[e_opp],
            "criterion_key": pl.Series(e_key.tolist(), dtype=pl.String),
            "state": np.where(rejected, "rejected", "active"),
            "level": pl.Series(list(LEVELS)).gather(level),
            # Buyer level only through an accepted claim (docs/evidence.md); the benchmark
            # stores no artefact files, so its accepted claims name none.
            "source": pl.Series(list(SOURCES)).gather(level),
            "buyer_claim": np.where(level == 2, "accepted", ""),
            "accepted_by_rule": _const("", e_n),
            "artefact_id": _where(contact_of[e_opp], np.zeros(e_n, dtype=bool)),
            "note": "Synthetic evidence for " + pl.Series(e_key.tolist(), dtype=pl.String),
            "link": _const("", e_n),
            "evidence_date": _date(at),
            "confirmed_by_id": _where(contact_of[e_opp], level == 2),
            "recorded_by_id": owner[e_opp],
            "recorded_at": at_dt,
            "verified_by_id": _where(manager[e_opp], level >= 1),
            "verified_at": _where(at_dt, level >= 1),
            "rejected_by_id": _where(manager[e_opp], rejected),
            "rejected_at": _where(at_dt, rejected),
            "rejection_reason": _pick(REJECTION_REASONS, np.arange(e_n)).zip_with(
                pl.Series(rejected), _const("", e_n)
            ),
            "updated_at": at_dt,
            "version": np.ones(e_n, dtype=np.int64),
        }
    )


def generate(
    config: ScaleConfig, refs: ProcessRefs, bases: IdBases, params: HistoryParams | None = None
) -> Iterator[Batch]:
    """People first, then one batch per simulated chunk of ``config.chunk_size`` deals."""
    params = params or history_params(config)
    batch, people = people_batch(config, params, bases)
    yield batch
    as_of = datetime(config.as_of.year, config.as_of.month, config.as_of.day, 18, tzinfo=UTC)
    chunks = iter_simulate(
        config.opportunities,
        config.seed,
        as_of - timedelta(days=config.history_days),
        as_of,
        params,
        chunk_size=config.chunk_size,
    )
    for i, history in enumerate(chunks):
        yield opportunity_batch(config, refs, people, bases, history, i)
