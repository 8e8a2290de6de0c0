"""What the methodology panel on a deal shows: the elements that matter at the current stage.

A process maps methodology packs onto its stages (required / recommended elements); a rep needs
to see, on the deal, only what matters *now*: the current stage's elements with their score,
notes and answers; the next few questions to ask (from the pack's question banks, for elements
not yet at their top level, required ones first); the elements required at earlier stages that
are still open ("carried gaps", the qualification debt a deal drags forward); and which of the
deal's contacts carry each element (by buying role). The Blue Sheet is the Strategic-Selling
view of the same data plus the deal's buying influences.

:func:`build_panel` is the decision (plain data in, plain data out); :func:`methodology_panel`
and :func:`blue_sheet` fetch what it needs once, for a deal the user may see (NotFound
otherwise). Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from milepost.accounts.models import Contact
from milepost.accounts.selectors import contact_list
from milepost.core.errors import NotFound
from milepost.engine.methodology_schema import (
    ElementDef,
    InfluenceModelDef,
    LevelDef,
    MethodologyDef,
    ScaleDef,
)
from milepost.engine.process_schema import ProcessDef, StageDef
from milepost.methodology.models import (
    BuyingInfluence,
    ElementAssessment,
    ElementAssessmentEvent,
)
from milepost.methodology.selectors import (
    deal_assessment_history,
    deal_assessments,
    deal_influences,
)
from milepost.pipeline.models import Opportunity, OpportunityContact
from milepost.pipeline.selectors import opportunity_contacts, opportunity_get
from milepost.process.selectors import pack_definitions, process_definition
from milepost.team.models import User

# A handful: more questions than a rep can ask on one call is a list nobody reads.
MAX_QUESTIONS = 6
REQUIRED, RECOMMENDED, CARRIED = "required", "recommended", "carried"


@dataclass(frozen=True)
class Answer:
    key: str
    label: str
    type: str
    value: Any
    display: str


@dataclass(frozen=True)
class Suggestion:
    """A deal contact whose buying role makes them carry an element (e.g. the champion)."""

    contact: Contact
    role: str
    linked: bool


@dataclass
class ElementRow:
    """One element of one pack on the deal: its definition, requirement and current score."""

    pack: MethodologyDef
    element: ElementDef
    requirement: str  # required / recommended at the current stage, or carried
    scale: ScaleDef
    assessment: ElementAssessment | None
    answers: list[Answer]
    linked_contacts: list[Contact]
    suggestions: list[Suggestion]
    carried_from: str = ""  # label of the earlier stage that required it (carried gaps)
    # What the page shows next to the edit form after a post (set by the view).
    error: str = ""
    flash: str = ""
    values: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        return self.element.key

    @property
    def anchor(self) -> str:
        return f"element-{self.pack.key}-{self.element.key}"

    @property
    def level(self) -> LevelDef | None:
        """The current level; the lowest when not assessed; None for a level the pack dropped."""
        if self.assessment is None:
            return self.scale.levels[0]
        return next((lv for lv in self.scale.levels if lv.key == self.assessment.level), None)

    @property
    def verified_label(self) -> str:
        """The label of the level that counts (below the score while it awaits a manager)."""
        key = self.assessment.verified_level if self.assessment else self.scale.levels[0].key
        return next((lv.label for lv in self.scale.levels if lv.key == key), key)

    @property
    def level_key(self) -> str:
        return self.assessment.level if self.assessment else self.scale.levels[0].key

    @property
    def level_label(self) -> str:
        level = self.level
        return level.label if level else self.level_key

    @property
    def rank(self) -> int:
        level = self.level
        return self.scale.levels.index(level) if level else 0

    @property
    def at_top(self) -> bool:
        """Whether the level that **counts** is the top of the scale: a rep's top score that
        awaits a manager's verification is still a gap (questions, carried gaps)."""
        if self.assessment is None:
            return False
        return self.assessment.verified_level == self.scale.keys[-1]

    @property
    def version(self) -> int:
        return self.assessment.version if self.assessment else 0

    @property
    def updated_by(self) -> User | None:
        return self.assessment.updated_by if self.assessment else None

    @property
    def updated_at(self) -> datetime | None:
        return self.assessment.updated_at if self.assessment else None

    @property
    def notes(self) -> str:
        return self.assessment.notes if self.assessment else ""

    @property
    def linked_ids(self) -> set[int]:
        return {c.pk for c in self.linked_contacts}

    # The edit form's values: what was posted when it failed, else what is stored.
    @property
    def form_level(self) -> str:
        return self.values["level"] if self.values else self.level_key

    @property
    def form_notes(self) -> str:
        return self.values["notes"] if self.values else self.notes

    @property
    def form_contact_ids(self) -> set[int]:
        return set(self.values["contacts"]) if self.values else self.linked_ids

    @property
    def form_fields(self) -> list[dict[str, Any]]:
        stored = self.assessment.answers if self.assessment else {}
        source = self.values["answers"] if self.values else stored
        return [
            {"field": f, "value": str(source.get(f.key, "") or ""), "name": f"answer__{f.key}"}
            for f in self.element.fields
        ]


