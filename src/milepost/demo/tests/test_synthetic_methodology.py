"""Synthetic methodology scores and buying influences: consistent with each deal's stage and
diligence, deterministic, and (on the real dataset) written with a history by the deal's owner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from milepost.demo import synthetic_evidence
from milepost.demo.synthetic_methodology import assessment_rows, influence_rows
from milepost.engine.methodology_schema import parse_methodology
from milepost.engine.process_schema import parse_process
from milepost.process.services import DEFAULTS_DIR, PACKS_DIR

PROCESS = parse_process((DEFAULTS_DIR / "new_business.yaml").read_text())
PACKS = {
    use.pack: parse_methodology((PACKS_DIR / f"{use.pack}.yaml").read_text())
    for use in PROCESS.methodologies
}
K = len(PROCESS.open_stages)
COMMIT = [s.key for s in PROCESS.open_stages].index("commit")
T0 = datetime(2024, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=400)
N = 600  # per group


def _deals(passed: int, current: int | None, care: float) -> dict:
    roles = [
        [(1000 * i + 1, "economic_buyer"), (1000 * i + 2, "champion"), (1000 * i + 3, "user_buyer")]
        for i in range(N)
    ]
    return {
        "passed": [passed] * N,
        "current": [current] * N,
        "diligence": [care] * N,
        "roles": roles,
        "created_at": [T0] * N,
        "entered_at": [T0 + timedelta(days=200)] * N,
    }


def _rows(group: dict, fn=assessment_rows, seed: int = 7) -> list[dict]:
    return fn(
        PROCESS,
        PACKS,
        group["passed"],
        group["current"],
        group["diligence"],
        group["roles"],
        group["created_at"],
        group["entered_at"],
        NOW,
        seed=seed,
    )


def _share(rows: list[dict], pack: str, element: str, level: str) -> float:
    return (
        sum(1 for r in rows if (r["pack"], r["element"], r["level"]) == (pack, element, level)) / N
    )


def test_a_diligent_reps_late_deal_is_qualified_and_a_sloppy_ones_is_not():
    diligent = _rows(_deals(passed=K, current=None, care=0.97))  # won
    sloppy = _rows(_deals(passed=K, current=None, care=0.3))
    for element in ("economic_buyer", "decision_process"):
        assert _share(diligent, "meddpicc", element, "confirmed") > 0.9
        assert _share(sloppy, "meddpicc", element, "confirmed") < 0.45
        missing_or_partial = 1 - _share(sloppy, "meddpicc", element, "confirmed")
        assert missing_or_partial > 0.55


def test_only_elements_of_reached_stages_are_assessed():
    discover = [s.key for s in PROCESS.open_stages].index("discover")
    rows = _rows(_deals(passed=discover, current=discover, care=0.97))
    reached = {
        (pack, element)
        for stage in PROCESS.open_stages[: discover + 1]
        for pack, mapping in stage.methodology.items()
        for element in (*mapping.required, *mapping.recommended)
    }
    assert rows
    assert {(r["pack"], r["element"]) for r in rows} <= reached
    # the current stage's elements are in progress: rarely at the top already
    assert _share(rows, "spin", "implication", "buyer_articulated") < 0.5
    assert not _rows(_deals(passed=0, current=None, care=0.97))  # lost deals: nothing


def test_levels_are_on_the_scale_and_history_ends_at_the_level():
    rows = _rows(_deals(passed=K - 1, current=K - 1, care=0.75))
    two_step = 0
    for r in rows:
        scale = PACKS[r["pack"]].scale_of(r["element"]).keys
        assert r["level"] in scale
        levels = [e[0] for e in r["events"]]
        assert levels[-1] == r["level"]
        assert [e[1] for e in r["events"]] == ["", *levels[:-1]]  # previous level chains
        times = [e[2] for e in r["events"]]
        assert times == sorted(times)
        assert times[0] >= T0
        assert times[-1] <= NOW
        two_step += len(levels) == 2
    assert two_step > 0
    # a contact element names the deal's contact in that buying role
    eb = [r for r in rows if r["element"] == "economic_buyer"]
    assert eb
    assert all(r["answers"]["person"] % 1000 == 1 for r in eb)


def test_deterministic_from_the_seed():
    group = _deals(passed=3, current=3, care=0.75)
    assert _rows(group, seed=1) == _rows(group, seed=1)
    assert _rows(group, seed=1) != _rows(group, seed=2)


def test_buying_influences_from_commit_on_with_valid_values():
    model = PACKS["strategic_selling"].buying_influences
    assert model is not None
    before = _rows(_deals(passed=COMMIT - 1, current=COMMIT - 1, care=0.97), influence_rows)
    assert before == []
    rows = _rows(_deals(passed=COMMIT + 1, current=COMMIT + 1, care=0.97), influence_rows)
    assert len(rows) > 2 * N
    assert {r["role"] for r in rows} == {"economic", "coach", "user"}
    for r in rows:
        assert r["degree"] in [o.key for o in model.degrees]
        assert r["response_mode"] in [o.key for o in model.response_modes]
        assert model.rating_min <= r["rating"] <= model.rating_max
    assert all(r["degree"] == "high" for r in rows if r["role"] == "economic")
    sloppy = _rows(_deals(passed=COMMIT + 1, current=COMMIT + 1, care=0.3), influence_rows)
    assert len(sloppy) < len(rows) / 2


def test_diligence_is_the_evidence_diligence():
    seed, n = 11, 500
    diligence = synthetic_evidence.deal_diligence(n, seed=seed)
    # Deal i reaches each evidence criterion's level with probability diligence[i]: with every
    # deal past every stage, the share a deal has at the needed level tracks its diligence.
    contacts = [1] * n
    rows = synthetic_evidence.evidence_rows(PROCESS, [K] * n, contacts, [NOW] * n, seed=seed)
    per_deal = np.zeros(n)
    for r in rows:
        per_deal[r["deal"]] += 1
    low, high = per_deal[diligence == 0.3].mean(), per_deal[diligence == 0.97].mean()
    assert high > low + 1
