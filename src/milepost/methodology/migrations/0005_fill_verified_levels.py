"""Fill ``verified_level`` of existing scores honestly: a score its deal's owner set at a level
the pack lets only a manager set (by default the top of the scale) counts at the highest level
below it the owner may set, awaiting a manager's verification; every other score counts as it
is. Reversible (the backward step empties the column)."""

from __future__ import annotations

from typing import Any

from django.db import migrations

BATCH = 2000


def _scales(apps: Any) -> dict[tuple[str, str], list[tuple[str, str | None]]]:
    """(pack, element) → its scale as (level key, set_by), lowest first; ``(pack, "")`` the
    pack's own scale."""
    MethodologyPack = apps.get_model("process", "MethodologyPack")
    out: dict[tuple[str, str], list[tuple[str, str | None]]] = {}
    for pack in MethodologyPack.objects.all():
        definition = pack.definition or {}

        def levels(scale: dict) -> list[tuple[str, str | None]]:
            return [(lv["key"], lv.get("set_by")) for lv in scale.get("levels", [])]

        out[(pack.key, "")] = levels(definition.get("scale") or {})
        for element in definition.get("elements", []):
            if element.get("scale"):
                out[(pack.key, element["key"])] = levels(element["scale"])
    return out


def counted_level(scale: list[tuple[str, str | None]], level: str) -> str:
    """The level a rep's score ``level`` counts at on ``scale`` (see ScaleDef.rep_counts)."""
    keys = [k for k, _ in scale]
    if level not in keys:
        return level
    top = len(keys) - 1
    for rank in range(keys.index(level), -1, -1):
        set_by = scale[rank][1] or ("manager" if rank == top else "rep")
        if set_by == "rep":
            return keys[rank]
    return keys[0]


def fill_verified_levels(apps: Any, schema_editor: Any = None) -> int:
    """Apply the rule above; returns how many scores now await verification."""
    ElementAssessment = apps.get_model("methodology", "ElementAssessment")
    scales = _scales(apps)
    pending = 0
    batch: list[Any] = []
    rows = ElementAssessment.objects.select_related("opportunity").order_by("pk")
    for row in rows.iterator(chunk_size=BATCH):
        scale = scales.get((row.pack, row.element)) or scales.get((row.pack, ""), [])
        by_owner = row.updated_by_id is None or row.updated_by_id == row.opportunity.owner_id
        row.verified_level = counted_level(scale, row.level) if by_owner else row.level
        if not by_owner:
            row.verified_by_id, row.verified_at = row.updated_by_id, row.updated_at
        pending += row.verified_level != row.level
        batch.append(row)
        if len(batch) >= BATCH:
            ElementAssessment.objects.bulk_update(
                batch, ["verified_level", "verified_by", "verified_at"]
            )
            batch.clear()
    if batch:
        ElementAssessment.objects.bulk_update(
            batch, ["verified_level", "verified_by", "verified_at"]
        )
    return pending


def empty(apps: Any, schema_editor: Any = None) -> None:
    apps.get_model("methodology", "ElementAssessment").objects.update(
        verified_level="", verified_by=None, verified_at=None
    )


class Migration(migrations.Migration):
    dependencies = [
        ("methodology", "0004_verified_levels"),
        ("process", "0003_methodologypack"),
    ]

    operations = [migrations.RunPython(fill_verified_levels, empty)]
