"""Who may set which methodology level (no database)."""

from __future__ import annotations

import pytest

from milepost.engine.methodology_schema import LevelDef, ScaleDef

THREE = ScaleDef(
    levels=[
        LevelDef(key="not_started", label="Not started", points=0),
        LevelDef(key="partial", label="Partial", points=1),
        LevelDef(key="confirmed", label="Confirmed", points=2),
    ]
)
EXPLICIT = ScaleDef(
    levels=[
        LevelDef(key="none", label="None", points=0),
        LevelDef(key="heard", label="Heard", points=1, set_by="manager"),
        LevelDef(key="written", label="Written", points=2, set_by="rep"),
        LevelDef(key="signed", label="Signed", points=3),
    ]
)


@pytest.mark.parametrize(
    ("scale", "level", "limit", "set_by", "counts"),
    [
        (THREE, "not_started", None, "rep", "not_started"),
        (THREE, "partial", None, "rep", "partial"),
        (THREE, "confirmed", None, "manager", "partial"),  # the default: the top needs a manager
        (THREE, "confirmed", "confirmed", "rep", "confirmed"),  # a process may trust reps
        (THREE, "partial", "not_started", "manager", "not_started"),  # ... or trust them less
        (EXPLICIT, "heard", None, "manager", "none"),
        (EXPLICIT, "written", None, "rep", "written"),
        (EXPLICIT, "signed", None, "manager", "written"),
    ],
)
def test_set_by_and_the_level_a_reps_score_counts_at(
    scale: ScaleDef, level: str, limit: str | None, set_by: str, counts: str
) -> None:
    assert scale.set_by(level, rep_up_to=limit) == set_by
    assert scale.rep_counts(level, rep_up_to=limit) == counts


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="not a level"):
        THREE.set_by("done")