@dataclass(frozen=True)
class Question:
    pack: str
    element: str
    element_label: str
    requirement: str
    text: str


@dataclass
class PackSection:
    """One methodology the process uses, as it applies at the deal's current stage."""

    pack: MethodologyDef
    purpose: str
    elements: list[ElementRow]
    carried_gaps: list[ElementRow]

    @property
    def has_influences(self) -> bool:
        return self.pack.buying_influences is not None


@dataclass
class MethodologyPanel:
    opportunity: Opportunity
    stage: StageDef
    sections: list[PackSection]
    questions: list[Question]
    contacts: list[Contact]  # the account's contacts: what an element may be linked to
    missing_packs: list[str] = field(default_factory=list)
    error: str = ""  # a message for the whole panel (set by the view)

    @property
    def blue_sheet_packs(self) -> list[MethodologyDef]:
        return [s.pack for s in self.sections if s.has_influences]

    def rows(self) -> list[ElementRow]:
        return [r for s in self.sections for r in (*s.elements, *s.carried_gaps)]

    def row(self, pack: str, element: str) -> ElementRow | None:
        return next(
            (r for r in self.rows() if r.pack.key == pack and r.element.key == element), None
        )


# ---------------------------------------------------------------------------------------------
# The decision.


def _answers(element: ElementDef, raw: Mapping[str, Any], contacts: Mapping[int, Contact]):
    out = []
    for f in element.fields:
        value = raw.get(f.key)
        if value in (None, ""):
            continue
        display = str(value)
        if f.type == "contact":
            person = contacts.get(int(value)) if str(value).isdigit() else None
            display = person.full_name if person else f"contact {value}"
        out.append(Answer(f.key, f.label, f.type, value, display))
    return out


def _row(
    pack: MethodologyDef,
    element: ElementDef,
    requirement: str,
    assessments: Mapping[tuple[str, str], ElementAssessment],
    roles: Sequence[OpportunityContact],
    contacts: Mapping[int, Contact],
    carried_from: str = "",
) -> ElementRow:
    assessment = assessments.get((pack.key, element.key))
    linked = (
        sorted(assessment.contacts.all(), key=lambda c: (c.last_name, c.pk)) if assessment else []
    )
    linked_ids = {c.pk for c in linked}
    wanted = set(element.contact_roles)
    suggestions = [
        Suggestion(r.contact, r.get_buying_role_display(), r.contact_id in linked_ids)
        for r in roles
        if r.buying_role in wanted
    ]
    return ElementRow(
        pack=pack,
        element=element,
        requirement=requirement,
        scale=pack.scale_of(element.key),
        assessment=assessment,
        answers=_answers(element, assessment.answers if assessment else {}, contacts),
        linked_contacts=linked,
        suggestions=suggestions,
        carried_from=carried_from,
    )


