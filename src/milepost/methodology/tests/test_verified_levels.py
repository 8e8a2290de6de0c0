"""Methodology levels with permissions: a rep's score above what they may set is a claim that
counts at the level below until a manager of the owner (or an admin) verifies it, on every
write path; criteria count only verified levels; the migration that filled them.

Permission probes of the verify page and endpoint as the owner (rep_a1), another rep (rep_b1),
the owner's manager (manager_a), another manager (manager_b) and an admin."""

from __future__ import annotations

import importlib
import json

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from milepost.core.errors import InvalidChange
from milepost.engine.methodology_schema import check_process_packs
from milepost.engine.process_schema import ProcessDef
from milepost.inspection.deal import explain_criteria
from milepost.methodology.models import ElementAssessment, ElementAssessmentEvent
from milepost.methodology.services import assessment_record, assessment_verify
from milepost.pipeline.models import Opportunity
from milepost.process.selectors import pack_definitions
from milepost.process.services import DEFAULTS_DIR
from milepost.testing.clients import api_client
from milepost.testing.factories import Org, make_opportunity
from milepost.testing.probes import probed

pytestmark = pytest.mark.django_db

API = "/api/v1"
HTMX = {"HTTP_HX_REQUEST": "true"}
KEY = "decision_process_shared"  # rule: MEDDPICC decision process at least confirmed
VIEWERS = ("rep_a1", "rep_b1", "manager_a", "manager_b", "admin")
SEES = {"rep_a1", "manager_a", "admin"}
VERIFIES = {"manager_a", "admin"}

PROBED = probed(
    ("post", "/pipeline/opportunities/1/methodology/meddpicc/decision_process/verify/"),
    ("post", f"{API}/opportunities/1/methodology/meddpicc/decision_process/verify"),
)


@pytest.fixture
def deal(org: Org, processes: None) -> Opportunity:
    return make_opportunity(owner=org.rep_a1, stage_key="negotiate")


def criterion(user, deal: Opportunity):
    explanation = explain_criteria(user=user, opportunity_id=deal.pk)
    return next(c for s in explanation.stages for c in s.criteria if c.criterion.id == KEY)


def score(user, deal: Opportunity, level: str, version: int | None = None) -> ElementAssessment:
    return assessment_record(
        user=user,
        opportunity_id=deal.pk,
        pack="meddpicc",
        element="decision_process",
        level=level,
        expected_version=version,
    )


def test_a_reps_confirmed_is_a_claim_until_the_manager_verifies(org: Org, deal: Opportunity):
    row = score(org.rep_a1, deal, "partial")
    assert (row.level, row.verified_level, row.awaiting_verification) == (
        "partial",
        "partial",
        False,
    )
    row = score(org.rep_a1, deal, "confirmed", row.version)
    assert (row.level, row.verified_level, row.awaiting_verification) == (
        "confirmed",
        "partial",
        True,
    )
    view = criterion(org.rep_a1, deal)
    assert view.status == "unmet"
    with pytest.raises(InvalidChange, match="your own deal"):
        assessment_verify(
            user=org.rep_a1,
            opportunity_id=deal.pk,
            pack="meddpicc",
            element="decision_process",
            expected_version=row.version,
        )
    row = assessment_verify(
        user=org.manager_a,
        opportunity_id=deal.pk,
        pack="meddpicc",
        element="decision_process",
        expected_version=row.version,
    )
    assert (row.verified_level, row.verified_by) == ("confirmed", org.manager_a)
    view = criterion(org.rep_a1, deal)
    assert (view.status, view.provenance.how, view.provenance.by) == ("met", ("score",), "manager")
    assert not view.provenance.self_assessed
    event = ElementAssessmentEvent.objects.filter(assessment=row).last()
    assert (event.verified, event.actor, event.verified_level) == (True, org.manager_a, "confirmed")
    with pytest.raises(InvalidChange, match="not awaiting"):
        assessment_verify(
            user=org.manager_a,
            opportunity_id=deal.pk,
            pack="meddpicc",
            element="decision_process",
            expected_version=row.version,
        )
    # the rep scoring again is a new claim: the verification is gone
    row = score(org.rep_a1, deal, "confirmed", row.version)
    assert (row.verified_level, row.verified_by) == ("partial", None)
    assert criterion(org.rep_a1, deal).status == "unmet"


