"""Exit-criterion rules compiled to Polars expressions over a whole pipeline at once.

The set-based twin of :mod:`milepost.engine.criteria`: same semantics (read that module's
docstring), statuses only, no reasons. Each rule compiles to one Polars expression over a wide
frame with a row per deal; the leaves that need related rows (contact roles, activities,
engaged contacts, methodology levels) read *aggregate columns* the plan names and the reader
fills (inspection reads them with SQL ``GROUP BY``; see docs/inspection.md). Booleans with
nulls carry the three values (true = met, false = unmet, null = unknown); Polars' ``&``,
``|`` and ``~`` are Kleene operators on them, which is exactly the all / any / not of the
explained form. There is no Python code per opportunity and no ``map_elements``.
:mod:`milepost.engine.control_frames` combines the expressions with evidence into control.

The wide frame: ``opportunity_id`` plus the fields in ``OPPORTUNITY_FIELDS`` (amount as
Decimal, dates as Date, text as String, account/product and probability as integers; see
:func:`opportunity_schema`) plus the aggregate columns.
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
    Scales,
    activity_types,
    compare_operand,
    methodology_threshold,
    plain_rule,
    utc,
    window_start,
)
from milepost.engine.vocabulary import OPPORTUNITY_FIELDS

STATUS = pl.Enum([MET, UNMET, UNKNOWN])
ID = pl.Int64
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

    Two-phase: compiling registers the aggregate columns the leaves read; the database reader
    computes them with SQL ``GROUP BY`` (one query per related table) and the expressions are
    evaluated on the wide frame (:func:`milepost.engine.control_frames.control_frame`). Every
    aggregate but the element levels is a count of distinct rows:

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