def _questions(rows: Sequence[ElementRow], limit: int) -> list[Question]:
    """Breadth first: each unmet element's first question, then second questions, and so on."""
    open_rows = [r for r in rows if not r.at_top and r.element.questions]
    # Required (current stage and carried) before recommended; stable otherwise.
    open_rows.sort(key=lambda r: r.requirement == RECOMMENDED)
    out: list[Question] = []
    depth = 0
    while len(out) < limit and any(depth < len(r.element.questions) for r in open_rows):
        for r in open_rows:
            if depth < len(r.element.questions) and len(out) < limit:
                out.append(
                    Question(
                        r.pack.key,
                        r.element.key,
                        r.element.label,
                        r.requirement,
                        r.element.questions[depth],
                    )
                )
        depth += 1
    return out


def build_panel(
    *,
    opportunity: Opportunity,
    process: ProcessDef,
    stage_key: str,
    packs: Mapping[str, MethodologyDef],
    assessments: Mapping[tuple[str, str], ElementAssessment],
    roles: Sequence[OpportunityContact],
    contacts: Sequence[Contact],
    max_questions: int = MAX_QUESTIONS,
) -> MethodologyPanel:
    """The panel for a deal at ``stage_key`` of ``process`` from already-fetched rows."""
    stage = process.stage(stage_key)
    position = [s.key for s in process.stages].index(stage_key)
    earlier = [s for s in process.stages[:position] if s.kind == "open"]
    by_id = {c.pk: c for c in contacts}
    sections: list[PackSection] = []
    missing: list[str] = []
    for use in process.methodologies:
        pack = packs.get(use.pack)
        if pack is None:
            missing.append(use.pack)
            continue
        known = {e.key for e in pack.elements}
        mapping = stage.methodology.get(use.pack)
        now: list[tuple[str, str]] = []
        if mapping is not None:
            now = [(k, REQUIRED) for k in mapping.required if k in known]
            now += [(k, RECOMMENDED) for k in mapping.recommended if k in known]
        rows = [_row(pack, pack.element(k), req, assessments, roles, by_id) for k, req in now]
        # Only recommended now but required earlier and still open: the stronger requirement
        # wins, so it is listed as a carried gap rather than as a mere recommendation.
        shown = {k for k, req in now if req == REQUIRED}
        gaps: list[ElementRow] = []
        for past in earlier:
            past_mapping = past.methodology.get(use.pack)
            for k in past_mapping.required if past_mapping else []:
                if k in shown or k not in known:
                    continue
                shown.add(k)
                row = _row(pack, pack.element(k), CARRIED, assessments, roles, by_id, past.label)
                if not row.at_top:
                    gaps.append(row)
                    rows = [r for r in rows if r.key != k]
        if rows or gaps:
            sections.append(PackSection(pack, use.purpose, rows, gaps))
    ordered = [r for s in sections for r in s.elements if r.requirement == REQUIRED]
    ordered += [r for s in sections for r in s.carried_gaps]
    ordered += [r for s in sections for r in s.elements if r.requirement == RECOMMENDED]
    return MethodologyPanel(
        opportunity=opportunity,
        stage=stage,
        sections=sections,
        questions=_questions(ordered, max_questions),
        contacts=list(contacts),
        missing_packs=missing,
    )


# ---------------------------------------------------------------------------------------------
# Fetch once, then build.


def _deal_contacts(user: User, opportunity: Opportunity) -> list[Contact]:
    if opportunity.account_id is None:
        return []
    return list(contact_list(user=user, account_id=opportunity.account_id))


def methodology_panel(*, user: User, opportunity_id: int) -> MethodologyPanel:
    """The panel of a deal ``user`` may see (:class:`NotFound` otherwise)."""
    opportunity = opportunity_get(user=user, opportunity_id=opportunity_id)
    return build_panel(
        opportunity=opportunity,
        process=process_definition(opportunity.stage.version_id),
        stage_key=opportunity.stage.key,
        packs=pack_definitions(),
        assessments=deal_assessments(opportunity=opportunity),
        roles=list(opportunity_contacts(opportunity=opportunity).order_by("buying_role", "id")),
        contacts=_deal_contacts(user, opportunity),
    )


