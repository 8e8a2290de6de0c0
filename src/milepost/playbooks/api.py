"""Read-only API for a stage's playbook (Markdown and sanitised HTML) and its job aid (JSON).

Every authenticated user may read every process, as on the pages; an unknown process, version
or stage is a 404.
"""

from __future__ import annotations

from dataclasses import asdict

from django.http import HttpRequest
from ninja import Router, Schema

from milepost.core.errors import NotFound
from milepost.playbooks.render import render_markdown
from milepost.playbooks.selectors import StageGuide, stage_guide

router = Router(tags=["playbooks"])


class HeadingOut(Schema):
    anchor: str
    text: str


class PlaybookOut(Schema):
    process: str
    version: int
    stage: str
    label: str
    markdown: str
    html: str
    headings: list[HeadingOut]


class PlaybookCriterionOut(Schema):
    id: str
    statement: str
    verifier: str
    verified_by: str


class ElementOut(Schema):
    pack: str
    pack_name: str
    element: str
    label: str
    need: str
    questions: list[str]


class JobAidOut(Schema):
    process_key: str
    process_name: str
    version: int
    stage_key: str
    stage_label: str
    kind: str
    position: int
    stage_count: int
    buyer_goal: str
    exit_criteria: list[PlaybookCriterionOut]
    actions: list[str]
    elements: list[ElementOut]
    questions: list[str]
    mistakes: list[str]
    notes: str
    notes_html: str


def _guide(key: str, stage: str, number: int | None) -> StageGuide:
    guide = stage_guide(process_key=key, stage_key=stage, number=number)
    if guide is None:
        raise NotFound("no such process version or stage")
    return guide


def _playbook(guide: StageGuide) -> PlaybookOut:
    rendered = render_markdown(guide.stage.playbook)
    return PlaybookOut(
        process=guide.definition.key,
        version=guide.version.number,
        stage=guide.stage.key,
        label=guide.stage.label,
        markdown=guide.stage.playbook,
        html=rendered.html,
        headings=[HeadingOut(anchor=h.anchor, text=h.text) for h in rendered.headings],
    )


def _job_aid(guide: StageGuide) -> JobAidOut:
    aid = guide.job_aid()
    return JobAidOut(**asdict(aid), notes_html=render_markdown(aid.notes).html)


@router.get(
    "/processes/{key}/stages/{stage}/playbook",
    response=PlaybookOut,
    summary="Playbook of a stage (current version)",
)
def get_playbook(request: HttpRequest, key: str, stage: str) -> PlaybookOut:
    return _playbook(_guide(key, stage, None))


@router.get(
    "/processes/{key}/versions/{number}/stages/{stage}/playbook",
    response=PlaybookOut,
    summary="Playbook of a stage (one version)",
)
def get_playbook_version(request: HttpRequest, key: str, number: int, stage: str) -> PlaybookOut:
    return _playbook(_guide(key, stage, number))


@router.get(
    "/processes/{key}/stages/{stage}/job-aid",
    response=JobAidOut,
    summary="Job aid of a stage (current version)",
)
def get_job_aid(request: HttpRequest, key: str, stage: str) -> JobAidOut:
    return _job_aid(_guide(key, stage, None))


@router.get(
    "/processes/{key}/versions/{number}/stages/{stage}/job-aid",
    response=JobAidOut,
    summary="Job aid of a stage (one version)",
)
def get_job_aid_version(request: HttpRequest, key: str, number: int, stage: str) -> JobAidOut:
    return _job_aid(_guide(key, stage, number))
