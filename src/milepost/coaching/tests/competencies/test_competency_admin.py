"""Editing the competency model: admin-only, validated (problems at their field and line,
nothing written), optimistic lock; the shipped default until the first save; pages and API."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from milepost.coaching.competencies import selectors as sel
from milepost.coaching.competencies import services as svc
from milepost.coaching.models import CompetencyModel
from milepost.core.errors import VersionConflict
from milepost.engine.process_schema import ProcessInvalid

pytestmark = pytest.mark.django_db

CORE = """\
competencies:
  - {key: active_listening, label: Active listening}
  - {key: disarming, label: Disarming}
  - {key: objection_handling, label: Objection handling}
  - {key: probing_questions, label: Effective probing questions}
  - {key: business_acumen, label: Business acumen}
  - {key: call_planning, label: Call planning}
"""
GOOD = (
    CORE
    + """\
  - {key: storytelling, label: Storytelling}
indicators:
  - key: no_next_step
    label: Deals without a next step
    when: {signal: no_next_step}
    competencies: [call_planning, storytelling]
    focus: End every call with a dated next step.
"""
)


def _lines(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_shipped_default_until_an_admin_saves(org, processes):
    state = sel.competency_model_state()
    assert (state.stored, state.version) == (False, 0)
    assert state.text == sel.default_text()
    # The shipped model passes the same validation as an admin's edit.
    model, problems = svc.competency_model_problems(state.text)
    assert problems == []
    assert model is not None


def test_admin_saves_and_the_model_changes(org, processes):
    row = svc.competency_model_save(user=org.admin, text=GOOD, expected_version=0)
    assert (row.version, row.source_text, row.updated_by) == (1, GOOD, org.admin)
    state = sel.competency_model_state()
    assert (state.stored, state.version, state.text) == (True, 1, GOOD)
    keys = [c.key for c in sel.effective_competencies()]
    assert "storytelling" in keys
    assert "multithreading" in keys  # pack skills still added
    again = svc.competency_model_save(user=org.admin, text=GOOD, expected_version=1)
    assert again.version == 2


@pytest.mark.parametrize("who", ["leader", "manager_a", "rep_a1"])
def test_only_admins_edit(org, who):
    with pytest.raises(PermissionDenied):
        svc.competency_model_save(user=getattr(org, who), text=GOOD, expected_version=0)
    assert not CompetencyModel.objects.exists()


def test_version_conflict_writes_nothing(org, processes):
    svc.competency_model_save(user=org.admin, text=GOOD, expected_version=0)
    stale = GOOD.replace("Storytelling}", "Story telling}")
    with pytest.raises(VersionConflict) as info:
        svc.competency_model_save(user=org.admin, text=stale, expected_version=0)
    assert info.value.current_version == 1
    row = CompetencyModel.objects.get()
    assert (row.version, row.source_text) == (1, GOOD)


BAD = [
    # (text, a word of the location, a word of the message, the line's marker in the text)
    (
        GOOD.replace("[call_planning, storytelling]", "[call_planning, juggling]"),
        "competencies",
        "juggling",
        "juggling",
    ),
    (
        GOOD.replace("{key: disarming, label: Disarming}", "{key: disarming}"),
        "label",
        "missing",
        "key: disarming",
    ),
    (
        GOOD.replace("  - {key: call_planning, label: Call planning}\n", ""),
        "",
        "call_planning",
        "competencies:",
    ),
    (
        GOOD.replace("{signal: no_next_step}", "{signal: no_next_stepp}"),
        "when",
        "unknown signal",
        "signal: no_next_stepp",
    ),
    (
        GOOD.replace(
            "{signal: no_next_step}", "{element_below: {pack: meddpicc, element: economic_buyerr}}"
        ),
        "element",
        "economic_buyerr",
        "economic_buyerr",
    ),
    (
        GOOD.replace(
            "{signal: no_next_step}",
            "{element_below: {pack: meddpicc, element: economic_buyer, level: huge}}",
        ),
        "level",
        "huge",
        "level: huge",
    ),
    (
        GOOD.replace("{signal: no_next_step}", "{criterion_unmet: no_such_criterion}"),
        "criterion_unmet",
        "no_such_criterion",
        "no_such_criterion",
    ),
    (
        GOOD.replace("    competencies: [call", "    stages: [nowhere]\n    competencies: [call"),
        "stages",
        "nowhere",
        "stages: [nowhere]",
    ),
    (GOOD + "  - key: [unclosed\n", "line", "not valid YAML", None),
]


@pytest.mark.parametrize(("text", "where", "what", "marker"), BAD)
def test_problems_name_field_and_line_and_nothing_is_written(
    org, processes, text, where, what, marker
):
    with pytest.raises(ProcessInvalid) as info:
        svc.competency_model_save(user=org.admin, text=text, expected_version=0)
    problems = info.value.errors
    assert any(where in p.location and what in p.message + p.location for p in problems), problems
    if marker is not None:
        assert _lines(text, marker) in {p.line for p in problems}, problems
    else:
        assert all(p.line for p in problems)
    assert not CompetencyModel.objects.exists()


def test_model_page_read_only_for_everyone_editable_by_admin(org, client_for):
    page = client_for(org.rep_a1).get("/coaching/skills/model/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Business acumen" in body
    assert "<textarea" not in body
    refused = client_for(org.manager_a).post(
        "/coaching/skills/model/", {"version": 0, "text": GOOD}
    )
    assert refused.status_code == 403
    assert not CompetencyModel.objects.exists()
    admin_page = client_for(org.admin).get("/coaching/skills/model/")
    assert 'name="text"' in admin_page.content.decode()


def test_model_page_shows_problems_at_their_line(org, processes, client_for):
    client = client_for(org.admin)
    bad = GOOD.replace("[call_planning, storytelling]", "[call_planning, juggling]")
    answer = client.post("/coaching/skills/model/", {"version": 0, "text": bad})
    assert answer.status_code == 422
    body = answer.content.decode()
    assert f"line {_lines(bad, 'juggling')}:" in body
    assert "juggling" in body  # the admin's text is kept in the editor
    assert not CompetencyModel.objects.exists()
    saved = client.post("/coaching/skills/model/", {"version": 0, "text": GOOD})
    assert saved.status_code == 302
    conflict = client.post("/coaching/skills/model/", {"version": 0, "text": GOOD})
    assert conflict.status_code == 409
    assert CompetencyModel.objects.get().version == 1


def test_model_api(org, processes):
    def call(user, method, body=None):
        client = Client()
        client.force_login(user)
        if method == "get":
            return client.get("/api/v1/coaching/competency-model")
        return client.put(
            "/api/v1/coaching/competency-model",
            data=json.dumps(body),
            content_type="application/json",
        )

    got = call(org.rep_a1, "get")
    assert got.status_code == 200
    assert got.json()["version"] == 0
    assert call(org.manager_a, "put", {"version": 0, "text": GOOD}).status_code == 403
    bad = GOOD.replace("storytelling]", "juggling]")
    invalid = call(org.admin, "put", {"version": 0, "text": bad})
    assert invalid.status_code == 422
    assert invalid.json()["problems"][0]["line"] == _lines(bad, "juggling")
    assert not CompetencyModel.objects.exists()
    ok = call(org.admin, "put", {"version": 0, "text": GOOD})
    assert ok.status_code == 200
    assert ok.json()["version"] == 1
    assert "storytelling" in [c["key"] for c in ok.json()["competencies"]]
    stale = call(org.admin, "put", {"version": 0, "text": GOOD})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 1
    listed = Client()
    listed.force_login(org.rep_b1)
    keys = [c["key"] for c in listed.get("/api/v1/coaching/competencies").json()]
    assert {"storytelling", "multithreading", "call_planning"} <= set(keys)


@pytest.mark.parametrize(
    "text",
    [
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n"
            for p, c in zip("abcdefg", "bcdefgh", strict=True)
        ),
        "competencies: " + "[" * 10_000 + "]" * 10_000,
    ],
    ids=["alias bomb", "deep"],
)
def test_hostile_yaml_is_a_problem_with_its_line_not_a_crash(org, processes, text):
    model, problems = svc.competency_model_problems(text)
    assert model is None
    assert len(problems) == 1
    assert "too complex" in problems[0].message
    assert problems[0].line is not None