@dataclass(frozen=True)
class InfluenceRow:
    influence: BuyingInfluence
    role_label: str
    degree_label: str
    response_mode_label: str


@dataclass
class BlueSheet:
    """A Strategic-Selling view of one deal: buying influences and the pack's elements."""

    opportunity: Opportunity
    pack: MethodologyDef
    model: InfluenceModelDef
    influences: list[InfluenceRow]
    elements: list[ElementRow]
    contacts: list[Contact]
    # What the page shows after a post (set by the view); error_on: an influence id, 0 = add.
    error: str = ""
    error_on: int | None = None
    flash: str = ""
    values: dict[str, Any] | None = None

    @property
    def ratings(self) -> list[int]:
        return list(range(self.model.rating_min, self.model.rating_max + 1))


def _labels(options: Sequence[Any]) -> dict[str, str]:
    return {o.key: o.label for o in options}


def blue_sheet(*, user: User, opportunity_id: int, pack: str) -> BlueSheet:
    """The Blue Sheet of a visible deal whose process uses ``pack`` with buying influences.

    A deal the user may not see, or whose process does not use such a pack, is NotFound: the
    page simply does not exist for it.
    """
    opportunity = opportunity_get(user=user, opportunity_id=opportunity_id)
    process = process_definition(opportunity.stage.version_id)
    definition = pack_definitions().get(pack)
    if (
        definition is None
        or definition.buying_influences is None
        or pack not in {u.pack for u in process.methodologies}
    ):
        raise NotFound(f"no blue sheet {pack!r} for opportunity {opportunity_id}")
    model = definition.buying_influences
    roles, degrees, modes = (
        _labels(model.roles),
        _labels(model.degrees),
        _labels(model.response_modes),
    )
    influences = [
        InfluenceRow(
            i,
            roles.get(i.role, i.role),
            degrees.get(i.degree, i.degree),
            modes.get(i.response_mode, i.response_mode),
        )
        for i in deal_influences(opportunity=opportunity)
        if i.pack == pack
    ]
    contacts = _deal_contacts(user, opportunity)
    assessments = deal_assessments(opportunity=opportunity)
    deal_roles = list(opportunity_contacts(opportunity=opportunity).order_by("buying_role", "id"))
    by_id = {c.pk: c for c in contacts}
    elements = [
        _row(definition, e, "", assessments, deal_roles, by_id) for e in definition.elements
    ]
    return BlueSheet(opportunity, definition, model, influences, elements, contacts)


@dataclass(frozen=True)
class HistoryRow:
    event: ElementAssessmentEvent
    from_label: str
    to_label: str


@dataclass
class ElementHistory:
    opportunity: Opportunity
    pack: MethodologyDef
    element: ElementDef
    rows: list[HistoryRow]

    @property
    def anchor(self) -> str:
        return f"element-{self.pack.key}-{self.element.key}"


def element_history(*, user: User, opportunity_id: int, pack: str, element: str) -> ElementHistory:
    """Every change to one element on a visible deal, newest first, levels as labels."""
    opportunity = opportunity_get(user=user, opportunity_id=opportunity_id)
    process = process_definition(opportunity.stage.version_id)
    definition = pack_definitions().get(pack)
    if definition is None or pack not in {u.pack for u in process.methodologies}:
        raise NotFound(f"no methodology {pack!r} on opportunity {opportunity_id}")
    try:
        element_def = definition.element(element)
    except KeyError:
        raise NotFound(f"no element {element!r} in {definition.name}") from None
    labels = {lv.key: lv.label for lv in definition.scale_of(element).levels}
    rows = [
        HistoryRow(
            event,
            labels.get(event.previous_level, event.previous_level),
            labels.get(event.level, event.level),
        )
        for event in deal_assessment_history(opportunity=opportunity, pack=pack, element=element)
    ]
    return ElementHistory(opportunity, definition, element_def, rows)
