"""The pure parts of ``bin/bench load`` (issue 14): deciding whether every acknowledged write
survived the crashes, reading the client's log, splitting the users and planning the faults.
No database, no server: milliseconds."""

from __future__ import annotations

import json

import pytest
from benchmarks import acked, loadfaults


def deal(id_: int, version: int, value: str) -> dict:
    return {"kind": "deal", "id": id_, "version": version, "value": value}


def activity(id_: int, deal_id: int, value: str) -> dict:
    return {"kind": "activity", "id": id_, "deal": deal_id, "value": value}


def test_every_write_found():
    acks = [deal(1, 2, "a"), deal(1, 3, "b"), activity(10, 1, "call 1")]
    result = acked.reconcile(acks, {1: (3, "b")}, {10: (1, "call 1")})
    assert (result.acknowledged, result.found, result.missing) == (3, 3, [])
    assert result.ok
    assert result.by_kind == {"deal": 2, "activity": 1}


def test_a_later_unacknowledged_version_proves_the_earlier_one_was_stored():
    # Version 3 was written from version 2 but its answer was lost in the crash: still found.
    result = acked.reconcile([deal(1, 2, "a")], {1: (3, "in doubt")}, {})
    assert result.ok


@pytest.mark.parametrize(
    ("stored", "why"),
    [
        ((1, "before"), "version 1"),  # the edit rolled back
        ((2, "other"), "version 2"),  # version 2 holds another value
    ],
)
def test_a_deal_edit_lost(stored, why):
    result = acked.reconcile([deal(1, 2, "a")], {1: stored}, {})
    assert not result.ok
    assert result.found == 0
    assert len(result.missing) == 1
    assert why in result.missing[0].why


def test_a_version_acknowledged_twice_means_the_first_was_lost():
    # After a crash lost "a" at version 2, another edit read version 1 and wrote version 2,
    # then version 3: the final state alone would hide the loss.
    acks = [deal(1, 2, "a"), deal(1, 2, "b"), deal(1, 3, "c")]
    result = acked.reconcile(acks, {1: (3, "c")}, {})
    assert result.acknowledged == 3
    assert result.found == 2
    assert [(m.version, m.value) for m in result.missing] == [(2, "a")]


def test_missing_or_different_activity_and_missing_deal():
    acks = [activity(10, 1, "call 1"), activity(11, 1, "call 2"), deal(2, 5, "x")]
    result = acked.reconcile(acks, {}, {11: (1, "call reused the id")})
    assert result.found == 0
    assert [m.id for m in result.missing] == [10, 11, 2]
    lines = acked.format_reconciliation(result)
    assert lines[:3] == [
        "acknowledged writes: 3 (2 activity, 1 deal)",
        "found after restart: 0",
        "missing: 3",
    ]


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown kind"):
        acked.reconcile([{"kind": "move", "id": 1, "value": ""}], {}, {})


def test_read_log_skips_a_line_cut_short(tmp_path):
    path = tmp_path / "acks.jsonl"
    path.write_text(json.dumps(deal(1, 2, "a")) + "\n" + '{"kind": "deal", "id": 1, "ver')
    assert acked.read_log(path) == [deal(1, 2, "a")]
    assert acked.read_log(tmp_path / "none.jsonl") == []


def test_mix_splits_the_users_and_gives_the_rounding_to_reps():
    assert loadfaults.mix(50, "0.6,0.28,0.12") == (30, 14, 6)
    assert sum(loadfaults.mix(7, "1,1,1")) == 7
    assert loadfaults.mix(3, "1,0,0") == (1, 1, 1)  # every role at least one user
    with pytest.raises(ValueError, match="three non-negative shares"):
        loadfaults.mix(10, "1,1")


def test_fault_schedule_kills_postgres_only_on_postgres_and_ends_with_everything():
    assert loadfaults.fault_schedule("sqlite", 30) == [
        (30, "gunicorn"),
        (30, "gunicorn"),
        (30, "everything"),
    ]
    plan = loadfaults.fault_schedule("postgres", 20)
    assert [a for _, a in plan] == ["gunicorn", "postgres", "gunicorn", "everything"]
    assert {gap for gap, _ in plan} == {20}
