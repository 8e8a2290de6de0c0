"""Words for how an exit criterion was met and by whom (the engine's codes, translated), so the
process map, the inspection page and the API say the same thing."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from milepost.engine import evidence as e

HOW_LABELS = {
    "rule": gettext_lazy("rule"),
    "score": gettext_lazy("methodology score"),
    "evidence": gettext_lazy("evidence"),
}
BY_LABELS = {
    e.BY_DATA: gettext_lazy("the deal's data"),
    e.BY_REP: gettext_lazy("rep-claimed"),
    e.BY_REP_PENDING: gettext_lazy("rep-claimed, buyer confirmation awaiting verification"),
    e.BY_MANAGER: gettext_lazy("manager-verified"),
    e.BY_ARTEFACT_MANAGER: gettext_lazy("buyer-confirmed via artefact, accepted by a manager"),
    e.BY_ARTEFACT_RULE: gettext_lazy("buyer-confirmed via artefact, accepted by a rule"),
    e.BY_BUYER_ACTION: gettext_lazy("buyer-confirmed by the buyer's own action"),
    e.BY_NONE: gettext_lazy("nobody yet"),
}


def how_label(how: tuple[str, ...]) -> str:
    return " + ".join(str(HOW_LABELS.get(h, h)) for h in how)


def by_label(by: str) -> str:
    return str(BY_LABELS.get(by, by))
