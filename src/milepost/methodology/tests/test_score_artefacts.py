"""A methodology score backed by the buyer's own proof, and limits per element.

A rep's score above what they may set is a claim (test_verified_levels.py). Here the rep
attaches the buyer's artefact to it: the score counts once the manager verifies it (accepting
the artefact) or at once when an admin's rule accepts the artefact (the buyer's e-mail from the
account's domain); the criterion reading the score says which. A refused artefact writes
nothing. The process may set the rep's limit per element (``rep_up_to_per_element``).
"""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from milepost.core.errors import InvalidChange
from milepost.engine.evidence import (
    BY_ARTEFACT_MANAGER,
    BY_ARTEFACT_RULE,
    BY_MANAGER,
    BY_REP,
    BY_REP_PENDING,
)
from milepost.engine.methodology_schema import check_process_packs
from milepost.engine.process_schema import ProcessDef
from milepost.evidence.models import Artefact
from milepost.evidence.services import acceptance_rule_set
from milepost.inspection.deal import explain_criteria
from milepost.methodology.models import ElementAssessment, ElementAssessmentEvent
from milepost.methodology.services import assessment_record, assessment_verify
from milepost.pipeline.models import Opportunity
from milepost.process.models import ProcessVersion
from milepost.process.selectors import pack_definitions
from milepost.testing.clients import api_client
from milepost.testing.factories import Org

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

KEY = "decision_process_shared"  # rule: MEDDPICC decision process at least confirmed
EML = (
    "From: Bea Buyer <bea@acme.example>\r\n"
    "To: rep@seller.example\r\n"
    "Date: Mon, 30 Nov 2026 09:15:00 +0100\r\n"
    "Subject: Re: how you decide\r\n\r\n"
    "Legal signs off after the CFO; the board is not involved.\r\n"
)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def deal(buyer_deal: Opportunity) -> Opportunity:
    return buyer_deal


def criterion(user, deal: Opportunity) -> tuple[str, str]:
    explanation = explain_criteria(user=user, opportunity_id=deal.pk)
    view = next(c for s in explanation.stages for c in s.criteria if c.criterion.id == KEY)
    return view.status, view.provenance.by


def confirm(user, deal: Opportunity, **extra) -> ElementAssessment:
    return assessment_record(
        user=user,
        opportunity_id=deal.pk,
        pack="meddpicc",
        element="decision_process",
        level="confirmed",
        **extra,
    )


def test_the_buyers_email_backs_a_claim_the_manager_then_accepts(org: Org, deal: Opportunity):
    row = confirm(org.rep_a1, deal, artefact_kind="email", artefact_text=EML)
    assert (row.level, row.verified_level, row.verified_by, row.accepted_by_rule) == (
        "confirmed",
        "partial",
        None,
        "",
    )
    assert row.artefact.email_from == "bea@acme.example"
    assert criterion(org.manager_a, deal) == ("unmet", BY_REP_PENDING)
    row = assessment_verify(
        user=org.manager_a,
        opportunity_id=deal.pk,
        pack="meddpicc",
        element="decision_process",
        expected_version=row.version,
    )
    assert (row.verified_level, row.verified_by) == ("confirmed", org.manager_a)
    assert criterion(org.manager_a, deal) == ("met", BY_ARTEFACT_MANAGER)
    events = list(
        ElementAssessmentEvent.objects.filter(assessment=row).values_list(
            "verified", "verified_level", "artefact_id"
        )
    )
    assert events == [(False, "partial", row.artefact_id), (True, "confirmed", row.artefact_id)]


def test_the_admins_rule_accepts_an_email_from_the_accounts_domain(org: Org, deal: Opportunity):
    acceptance_rule_set(
        user=org.admin, kind="email_from_account_domain", enabled=True, expected_version=None
    )
    row = confirm(org.rep_a1, deal, artefact_kind="email", artefact_text=EML)
    assert (row.verified_level, row.verified_by, row.accepted_by_rule) == (
        "confirmed",
        None,
        "email_from_account_domain",
    )
    assert row.verified_at is not None
    assert criterion(org.rep_a1, deal) == ("met", BY_ARTEFACT_RULE)
    (event,) = ElementAssessmentEvent.objects.filter(assessment=row)
    assert (event.accepted_by_rule, event.artefact_id) == (
        "email_from_account_domain",
        row.artefact_id,
    )
    # an e-mail from elsewhere stays a claim, and scoring again drops the earlier proof
    elsewhere = EML.replace("bea@acme.example", "bea@gmail.example")
    row = confirm(
        org.rep_a1, deal, artefact_kind="email", artefact_text=elsewhere, expected_version=1
    )
    assert (row.verified_level, row.accepted_by_rule) == ("partial", "")
    assert criterion(org.rep_a1, deal) == ("unmet", BY_REP_PENDING)
    row = confirm(org.rep_a1, deal, expected_version=row.version)
    assert (row.artefact, row.verified_level) == (None, "partial")
    assert criterion(org.rep_a1, deal) == ("unmet", BY_REP)