def test_a_managers_own_score_counts(org: Org, deal: Opportunity):
    row = score(org.manager_a, deal, "confirmed")
    assert (row.verified_level, row.verified_by) == ("confirmed", org.manager_a)
    assert criterion(org.rep_a1, deal).status == "met"


def test_the_api_and_the_page_record_a_reps_top_score_as_a_claim(org: Org, deal: Opportunity):
    client = api_client(org.rep_a1)
    path = f"{API}/opportunities/{deal.pk}/methodology/meddpicc/decision_process"
    response = client.put(path, json.dumps({"level": "confirmed"}), content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert (body["level"], body["verified_level"], body["awaiting_verification"]) == (
        "confirmed",
        "partial",
        True,
    )
    page = Client()
    page.force_login(org.rep_a1)
    url = reverse("methodology:element_save", args=[deal.pk, "meddpicc", "decision_process"])
    response = page.post(url, {"level": "confirmed", "version": 1, "notes": "again"}, **HTMX)
    assert response.status_code == 200
    assert "awaiting a manager" in response.content.decode()
    assert ElementAssessment.objects.get().verified_level == "partial"
    # bad input on the verify endpoint names the field
    bad = client.post(
        f"{path}/verify", json.dumps({"version": "x"}), content_type="application/json"
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "version"


def test_a_process_may_change_what_reps_may_set(processes: None):
    text = (DEFAULTS_DIR / "new_business.yaml").read_text()
    definition = ProcessDef.model_validate(
        {
            **ProcessDef.model_validate(_yaml(text)).canonical(),
            "methodologies": [
                {"pack": "spin"},
                {"pack": "meddpicc", "rep_up_to": "sure"},
                {"pack": "strategic_selling"},
            ],
        }
    )
    errors = check_process_packs(definition, pack_definitions())
    assert [e.location for e in errors] == ["methodologies > [2] > rep_up_to"]


def _yaml(text: str):
    import yaml

    return yaml.safe_load(text)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_verify_probes(org: Org, deal: Opportunity, viewer: str):
    score(org.rep_a1, deal, "confirmed")
    client = api_client(getattr(org, viewer))
    api_path = f"{API}/opportunities/{deal.pk}/methodology/meddpicc/decision_process/verify"
    page = reverse("methodology:element_verify", args=[deal.pk, "meddpicc", "decision_process"])
    response = client.post(api_path, json.dumps({"version": 1}), content_type="application/json")
    expected = 200 if viewer in VERIFIES else (422 if viewer in SEES else 404)
    assert response.status_code == expected
    response = client.post(page, {"version": ElementAssessment.objects.get().version}, **HTMX)
    # verified already (200 above) → nothing awaits: 422; the owner: 422; hidden: 404
    assert response.status_code == (422 if viewer in SEES else 404)
    row = ElementAssessment.objects.get()
    if viewer in VERIFIES:
        assert row.verified_level == "confirmed"
    else:
        assert (row.verified_level, row.version) == ("partial", 1)


def test_the_migration_fills_verified_levels(org: Org, deal: Opportunity):
    migration = importlib.import_module("milepost.methodology.migrations.0005_fill_verified_levels")
    now = timezone.now()
    rows = {
        element: ElementAssessment.objects.create(
            opportunity=deal,
            pack="meddpicc",
            element=element,
            level=level,
            updated_by=by,
            updated_at=now,
        )
        for element, level, by in [
            ("decision_process", "confirmed", org.rep_a1),  # the owner's top score: a claim
            ("metrics", "partial", org.rep_a1),
            ("champion", "confirmed", org.manager_a),  # a manager's: counts
        ]
    }
    assert migration.fill_verified_levels(apps) == 1
    got = {
        r.element: r for r in ElementAssessment.objects.filter(pk__in=[r.pk for r in rows.values()])
    }
    assert (got["decision_process"].level, got["decision_process"].verified_level) == (
        "confirmed",
        "partial",
    )
    assert got["metrics"].verified_level == "partial"
    assert (got["champion"].verified_level, got["champion"].verified_by_id) == (
        "confirmed",
        org.manager_a.pk,
    )
    assert criterion(org.rep_a1, deal).status == "unmet"
