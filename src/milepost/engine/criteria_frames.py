"""Evaluate exit-criterion rules over a whole pipeline at once, with Polars.

The set-based twin of :mod:`milepost.engine.criteria`: same semantics (read that module's
docstring), statuses only, no reasons. Each rule compiles to one Polars expression over a wide
frame of opportunities; the leaves that need related rows (contact roles, activities) become
aggregate columns computed by **three** group-bys in total, however many criteria there are:
one over contact roles, one over activities, one over activity contacts. Booleans with nulls
carry the three values (true = met, false = unmet, null = unknown); Polars' ``&``, ``|`` and
``~`` are Kleene operators on them, which is exactly the all / any / not of the explained form.
There is no Python code per opportunity and no ``map_elements``.

Input frames (column names fixed; extra columns are ignored):

* ``opportunities``: ``opportunity_id`` plus every field in ``OPPORTUNITY_FIELDS`` (amount as
  Decimal, dates as Date, text as String, account/product and probability as integers).
* ``contact_roles``: ``opportunity_id, contact_id, role``.
* ``activities``: ``opportunity_id, activity_id, type, occurred_at`` (Datetime, UTC).
* ``activity_contacts``: ``activity_id, contact_id``.
* ``element_levels`` (optional): ``opportunity_id, pack, element, level`` (methodology scores).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import polars as pl

from milepost.engine.criteria import (
    BLANK,
    DATE_FIELDS,
    MET,
    NUMBER_FIELDS,
    TEXT_FIELDS,
    UNKNOWN,
    UNMET,
    OpportunitySnapshot,
    Scales,
    activity_types,
    claimed_position,
    compare_operand,
    methodology_threshold,
    plain_rule,
    utc,
    window_start,
)
from milepost.engine.vocabulary import OPPORTUNITY_FIELDS

STATUS = pl.Enum([MET, UNMET, UNKNOWN])
ID = pl.Int64
UTC_TIME = pl.Datetime("us", "UTC")
CONTACT_ROLES_SCHEMA: dict[str, Any] = {"opportunity_id": ID, "contact_id": ID, "role": pl.String}
ACTIVITIES_SCHEMA: dict[str, Any] = {
    "opportunity_id": ID,
    "activity_id": ID,
    "type": pl.String,
    "occurred_at": UTC_TIME,
}
ACTIVITY_CONTACTS_SCHEMA: dict[str, Any] = {"activity_id": ID, "contact_id": ID}
ELEMENT_LEVELS_SCHEMA: dict[str, Any] = {
    "opportunity_id": ID,
    "pack": pl.String,
    "element": pl.String,
    "level": pl.String,
}
_UNKNOWN = pl.lit(None, dtype=pl.Boolean)


def opportunity_schema(amount_scale: int = 2) -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {"opportunity_id": ID()}
    for field in OPPORTUNITY_FIELDS:
        if field == "amount":
            schema[field] = pl.Decimal(38, amount_scale)
        elif field in DATE_FIELDS:
            schema[field] = pl.Date()
        elif field in TEXT_FIELDS:
            schema[field] = pl.String()
        else:
            schema[field] = ID()
    return schema


def status_of(kleene: pl.Expr) -> pl.Expr:
    """A Kleene boolean (true met, false unmet, null unknown) as the status Enum."""
    return (
        pl.when(kleene.is_null())
        .then(pl.lit(UNKNOWN))
        .when(kleene)
        .then(pl.lit(MET))
        .otherwise(pl.lit(UNMET))
        .cast(STATUS)
    )


class CriteriaPlan:
    """Criteria compiled to expressions, with the aggregate columns their leaves need.

    Two-phase so the aggregates can come from anywhere: :meth:`aggregate` computes them from the
    raw related frames (tests, small batches); the database reader computes the very same
    counts with SQL ``GROUP BY`` (one query per related table) and hands :meth:`statuses` a
    wide frame with those columns. Every aggregate is a count of distinct rows:

    * ``role_aggs``: role → column; distinct contacts attached with that buying role.
    * ``activity_aggs``: (types, within_days or None) → column; activities of those types that
      happened (``occurred_at <= as_of``; within the window, see :func:`window_start`).
    * ``engaged_aggs``: within_days → column; distinct contacts on activities that happened in
      the window.
    * ``element_aggs``: (pack, element) → column; the element's level key (null: not assessed).
      Not a count: compared through the element's scale (``scales``).
    """

    def __init__(
        self,
        criteria: Sequence[tuple[str, Any]],
        as_of: datetime,
        schema: Mapping[str, pl.DataType] | None = None,
        scales: Scales | None = None,
    ):
        ids = [criterion_id for criterion_id, _ in criteria]
        if len(set(ids)) != len(ids):
            raise ValueError("criterion ids repeat")
        self.as_of = utc(as_of, "as_of")
        self.schema: Mapping[str, pl.DataType] = schema or opportunity_schema()
        self.role_aggs: dict[str, str] = {}
        self.activity_aggs: dict[tuple[tuple[str, ...], int | None], str] = {}
        self.activity_thresholds: dict[str, int] = {}
        self.fields: set[str] = set()  # the opportunity fields the rules read
        self.engaged_aggs: dict[int, str] = {}
        self.element_aggs: dict[tuple[str, str], str] = {}
        self.scales: Scales = scales or {}
        self.criterion_ids = ids
        self.expressions = [
            (_UNKNOWN if rule is None else self.compile(rule)).alias(f"__c{i}")
            for i, (_, rule) in enumerate(criteria)
        ]

    @property
    def count_columns(self) -> list[str]:
        return [*self.role_aggs.values(), *self.activity_aggs.values(), *self.engaged_aggs.values()]

    # Column names derive from the aggregate itself (roles and activity types are vocabulary
    # slugs), so plans for different process versions name a shared aggregate alike and one
    # SQL query can serve them all.

    def role_column(self, role: str) -> str:
        """Register (once) and name the count of contacts with ``role``."""
        return self.role_aggs.setdefault(role, f"__role_{role}")

    def engaged_column(self, within_days: int) -> str:
        """Register (once) and name the count of contacts engaged in the window."""
        days = int(within_days)
        return self.engaged_aggs.setdefault(days, f"__engaged_{days}")

    def activity_column(
        self, types: tuple[str, ...], within_days: int | None, at_least: int = 1
    ) -> str:
        """Register (once) and name the count of activities of ``types`` in the window.

        ``at_least``: the count a rule compares it with; :attr:`activity_thresholds` keeps the
        largest per column, so a reader that only knows *whether* such an activity happened in
        the window (a last-activity date) can tell when that is enough (threshold 1).
        """
        key = (tuple(sorted(types)), within_days)
        name = self.activity_aggs.setdefault(
            key, f"__activity_{'+'.join(key[0])}_{within_days or 'ever'}"
        )
        self.activity_thresholds[name] = max(self.activity_thresholds.get(name, 0), at_least)
        return name

    def element_column(self, pack: str, element: str) -> str:
        """Register (once) and name the level column of a methodology element."""
        return self.element_aggs.setdefault((pack, element), f"__element_{pack}__{element}")

    def compile(self, rule: Any) -> pl.Expr:
        ((kind, spec),) = plain_rule(rule).items()
        if kind == "field_set":
            return self._is_set(spec)
        if kind == "field_compare":
            return self._compare(spec)
        if kind == "contact_role":
            return pl.col(self.role_column(spec["role"])) >= int(spec.get("min", 1))
        if kind == "contacts_engaged":
            return pl.col(self.engaged_column(spec["within_days"])) >= int(spec["min"])
        if kind == "activity":
            days = spec.get("within_days")
            at_least = int(spec.get("min", 1))
            column = self.activity_column(
                activity_types(spec), int(days) if days else None, at_least
            )
            return pl.col(column) >= at_least
        if kind == "methodology":
            levels, need = methodology_threshold(spec, self.scales)
            if need < 0:
                return _UNKNOWN
            column = self.element_column(spec["pack"], spec["element"])
            rank = (
                pl.col(column)
                .replace_strict(
                    {lv: i for i, lv in enumerate(levels)}, default=-1, return_dtype=pl.Int64
                )
                .fill_null(-1)
            )
            return rank >= need
        if kind in ("all", "any"):
            children = [self.compile(child) for child in spec]
            combined = children[0]
            for child in children[1:]:
                combined = combined & child if kind == "all" else combined | child
            return combined
        if kind == "not":
            return ~self.compile(spec)
        raise ValueError(f"unknown rule kind: {kind}")

    def _is_set(self, field: str) -> pl.Expr:
        self.fields.add(field)
        column = pl.col(field)
        if field in TEXT_FIELDS:
            return (column.str.strip_chars(BLANK) != "").fill_null(False)
        return column.is_not_null()

    def _compare(self, spec: Mapping[str, Any]) -> pl.Expr:
        field, op = spec["field"], spec["op"]
        self.fields.add(field)
        operand = compare_operand(field, spec["value"])
        if operand is None:
            return _UNKNOWN
        column = pl.col(field)
        if field in NUMBER_FIELDS:
            dtype = self.schema[field]
            column_scale = dtype.scale if isinstance(dtype, pl.Decimal) else 0
            assert isinstance(operand, Decimal)
            exponent = operand.as_tuple().exponent
            scale = max(column_scale, -exponent if isinstance(exponent, int) else 0)
            decimal = pl.Decimal(38, scale)
            column = column.cast(decimal)
            value = pl.lit(operand, dtype=decimal)
        else:
            value = pl.lit(operand)
        compared = {
            "eq": column == value,
            "ne": column != value,
            "gt": column > value,
            "gte": column >= value,
            "lt": column < value,
            "lte": column <= value,
        }[op]
        # Empty field -> null (unknown). Polars comparisons already give null for null.
        return pl.when(self._is_set(field)).then(compared).otherwise(_UNKNOWN)

    def window(self, days: int | None) -> tuple[datetime | None, datetime]:
        """``(earliest, latest)`` ``occurred_at`` an activity may have to count (UTC).

        ``earliest`` is midnight UTC of :func:`window_start` (None without a window): the
        same bounds the SQL aggregates use.
        """
        if days is None:
            return None, self.as_of
        start = window_start(self.as_of, days)
        return datetime(start.year, start.month, start.day, tzinfo=UTC), self.as_of

    def _in_window(self, days: int | None) -> pl.Expr:
        earliest, latest = self.window(days)
        happened = pl.col("occurred_at") <= pl.lit(latest, dtype=UTC_TIME)
        if earliest is None:
            return happened
        return happened & (pl.col("occurred_at") >= pl.lit(earliest, dtype=UTC_TIME))

    def aggregate(
        self,
        opportunities: pl.DataFrame | pl.LazyFrame,
        contact_roles: pl.DataFrame | pl.LazyFrame,
        activities: pl.DataFrame | pl.LazyFrame,
        activity_contacts: pl.DataFrame | pl.LazyFrame,
        element_levels: pl.DataFrame | pl.LazyFrame | None = None,
    ) -> pl.LazyFrame:
        """Opportunities plus one count column per registered aggregate (0 when no rows)."""
        frame = opportunities.lazy()
        if self.element_aggs:
            levels = (
                element_levels.lazy()
                if element_levels is not None
                else pl.LazyFrame(schema=ELEMENT_LEVELS_SCHEMA)
            )
            frame = frame.join(self.pivot_elements(levels), on="opportunity_id", how="left")
        if self.role_aggs:
            aggs = [
                pl.col("contact_id").filter(pl.col("role") == role).n_unique().alias(name)
                for role, name in self.role_aggs.items()
            ]
            frame = frame.join(
                contact_roles.lazy().group_by("opportunity_id").agg(aggs),
                on="opportunity_id",
                how="left",
            )
        if self.activity_aggs:
            aggs = [
                pl.col("activity_id")
                .filter(pl.col("type").is_in(list(types)) & self._in_window(days))
                .n_unique()
                .alias(name)
                for (types, days), name in self.activity_aggs.items()
            ]
            frame = frame.join(
                activities.lazy().group_by("opportunity_id").agg(aggs),
                on="opportunity_id",
                how="left",
            )
        if self.engaged_aggs:
            engaged = (
                activities.lazy()
                .select("opportunity_id", "activity_id", "occurred_at")
                .join(
                    activity_contacts.lazy().select("activity_id", "contact_id"), on="activity_id"
                )
            )
            aggs = [
                pl.col("contact_id").filter(self._in_window(days)).n_unique().alias(name)
                for days, name in self.engaged_aggs.items()
            ]
            frame = frame.join(
                engaged.group_by("opportunity_id").agg(aggs), on="opportunity_id", how="left"
            )
        return self.fill_counts(frame)

    def pivot_elements(self, levels: pl.LazyFrame) -> pl.LazyFrame:
        """``opportunity_id`` plus one level column per registered element (one row per deal)."""
        aggs = [
            pl.col("level")
            .filter((pl.col("pack") == pack) & (pl.col("element") == element))
            .first()
            .alias(name)
            for (pack, element), name in self.element_aggs.items()
        ]
        return levels.group_by("opportunity_id").agg(aggs)

    def fill_counts(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """No related rows means a count of 0, not unknown."""
        counts = self.count_columns
        return frame.with_columns(pl.col(counts).fill_null(0)) if counts else frame

    def statuses(self, wide: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
        """``opportunity_id, criterion_id, status`` from a frame holding every count column."""
        out_schema: dict[str, Any] = {
            "opportunity_id": ID,
            "criterion_id": pl.String,
            "status": STATUS,
        }
        if not self.expressions:
            return pl.DataFrame(schema=out_schema)
        columns = [f"__c{i}" for i in range(len(self.expressions))]
        long = (
            wide.lazy()
            .select("opportunity_id", *self.expressions)
            .unpivot(index="opportunity_id", variable_name="column", value_name="met")
        )
        return long.select(
            pl.col("opportunity_id"),
            pl.col("column")
            .replace_strict(
                dict(zip(columns, self.criterion_ids, strict=True)), return_dtype=pl.String
            )
            .alias("criterion_id"),
            status_of(pl.col("met")).alias("status"),
        ).collect()


def evaluate_criteria_frame(
    opportunities: pl.DataFrame | pl.LazyFrame,
    contact_roles: pl.DataFrame | pl.LazyFrame,
    activities: pl.DataFrame | pl.LazyFrame,
    activity_contacts: pl.DataFrame | pl.LazyFrame,
    criteria: Sequence[tuple[str, Any]],
    as_of: datetime,
    element_levels: pl.DataFrame | pl.LazyFrame | None = None,
    scales: Scales | None = None,
) -> pl.DataFrame:
    """Statuses for every (opportunity, criterion): ``opportunity_id, criterion_id, status``.

    ``criteria`` is a list of ``(criterion_id, rule)``; a ``None`` rule is an evidence criterion
    and is unknown here, as in :func:`milepost.engine.criteria.evaluate_criterion`.
    ``status`` is an Enum of met / unmet / unknown.
    """
    opps = opportunities.lazy()
    plan = CriteriaPlan(criteria, as_of, opps.collect_schema(), scales)
    return plan.statuses(
        plan.aggregate(opps, contact_roles, activities, activity_contacts, element_levels)
    )


def verified_stage_frame(
    statuses: pl.DataFrame | pl.LazyFrame,
    criterion_stage: Mapping[str, str],
    open_stage_keys_in_order: Sequence[str],
    claims: pl.DataFrame | pl.LazyFrame,
) -> pl.DataFrame:
    """Verified stage for every claimed opportunity, as :func:`criteria.verified_stage`.

    ``statuses``: ``opportunity_id, criterion_id, status`` (as from
    :func:`evaluate_criteria_frame`). ``criterion_stage`` maps criterion id to the open stage
    it is an exit criterion of. ``claims``: ``opportunity_id, claimed_stage_key, claimed_kind``
    (open / won / lost). Returns ``opportunity_id, verified_stage, under_control, first_gap``.
    """
    keys = list(open_stage_keys_in_order)
    if not keys:
        raise ValueError("a process has at least one open stage")
    position = {key: i for i, key in enumerate(keys)}
    stage_of = {cid: position[s] for cid, s in criterion_stage.items() if s in position}
    by_index = dict(enumerate(keys))
    gaps = (
        statuses.lazy()
        .with_columns(
            pl.col("criterion_id")
            .replace_strict(stage_of, default=None, return_dtype=pl.Int64)
            .alias("stage_index")
        )
        .filter(pl.col("stage_index").is_not_null() & (pl.col("status").cast(pl.String) != MET))
        .group_by("opportunity_id")
        .agg(pl.col("stage_index").min().alias("gap"))
    )
    last = len(keys) - 1
    claimed = (
        pl.when(pl.col("claimed_kind") == "won")
        .then(pl.lit(claimed_position(keys, "", "won")))
        .when(pl.col("claimed_kind") == "lost")
        .then(pl.lit(claimed_position(keys, "", "lost")))
        .otherwise(
            pl.col("claimed_stage_key").replace_strict(
                position, default=None, return_dtype=pl.Int64
            )
        )
    )
    frame = (
        claims.lazy()
        .join(gaps, on="opportunity_id", how="left")
        .with_columns(
            # len(keys) = passed every open stage; shown as the last open stage.
            pl.col("gap").fill_null(len(keys)).alias("reached"),
            claimed.alias("claimed"),
        )
        .with_columns(pl.min_horizontal("reached", pl.lit(last)).alias("verified"))
        .collect()
    )
    stray = frame.filter(pl.col("claimed").is_null())
    if stray.height:
        raise ValueError(
            f"claimed stage {stray['claimed_stage_key'][0]!r} is not an open stage "
            f"(opportunity {stray['opportunity_id'][0]})"
        )
    return frame.select(
        "opportunity_id",
        pl.col("verified").replace_strict(by_index, return_dtype=pl.String).alias("verified_stage"),
        (pl.col("reached") >= pl.col("claimed")).alias("under_control"),
        pl.col("gap")
        .replace_strict(by_index, default=None, return_dtype=pl.String)
        .alias("first_gap"),
    )


def element_frame(snapshots: Sequence[OpportunitySnapshot]) -> pl.DataFrame:
    """The ``element_levels`` input frame for a handful of snapshots."""
    return pl.DataFrame(
        [(s.id, pack, element, level) for s in snapshots for pack, element, level in s.elements],
        schema=ELEMENT_LEVELS_SCHEMA,
        orient="row",
    )


def frames_from_snapshots(
    snapshots: Sequence[OpportunitySnapshot],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The four input frames for a handful of snapshots (tests, small batches)."""
    amounts = [s.amount for s in snapshots if s.amount is not None]
    scale = max([2, *(-int(a.as_tuple().exponent) for a in amounts)])
    opportunities = pl.DataFrame(
        [
            {"opportunity_id": s.id, **{f: s.value(f) for f in OPPORTUNITY_FIELDS}}
            for s in snapshots
        ],
        schema=opportunity_schema(scale),
        orient="row",
    )
    roles = pl.DataFrame(
        [(s.id, contact, role) for s in snapshots for contact, role in s.contact_roles],
        schema=CONTACT_ROLES_SCHEMA,
        orient="row",
    )
    activity_rows: list[tuple[int, int, str, datetime]] = []
    contact_rows: list[tuple[int, int]] = []
    for s in snapshots:
        for activity in s.activities:
            activity_id = len(activity_rows) + 1
            activity_rows.append(
                (s.id, activity_id, activity.type, activity.occurred_at.astimezone(UTC))
            )
            contact_rows += [(activity_id, contact) for contact in activity.contact_ids]
    activities = pl.DataFrame(activity_rows, schema=ACTIVITIES_SCHEMA, orient="row")
    activity_contacts = pl.DataFrame(contact_rows, schema=ACTIVITY_CONTACTS_SCHEMA, orient="row")
    return opportunities, roles, activities, activity_contacts
