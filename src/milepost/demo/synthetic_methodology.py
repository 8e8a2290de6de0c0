"""Synthetic methodology assessments and buying influences for imported deals.

The Maven CRM dataset knows nothing of MEDDPICC, SPIN or Blue Sheets, so a demo without them
would show every methodology element "not assessed" and every methodology exit criterion unmet.
This module draws, per new deal, what a rep of the deal's "diligence" (the same per-deal value
that decides its exit-criteria evidence, :func:`.synthetic_evidence.deal_diligence`) would
plausibly have recorded by now:

* an assessment for each element the process maps onto a stage the deal has passed: a diligent
  rep's element reaches the top of its scale (MEDDPICC *confirmed*, SPIN *buyer articulated*)
  nearly always, a sloppy rep's stays partial or is missing; required elements are assessed
  more often than recommended ones; elements of the stage the deal is in now are in progress
  (mostly partial). Top-level scores often went through the middle level first, so the history
  has two events. Contacts in the element's buying roles are linked (and fill its contact field);
* buying influences (Strategic-Selling roles, degree, response mode, rating) for the deal's
  contacts once the deal has reached the stage that maps the pack's ``buying_influences``
  element (commit, in the default process).

Lost deals get nothing, as for evidence (the import does not know how far they had got).
Pure functions of their inputs and the seed: the caller writes the rows in bulk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from milepost.engine.methodology_schema import MethodologyDef
from milepost.engine.process_schema import ProcessDef

NOTE = "Synthetic demo assessment: {label}"
INFLUENCE_NOTE = "Synthetic demo buying influence"
RECOMMENDED_FACTOR = 0.6  # recommended elements are assessed less often than required ones
IN_PROGRESS_TOP = 0.35  # an element of the current stage is at the top already (x diligence)
IN_PROGRESS_MIDDLE = 0.5  # ... or at the middle level
SHORT_MIDDLE = 0.6  # of established elements that miss the top, those left at the middle
TWO_STEPS = 0.6  # top-level scores that went through the middle level first
# Deal buying roles -> Strategic Selling roles (the champion guides us: a coach).
INFLUENCE_ROLE = {
    "economic_buyer": "economic",
    "user_buyer": "user",
    "influencer": "user",
    "technical_buyer": "technical",
    "blocker": "technical",
    "champion": "coach",
    "coach": "coach",
}
DEGREE_WEIGHTS = {  # high, medium, low
    "economic": (1.0, 0.0, 0.0),
    "technical": (0.4, 0.5, 0.1),
    "user": (0.2, 0.5, 0.3),
    "coach": (0.3, 0.6, 0.1),
}
MODE_WEIGHTS = (0.35, 0.3, 0.25, 0.1)  # growth, trouble, even keel, overconfident


@dataclass(frozen=True)
class _Slot:
    """One element a deal may have assessed: where the process first maps it, how strongly."""

    pack: str
    element: str
    position: int  # first open stage (index) that maps it
    required_from: int  # first stage that requires it (a large number: never required)


def _slots(process: ProcessDef, packs: Mapping[str, MethodologyDef]) -> list[_Slot]:
    first: dict[tuple[str, str], int] = {}
    required: dict[tuple[str, str], int] = {}
    for position, stage in enumerate(process.open_stages):
        for pack_key, mapping in stage.methodology.items():
            if pack_key not in packs:
                continue
            for element in (*mapping.required, *mapping.recommended):
                first.setdefault((pack_key, element), position)
            for element in mapping.required:
                required.setdefault((pack_key, element), position)
    never = len(process.open_stages) + 1
    return [
        _Slot(pack, element, position, required.get((pack, element), never))
        for (pack, element), position in first.items()
    ]


def _between(start: datetime, end: datetime, fraction: float) -> datetime:
    return start + (end - start) * max(0.0, min(1.0, fraction))


def assessment_rows(
    process: ProcessDef,
    packs: Mapping[str, MethodologyDef],
    passed: Sequence[int],
    current: Sequence[int | None],
    diligence: Sequence[float],
    roles: Sequence[Sequence[tuple[int, str]]],
    created_at: Sequence[datetime],
    entered_at: Sequence[datetime],
    now: datetime,
    *,
    seed: int,
) -> list[dict[str, Any]]:
    """Element assessments for deal ``i``, each with its history ``events`` (level, previous, at).

    ``passed[i]``: open stages the deal has passed; ``current[i]``: the open stage it is in
    (None when closed); ``roles[i]``: (contact id, buying role) of its contacts;
    ``entered_at[i]``: when it entered its current (or closed) stage.
    """
    slots = _slots(process, packs)
    n = len(passed)
    if not slots or not n:
        return []
    rng = np.random.default_rng(seed)
    draws = rng.random((n, len(slots)))
    steps = rng.random((n, len(slots))) < TWO_STEPS
    later = rng.random((n, len(slots)))  # where inside the current stage an update happened
    care = np.asarray(diligence, dtype=float)[:, None]
    done = np.asarray(passed)[:, None]
    position = np.array([s.position for s in slots])[None, :]
    required = np.array([s.required_from for s in slots])[None, :] < done
    here = np.array([-1 if c is None else c for c in current])[:, None] == position
    established = position < done
    p_top = np.where(
        established,
        np.where(required, care, care * RECOMMENDED_FACTOR),
        care * IN_PROGRESS_TOP,
    )
    p_mid = np.where(established, (1 - p_top) * SHORT_MIDDLE, care * IN_PROGRESS_MIDDLE)
    top = (established | here) & (draws < p_top)
    middle = (established | here) & ~top & (draws < p_top + p_mid)
    rows: list[dict[str, Any]] = []
    for i, j in zip(*np.nonzero(top | middle), strict=True):
        slot = slots[j]
        pack = packs[slot.pack]
        element = pack.element(slot.element)
        levels = pack.scale_of(slot.element).keys
        level = levels[-1] if top[i, j] else levels[len(levels) // 2]
        if established[i, j]:  # while the deal was in the stage that maps it
            span = max(int(passed[i]), 1)
            at = _between(created_at[i], entered_at[i], (slot.position + 1) / (span + 1))
        else:  # in the current stage, some time since entering it
            at = _between(entered_at[i], now, float(later[i, j]) * 0.5)
        events = [(level, "", at)]
        if top[i, j] and steps[i, j] and len(levels) > 2:
            middle_level = levels[len(levels) // 2]
            earlier = _between(created_at[i], at, 0.5)
            events = [(middle_level, "", earlier), (level, middle_level, at)]
        contacts = sorted({contact for contact, role in roles[i] if role in element.contact_roles})
        answers: dict[str, Any] = {}
        contact_field = next((f.key for f in element.fields if f.type == "contact"), None)
        if contacts and contact_field is not None:
            answers[contact_field] = contacts[0]
        rows.append(
            {
                "deal": int(i),
                "pack": slot.pack,
                "element": slot.element,
                "level": level,
                "notes": NOTE.format(label=f"{pack.name} {element.label}")[:4000],
                "answers": answers,
                "contact_ids": contacts,
                "events": events,
            }
        )
    return rows


def influence_rows(
    process: ProcessDef,
    packs: Mapping[str, MethodologyDef],
    passed: Sequence[int],
    current: Sequence[int | None],
    diligence: Sequence[float],
    roles: Sequence[Sequence[tuple[int, str]]],
    created_at: Sequence[datetime],
    entered_at: Sequence[datetime],
    now: datetime,
    *,
    seed: int,
) -> list[dict[str, Any]]:
    """Buying influences for deals that reached the stage mapping ``buying_influences``.

    One row per (deal, contact, Strategic-Selling role); a deal's contact is recorded with the
    chance of its diligence (a careless rep's Blue Sheet has gaps).
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for pack_key, pack in sorted(packs.items()):
        model = pack.buying_influences
        if model is None:
            continue
        stages = [
            p
            for p, s in enumerate(process.open_stages)
            if pack_key in s.methodology
            and "buying_influences"
            in (*s.methodology[pack_key].required, *s.methodology[pack_key].recommended)
        ]
        if not stages:
            continue
        start = stages[0]
        degrees = [o.key for o in model.degrees]
        modes = [o.key for o in model.response_modes]
        role_keys = {o.key for o in model.roles}
        for i in range(len(passed)):
            reached = passed[i] > start or current[i] == start
            if not reached or not roles[i]:
                continue
            draws = rng.random(len(roles[i]))
            seen: set[tuple[int, str]] = set()
            for (contact, buying_role), draw in zip(roles[i], draws, strict=True):
                role = INFLUENCE_ROLE.get(buying_role)
                if role is None or role not in role_keys or (contact, role) in seen:
                    continue
                if draw >= diligence[i]:
                    continue
                seen.add((contact, role))
                weights = np.array(DEGREE_WEIGHTS.get(role, (1 / 3,) * 3)[: len(degrees)])
                degree = degrees[int(rng.choice(len(weights), p=weights / weights.sum()))]
                mode_w = np.array(MODE_WEIGHTS[: len(modes)] + (0.1,) * (len(modes) - 4))
                mode = modes[int(rng.choice(len(modes), p=mode_w / mode_w.sum()))]
                centre = 3.0 if role == "coach" else 1.0
                rating = int(
                    np.clip(round(rng.normal(centre, 2.0)), model.rating_min, model.rating_max)
                )
                if passed[i] > start:
                    span = max(int(passed[i]), 1)
                    at = _between(created_at[i], entered_at[i], (start + 1) / (span + 1))
                else:
                    at = _between(entered_at[i], now, float(rng.random()) * 0.5)
                rows.append(
                    {
                        "deal": i,
                        "pack": pack_key,
                        "contact": contact,
                        "role": role,
                        "degree": degree,
                        "response_mode": mode,
                        "rating": rating,
                        "notes": INFLUENCE_NOTE,
                        "at": at,
                    }
                )
    return rows
