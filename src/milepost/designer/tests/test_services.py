"""Designer services: drafts start from the live version, each edit is locked, problems come
from the CLI's validator and land on the stage / criterion / field they are about."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.designer import selectors, services, validation
from milepost.engine.process_schema import ProcessDef
from milepost.process.models import ProcessDraft

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(org, processes) -> ProcessDraft:
    return services.draft_start(user=org.admin, process_key="new_business")


def _keys(draft: ProcessDraft) -> list[str]:
    return [s["key"] for s in draft.document["stages"]]


def test_a_draft_starts_as_a_copy_of_the_live_version(org, draft):
    live = selectors.live_version(draft)
    assert draft.based_on == live
    assert draft.document == live.definition
    assert draft.version == 1
    assert validation.draft_problems(draft.document) == []
    assert selectors.draft_diff(draft) == []


@pytest.mark.parametrize("role", ["rep_a1", "manager_a", "leader"])
def test_only_admins_start_read_or_edit_drafts(org, draft, role):
    user = getattr(org, role)
    with pytest.raises(PermissionDenied):
        services.draft_start(user=user, process_key="new_business")
    with pytest.raises(PermissionDenied):
        selectors.draft_get(user=user, draft_id=draft.pk)
    with pytest.raises(PermissionDenied):
        selectors.draft_get(user=user, draft_id=draft.pk + 999)  # same answer for a missing draft
    with pytest.raises(PermissionDenied):
        services.draft_update_settings(
            user=user, draft_id=draft.pk, expected_version=draft.version, name="X"
        )


def test_unknown_process_or_draft_is_not_found(org, processes):
    with pytest.raises(NotFound):
        services.draft_start(user=org.admin, process_key="nope")
    with pytest.raises(NotFound):
        selectors.draft_get(user=org.admin, draft_id=12345)


def test_stage_edits_add_rename_rekey_reorder_delete(org, draft):
    admin = org.admin
    draft = services.draft_stage_add(
        user=admin,
        draft_id=draft.pk,
        expected_version=draft.version,
        key="qualify",
        label="Qualify",
        kind="open",
        buyer_phase="explore",
        probability=15,
        forecast_category="pipeline",
    )
    assert _keys(draft)[6] == "qualify"  # after the last open stage, before won / lost
    draft = services.draft_stage_move(
        user=admin, draft_id=draft.pk, expected_version=draft.version, stage=6, direction="up"
    )
    assert _keys(draft)[5:7] == ["qualify", "negotiate"]
    draft = services.draft_stage_update(
        user=admin,
        draft_id=draft.pk,
        expected_version=draft.version,
        stage=0,
        key="connect",
        label="Connect",
        expected_days=None,
    )
    assert draft.document["stages"][0]["label"] == "Connect"
    assert "expected_days" not in draft.document["stages"][0]  # unset: the default applies
    draft = services.draft_stage_delete(
        user=admin, draft_id=draft.pk, expected_version=draft.version, stage=5
    )
    assert _keys(draft) == [
        "connect", "discover", "commit", "evaluate", "justify", "negotiate", "won", "lost"
    ]  # fmt: skip
    assert draft.version == 5
    assert validation.draft_problems(draft.document) == []
    assert any("stage 'engage' removed" in line for line in selectors.draft_diff(draft))
    with pytest.raises(InvalidChange):
        services.draft_stage_move(
            user=admin, draft_id=draft.pk, expected_version=draft.version, stage=0, direction="up"
        )


def test_criteria_edits_with_a_rule_typed_as_yaml(org, draft):
    admin = org.admin
    rule = services.parse_rule(
        "all:\n  - contact_role: {role: champion}\n  - not: {field_set: product}\n"
    )
    draft = services.draft_criterion_add(
        user=admin,
        draft_id=draft.pk,
        expected_version=draft.version,
        stage=1,
        id="champion_named",
        statement="A champion agreed to help us",
        verifier="manager",
        rule=rule,
    )
    criteria = draft.document["stages"][1]["exit_criteria"]
    assert criteria[-1]["rule"] == {
        "all": [{"contact_role": {"role": "champion"}}, {"not": {"field_set": "product"}}]
    }
    last = len(criteria) - 1
    draft = services.draft_criterion_move(
        user=admin,
        draft_id=draft.pk,
        expected_version=draft.version,
        stage=1,
        criterion=last,
        direction="up",
    )
    assert draft.document["stages"][1]["exit_criteria"][last - 1]["id"] == "champion_named"
    draft = services.draft_criterion_update(
        user=admin,
        draft_id=draft.pk,
        expected_version=draft.version,
        stage=1,
        criterion=last - 1,
        statement="A champion agreed to sponsor us",
        rule=None,
    )
    assert "rule" not in draft.document["stages"][1]["exit_criteria"][last - 1]
    draft = services.draft_criterion_delete(
        user=admin, draft_id=draft.pk, expected_version=draft.version, stage=1, criterion=last - 1
    )
    assert "champion_named" not in {c["id"] for c in draft.document["stages"][1]["exit_criteria"]}
    with pytest.raises(InvalidChange, match="not valid YAML"):
        services.parse_rule("all: [unclosed")


def test_problems_are_placed_at_the_stage_criterion_and_field(org, draft):
    admin = org.admin
    draft = services.draft_stage_update(
        user=admin,
        draft_id=draft.pk,
        expected_version=draft.version,
        stage=2,
        probability=150,
        expected_days=90,
        max_days=10,
    )
    draft = services.draft_criterion_update(
        user=admin,
        draft_id=draft.pk,
        expected_version=draft.version,
        stage=1,
        criterion=1,
        rule={"contact_role": {"role": "wizard"}},
        statement="no",
    )
    draft = services.draft_update_settings(
        user=admin, draft_id=draft.pk, expected_version=draft.version, gate_policy="sometimes"
    )
    targets = {(t.stage, t.criterion, t.field) for t in validation.draft_targets(draft.document)}
    assert (2, None, "probability") in targets
    assert (1, 1, "rule") in targets
    assert (1, 1, "statement") in targets
    assert (None, None, "gate_policy") in targets
    with pytest.raises(Exception, match="probability"):
        selectors.draft_diff(draft)


def test_pack_problems_come_from_the_same_check_as_process_store(org, draft):
    document = draft.document
    packs = [u["pack"] for u in document.get("methodologies", [])]
    if not packs:
        pytest.skip("the default process maps no methodology")
    stage = next(i for i, s in enumerate(document["stages"]) if s.get("methodology"))
    pack = next(iter(document["stages"][stage]["methodology"]))
    mapping = dict(document["stages"][stage]["methodology"])
    mapping[pack] = {"required": ["no_such_element"]}
    draft = services.draft_stage_update(
        user=org.admin,
        draft_id=draft.pk,
        expected_version=draft.version,
        stage=stage,
        methodology=mapping,
    )
    (target,) = validation.draft_targets(draft.document)
    assert (target.stage, target.criterion, target.field) == (stage, None, "methodology")
    assert "no_such_element" in target.message


def test_whole_document_as_yaml_round_trips_and_bad_yaml_is_refused(org, draft):
    text = validation.document_yaml(draft.document)
    changed = text.replace("label: Engage\n", "label: Engage the buyer\n")
    draft = services.draft_replace(
        user=org.admin, draft_id=draft.pk, expected_version=draft.version, text=changed
    )
    assert draft.document["stages"][0]["label"] == "Engage the buyer"
    assert ProcessDef.model_validate(draft.document).stages[0].label == "Engage the buyer"
    with pytest.raises(InvalidChange, match="line"):
        services.draft_replace(
            user=org.admin, draft_id=draft.pk, expected_version=draft.version, text="key: [x"
        )
    with pytest.raises(InvalidChange, match="mapping"):
        services.draft_replace(
            user=org.admin, draft_id=draft.pk, expected_version=draft.version, text="- a\n- b\n"
        )
    draft = services.draft_replace(
        user=org.admin, draft_id=draft.pk, expected_version=draft.version, text="key: x\n"
    )
    assert {t.field for t in validation.draft_targets(draft.document)} >= {"name", "stages"}


ALIAS_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize(
    "text", [ALIAS_BOMB, "key: " + "[" * 10_000 + "]" * 10_000], ids=["alias bomb", "deep"]
)
def test_hostile_yaml_is_refused_with_the_reason_and_writes_nothing(org, draft, text):
    """A 300-byte alias bomb once became a 0.9 MB draft (38 s to render); deep nesting a 500."""
    with pytest.raises(InvalidChange, match="too complex") as err:
        services.draft_replace(
            user=org.admin, draft_id=draft.pk, expected_version=draft.version, text=text
        )
    assert err.value.field == "document"
    with pytest.raises(InvalidChange, match="too complex"):
        services.parse_rule(text)
    draft.refresh_from_db()
    assert draft.version == 1


def test_concurrent_edits_conflict(org, draft):
    services.draft_update_settings(
        user=org.admin, draft_id=draft.pk, expected_version=1, name="New business 2"
    )
    with pytest.raises(VersionConflict):
        services.draft_update_settings(
            user=org.admin, draft_id=draft.pk, expected_version=1, name="Something else"
        )
    draft.refresh_from_db()
    assert (draft.document["name"], draft.version) == ("New business 2", 2)