def test_without_proof_a_managers_own_score_is_theirs(org: Org, deal: Opportunity):
    confirm(org.manager_a, deal)
    assert criterion(org.rep_a1, deal) == ("met", BY_MANAGER)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"artefact_kind": "letter", "artefact_text": EML}, "artefact_kind"),
        ({"artefact_kind": "email", "artefact_text": "no headers at all"}, "artefact_text"),
        (
            {"artefact_kind": "meeting_notes", "artefact_text": "We met and agreed the plan."},
            "attendee",
        ),
        ({"artefact_kind": "document"}, "artefact_file"),
        ({"artefact_kind": "", "artefact_text": EML}, "artefact_kind"),
        ({"artefact_kind": "email", "artefact_text": EML, "attendee_id": 10**9}, "attendee"),
    ],
)
def test_a_refused_artefact_writes_nothing(org: Org, deal: Opportunity, extra, field, settings):
    with pytest.raises(InvalidChange) as refused:
        confirm(org.rep_a1, deal, **extra)
    assert refused.value.field == field
    assert not ElementAssessment.objects.filter(opportunity=deal).exists()
    assert not Artefact.objects.filter(opportunity=deal).exists()
    assert not (settings.MEDIA_ROOT / "evidence").exists()


def test_the_api_takes_a_pasted_email_and_shows_it(org: Org, deal: Opportunity):
    client = api_client(org.rep_a1, "token")
    url = f"/api/v1/opportunities/{deal.pk}/methodology/meddpicc/decision_process"
    body = {"level": "confirmed", "artefact_kind": "email", "artefact_text": EML}
    answer = client.put(url, json.dumps(body), content_type="application/json")
    assert answer.status_code == 201, answer.content
    got = answer.json()
    assert (got["verified_level"], got["awaiting_verification"]) == ("partial", True)
    assert got["artefact_id"] == Artefact.objects.get(opportunity=deal).pk
    bad = client.put(
        url,
        json.dumps({**body, "artefact_kind": "fax", "version": 1}),
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert "artefact_kind" in json.dumps(bad.json())
    history = client.get(f"{url}/history").json()
    assert [h["artefact_id"] for h in history] == [got["artefact_id"]]


def test_the_panel_attaches_a_signed_document_and_the_manager_accepts_it(
    org: Org, deal: Opportunity
):
    rep = Client()
    rep.force_login(org.rep_a1)
    save = reverse("methodology:element_save", args=[deal.pk, "meddpicc", "decision_process"])
    answer = rep.post(
        save,
        {
            "version": "",
            "level": "confirmed",
            "artefact_kind": "document",
            "artefact_file": SimpleUploadedFile("decision.pdf", b"%PDF-1.4\n%signed\n"),
        },
        **HTMX,
    )
    assert answer.status_code == 200, answer.content[:500]
    page = answer.content.decode()
    artefact = Artefact.objects.get(opportunity=deal)
    assert artefact.file_name == "decision.pdf"
    assert reverse("evidence:artefact", args=[deal.pk, artefact.pk]) in page
    assert "awaiting a manager" in page
    manager = Client()
    manager.force_login(org.manager_a)
    panel = manager.get(reverse("methodology:panel", args=[deal.pk]), **HTMX).content.decode()
    assert "Accept the buyer" in panel
    download = manager.get(reverse("evidence:artefact", args=[deal.pk, artefact.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    outsider = Client()
    outsider.force_login(org.rep_b1)
    assert (
        outsider.get(reverse("evidence:artefact", args=[deal.pk, artefact.pk])).status_code == 404
    )
    verify = reverse("methodology:element_verify", args=[deal.pk, "meddpicc", "decision_process"])
    assert manager.post(verify, {"version": "1"}, **HTMX).status_code == 200
    assert criterion(org.manager_a, deal) == ("met", BY_ARTEFACT_MANAGER)


def _with_limits(deal: Opportunity, use: dict) -> None:
    """The deal's process version, its MEDDPICC limits replaced by ``use``."""
    version = ProcessVersion.objects.get(pk=deal.stage.version_id)
    definition = dict(version.definition)
    definition["methodologies"] = [
        use if m["pack"] == "meddpicc" else m for m in definition["methodologies"]
    ]
    version.definition = definition
    version.save(update_fields=["definition"])


def test_the_process_sets_the_reps_limit_per_element(org: Org, deal: Opportunity):
    _with_limits(
        deal,
        {
            "pack": "meddpicc",
            "rep_up_to": "not_started",
            "rep_up_to_per_element": {"decision_process": "confirmed"},
        },
    )
    deal = Opportunity.objects.get(pk=deal.pk)
    row = confirm(org.rep_a1, deal)
    assert (row.verified_level, row.awaiting_verification) == ("confirmed", False)
    metrics = assessment_record(
        user=org.rep_a1, opportunity_id=deal.pk, pack="meddpicc", element="metrics", level="partial"
    )
    assert (metrics.level, metrics.verified_level) == ("partial", "not_started")


def test_limits_per_element_name_real_elements_and_levels(processes: None):
    import yaml

    from milepost.process.services import DEFAULTS_DIR

    base = ProcessDef.model_validate(
        yaml.safe_load((DEFAULTS_DIR / "new_business.yaml").read_text())
    )
    definition = ProcessDef.model_validate(
        {
            **base.canonical(),
            "methodologies": [
                {"pack": "spin"},
                {
                    "pack": "meddpicc",
                    "rep_up_to_per_element": {
                        "metrics": "confirmed",
                        "budget": "partial",
                        "decision_process": "certain",
                    },
                },
                {"pack": "strategic_selling"},
            ],
        }
    )
    errors = check_process_packs(definition, pack_definitions())
    assert [e.location for e in errors] == [
        "methodologies > [2] > rep_up_to_per_element > budget",
        "methodologies > [2] > rep_up_to_per_element > decision_process",
    ]
