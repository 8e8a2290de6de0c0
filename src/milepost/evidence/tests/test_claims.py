"""No self-certified buyer confirmation: every write path probed as a rep, acceptance by a
manager, an admin or a rule, rejection, buyer actions, artefacts (parsing, bounds, downloads),
the claims queue, and the migration that turned self-certified rows into claims.

Permission probes for every new page and endpoint as the owner (rep_a1), another rep (rep_b1),
the owner's manager (manager_a), another manager (manager_b) and an admin."""

from __future__ import annotations

import importlib
import json
from datetime import date

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from milepost.core.errors import InvalidChange
from milepost.evidence.models import AcceptanceRule, Artefact, Evidence, EvidenceEvent
from milepost.evidence.services import (
    acceptance_rule_set,
    evidence_accept,
    evidence_record,
    evidence_record_buyer_action,
    evidence_reject_claim,
)
from milepost.inspection.deal import explain_criteria
from milepost.pipeline.models import Opportunity
from milepost.testing.clients import api_client
from milepost.testing.factories import Org, make_account, make_contact, make_opportunity
from milepost.testing.probes import probed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

API = "/api/v1"
KEY = "problem_and_cost_confirmed"  # discover, verifier buyer, no rule
HTMX = {"HTTP_HX_REQUEST": "true"}
EML = (
    b"From: Bea Buyer <bea@acme.example>\r\n"
    b"To: rep@seller.example\r\n"
    b"Date: Mon, 30 Nov 2026 09:15:00 +0100\r\n"
    b"Subject: Re: our discovery recap\r\n\r\n"
    b"Yes, the 40k a month is right.\r\n"
)
PDF = b"%PDF-1.4\n%signed\n"
VIEWERS = ("rep_a1", "rep_b1", "manager_a", "manager_b", "admin")
SEES = {"rep_a1", "manager_a", "admin"}  # who may see rep_a1's deal
REVIEWS = {"manager_a", "admin"}  # who may accept or reject its claims

PROBED = probed(
    ("post", "/pipeline/opportunities/1/evidence/k/accept/"),
    ("post", "/pipeline/opportunities/1/evidence/k/reject-claim/"),
    ("get", "/pipeline/opportunities/1/evidence/artefacts/1/"),
    ("get", "/inspection/claims/"),
    ("get", "/inspection/evidence-rules/"),
    ("post", "/inspection/evidence-rules/"),
    ("post", "/inspection/claims/1/accept/"),
    ("post", "/inspection/claims/1/reject/"),
    ("post", f"{API}/opportunities/1/evidence/k/upload"),
    ("post", f"{API}/opportunities/1/evidence/k/accept"),
    ("post", f"{API}/opportunities/1/evidence/k/reject-claim"),
    ("get", f"{API}/evidence/claims"),
    ("get", f"{API}/evidence/artefacts/1/file"),
    ("get", f"{API}/evidence/rules"),
    ("put", f"{API}/evidence/rules/email_from_account_domain"),
)


@pytest.fixture
def deal(buyer_deal: Opportunity) -> Opportunity:
    return buyer_deal


def bea(deal: Opportunity):
    return deal.account.contacts.get(first_name="Bea")


def status(user, deal: Opportunity) -> tuple[str, str, str]:
    explanation = explain_criteria(user=user, opportunity_id=deal.pk)
    view = next(c for s in explanation.stages for c in s.criteria if c.criterion.id == KEY)
    return view.status, view.reason, view.provenance.by


def claim(user, deal: Opportunity, **extra) -> Evidence:
    values = dict(
        user=user,
        opportunity_id=deal.pk,
        criterion_key=KEY,
        note="The buyer confirmed the cost",
        buyer_confirmed=True,
        confirmed_by_id=bea(deal).pk,
        artefact_kind="email",
        artefact_file=SimpleUploadedFile("recap.eml", EML, "message/rfc822"),
    )
    values.update(extra)
    return evidence_record(**values)


def api(client: Client, method: str, path: str, body: dict | None = None):
    if method == "get":
        return client.get(f"{API}{path}")
    return getattr(client, method)(
        f"{API}{path}", data=json.dumps(body or {}), content_type="application/json"
    )


# --- a rep cannot make buyer-level evidence on any write path ---------------------------------


def test_every_write_path_leaves_a_reps_buyer_claim_pending(org: Org, deal: Opportunity) -> None:
    rep = api_client(org.rep_a1)
    ev = f"/opportunities/{deal.pk}/evidence/{KEY}"
    base = {
        "note": "Buyer confirmed the cost",
        "buyer_confirmed": True,
        "confirmed_by": bea(deal).pk,
        "evidence_date": date.today().isoformat(),
    }
    # JSON without an artefact: refused; with a pasted e-mail or meeting notes: pending
    assert api(rep, "put", ev, base).status_code == 422
    pasted = EML.decode()
    response = api(rep, "put", ev, {**base, "artefact_kind": "email", "artefact_text": pasted})
    assert response.status_code == 201, response.content
    notes = "Bea Buyer confirmed the 40k monthly cost in the review."
    response = api(
        rep,
        "put",
        ev,
        {**base, "artefact_kind": "meeting_notes", "artefact_text": notes, "version": 1},
    )
    assert response.status_code == 200
    # multipart upload of an .eml and of a signed document
    for version, (name, content, kind) in enumerate(
        [("recap.eml", EML, "email"), ("signed.pdf", PDF, "document")], start=2
    ):
        form = {**base, "artefact_kind": kind, "version": version, "buyer_confirmed": "true"}
        form["file"] = SimpleUploadedFile(name, content)
        response = rep.post(f"{API}{ev}/upload", data=form)
        assert response.status_code == 200, response.content
    # the page's form
    page = Client()
    page.force_login(org.rep_a1)
    response = page.post(
        reverse("evidence:record", args=[deal.pk, KEY]),
        {
            "note": "Buyer confirmed it",
            "buyer_confirmed": "1",
            "confirmed_by": bea(deal).pk,
            "artefact_kind": "email",
            "artefact_file": SimpleUploadedFile("recap.eml", EML),
            "version": 4,
        },
        **HTMX,
    )
    assert response.status_code == 200
    evidence = Evidence.objects.get()
    assert (evidence.level, evidence.buyer_claim, evidence.version) == ("rep", "pending", 5)
    assert not Evidence.objects.filter(level="buyer").exists()
    # and the rep cannot accept, verify or clear a rejection of their own claim
    for path in ("accept", "verify"):
        assert api(rep, "post", f"{ev}/{path}", {"version": 5}).status_code == 422
    assert (
        page.post(
            reverse("evidence:accept", args=[deal.pk, KEY]), {"version": 5}, **HTMX
        ).status_code
        == 422
    )
    evidence.refresh_from_db()
    assert (evidence.level, evidence.buyer_claim) == ("rep", "pending")
    assert status(org.rep_a1, deal) == (
        "unknown",
        "buyer confirmation claimed, awaiting verification",
        "rep_pending",
    )


def test_the_eml_is_parsed_for_sender_date_and_subject(org: Org, deal: Opportunity) -> None:
    evidence = claim(org.rep_a1, deal, evidence_date=None)
    artefact = evidence.artefact
    assert (artefact.kind, artefact.email_from, artefact.email_subject) == (
        "email",
        "bea@acme.example",
        "Re: our discovery recap",
    )
    assert artefact.email_date.isoformat() == "2026-11-30T08:15:00+00:00"
    assert evidence.evidence_date == date(2026, 11, 30)  # taken from the e-mail
    assert artefact.file_name == "recap.eml"
    assert artefact.size == len(EML)
    assert not artefact.file.name.endswith("recap.eml")  # stored under a random name


@pytest.mark.parametrize(
    ("kind", "name", "content", "field"),
    [
        ("document", "contract.html", b"<script>", "artefact_file"),
        ("document", "contract.pdf", b"not a pdf", "artefact_file"),
        ("email", "recap.txt", EML, "artefact_file"),
        ("email", "recap.eml", b"no headers here", "artefact_file"),
        ("email", "recap.eml", b"From: a@b.example\r\n\r\nno date", "artefact_file"),
        ("document", "big.pdf", b"%PDF-" + b"0" * 2_000_000, "artefact_file"),
        ("meeting_notes", "notes.pdf", PDF, "artefact_file"),
    ],
)
def test_bad_artefacts_are_refused_naming_the_field_and_store_nothing(
    org: Org, deal: Opportunity, kind: str, name: str, content: bytes, field: str, settings
) -> None:
    with pytest.raises(InvalidChange) as excinfo:
        claim(
            org.rep_a1,
            deal,
            artefact_kind=kind,
            artefact_file=SimpleUploadedFile(name, content),
            artefact_text="Notes long enough to count as notes." if kind == "meeting_notes" else "",
        )
    assert excinfo.value.field == field
    assert not Evidence.objects.exists()
    assert not Artefact.objects.exists()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_api_upload_of_a_bad_file_is_a_422_naming_it(org: Org, deal: Opportunity) -> None:
    response = api_client(org.rep_a1).post(
        f"{API}/opportunities/{deal.pk}/evidence/{KEY}/upload",
        data={
            "note": "Signed",
            "artefact_kind": "document",
            "file": SimpleUploadedFile("x.pdf", b"nope"),
        },
    )
    assert response.status_code == 422
    assert response.json()["field"] == "artefact_file"


# --- acceptance: manager, admin, rule; rejection ------------------------------------------------


@pytest.mark.parametrize("reviewer", ["manager_a", "leader", "admin"])
def test_a_manager_above_the_owner_or_an_admin_accepts(
    org: Org, deal: Opportunity, reviewer
) -> None:
    evidence = claim(org.rep_a1, deal)
    evidence = evidence_accept(
        user=getattr(org, reviewer),
        opportunity_id=deal.pk,
        criterion_key=KEY,
        expected_version=evidence.version,
    )
    assert (evidence.level, evidence.buyer_claim) == ("buyer", "accepted")
    assert status(org.rep_a1, deal)[::2] == ("met", "artefact_manager")
    event = EvidenceEvent.objects.filter(evidence=evidence).last()
    assert (event.action, event.actor, event.level) == ("accepted", getattr(org, reviewer), "buyer")


def test_rejecting_a_claim_reverts_it_to_the_reps_level(org: Org, deal: Opportunity) -> None:
    evidence = claim(org.rep_a1, deal)
    evidence = evidence_accept(
        user=org.manager_a, opportunity_id=deal.pk, criterion_key=KEY, expected_version=1
    )
    with pytest.raises(InvalidChange):
        evidence_reject_claim(
            user=org.manager_a,
            opportunity_id=deal.pk,
            criterion_key=KEY,
            reason=" ",
            expected_version=evidence.version,
        )
    evidence = evidence_reject_claim(
        user=org.manager_a,
        opportunity_id=deal.pk,
        criterion_key=KEY,
        reason="That e-mail is about another project",
        expected_version=evidence.version,
    )
    assert (evidence.level, evidence.buyer_claim, evidence.state) == ("rep", "rejected", "active")
    assert status(org.rep_a1, deal) == (
        "unknown",
        "buyer confirmation rejected: That e-mail is about another project",
        "rep",
    )
    event = EvidenceEvent.objects.filter(evidence=evidence).last()
    assert (event.action, event.reason) == (
        "claim_rejected",
        "That e-mail is about another project",
    )
    # a rejected claim may be accepted after all (the manager changed their mind)
    evidence = evidence_accept(
        user=org.manager_a,
        opportunity_id=deal.pk,
        criterion_key=KEY,
        expected_version=evidence.version,
    )
    assert evidence.level == "buyer"


def test_a_claim_without_artefact_cannot_be_accepted(org: Org, deal: Opportunity) -> None:
    evidence = claim(org.rep_a1, deal)
    Evidence.objects.filter(pk=evidence.pk).update(artefact=None)
    with pytest.raises(InvalidChange, match="no artefact"):
        evidence_accept(
            user=org.manager_a, opportunity_id=deal.pk, criterion_key=KEY, expected_version=1
        )


def test_a_manager_recording_with_an_artefact_accepts_it(org: Org, deal: Opportunity) -> None:
    evidence = claim(org.manager_a, deal)
    assert (evidence.level, evidence.buyer_claim, evidence.verified_by) == (
        "buyer",
        "accepted",
        org.manager_a,
    )


def test_the_domain_rule_accepts_an_email_from_the_accounts_domain(
    org: Org, deal: Opportunity
) -> None:
    with pytest.raises(Exception, match="admins"):
        acceptance_rule_set(
            user=org.manager_a,
            kind="email_from_account_domain",
            enabled=True,
            expected_version=None,
        )
    acceptance_rule_set(
        user=org.admin, kind="email_from_account_domain", enabled=True, expected_version=None
    )
    evidence = claim(org.rep_a1, deal)
    assert (evidence.level, evidence.buyer_claim, evidence.accepted_by_rule) == (
        "buyer",
        "accepted",
        "email_from_account_domain",
    )
    assert status(org.rep_a1, deal)[::2] == ("met", "artefact_rule")
    actions = list(EvidenceEvent.objects.filter(evidence=evidence).values_list("action", "actor"))
    assert actions == [("recorded", org.rep_a1.pk), ("accepted", None)]
    # an e-mail from elsewhere stays a claim
    other = EML.replace(b"bea@acme.example", b"bea@gmail.example")
    evidence = claim(
        org.rep_a1,
        deal,
        artefact_file=SimpleUploadedFile("r.eml", other),
        expected_version=evidence.version,
    )
    assert (evidence.level, evidence.buyer_claim) == ("rep", "pending")
    # switched off, the rule accepts nothing more
    acceptance_rule_set(
        user=org.admin, kind="email_from_account_domain", enabled=False, expected_version=1
    )
    evidence = claim(org.rep_a1, deal, expected_version=evidence.version)
    assert evidence.buyer_claim == "pending"


def test_a_buyer_action_is_buyer_confirmed(org: Org, deal: Opportunity) -> None:
    evidence = evidence_record_buyer_action(
        opportunity_id=deal.pk,
        criterion_key=KEY,
        contact_id=bea(deal).pk,
        note="Bea accepted the step 'confirm the cost' in the shared plan",
    )
    assert (evidence.level, evidence.source, evidence.recorded_by) == (
        "buyer",
        "buyer_action",
        None,
    )
    assert status(org.rep_a1, deal)[::2] == ("met", "buyer_action")
    stranger = make_contact(make_account(owner=org.rep_a1))
    with pytest.raises(InvalidChange):
        evidence_record_buyer_action(
            opportunity_id=deal.pk, criterion_key=KEY, contact_id=stranger.pk, note="Not theirs"
        )
    # The one schema of this input: bounds, NUL bytes and the id, each named.
    for bad_note in ("ok", "x" * 4001, "Accepted\x00 the step"):
        with pytest.raises(InvalidChange) as refused:
            evidence_record_buyer_action(
                opportunity_id=deal.pk, criterion_key=KEY, contact_id=bea(deal).pk, note=bad_note
            )
        assert refused.value.field == "note", bad_note
    with pytest.raises(InvalidChange) as refused:
        evidence_record_buyer_action(
            opportunity_id=deal.pk, criterion_key=KEY, contact_id=0, note="Accepted the step"
        )
    assert refused.value.field == "contact_id"
    with pytest.raises(InvalidChange, match="themselves"):
        evidence_reject_claim(
            user=org.manager_a,
            opportunity_id=deal.pk,
            criterion_key=KEY,
            reason="no way",
            expected_version=evidence.version,
        )


# --- permission probes of the new pages and endpoints -------------------------------------------


@pytest.mark.parametrize("viewer", VIEWERS)
def test_accept_and_reject_claim_probes(org: Org, deal: Opportunity, viewer: str) -> None:
    evidence = claim(org.rep_a1, deal)
    user = getattr(org, viewer)
    client = api_client(user)
    ev = f"/opportunities/{deal.pk}/evidence/{KEY}"
    expected = 200 if viewer in REVIEWS else (422 if viewer in SEES else 404)
    # API accept, page reject-claim, queue accept / reject
    assert api(client, "post", f"{ev}/accept", {"version": 1}).status_code == expected
    version = Evidence.objects.get().version
    page = reverse("evidence:reject_claim", args=[deal.pk, KEY])
    response = client.post(page, {"version": version, "reason": "Not the buyer"}, **HTMX)
    assert response.status_code == expected
    version = Evidence.objects.get().version
    response = api(client, "post", f"{ev}/reject-claim", {"version": version, "reason": "Nope"})
    assert response.status_code == (422 if viewer in SEES else 404)  # already rejected / owner
    queue = reverse("inspection:claim_accept", args=[evidence.pk])
    assert client.post(queue, {"version": version}, **HTMX).status_code == expected
    version = Evidence.objects.get().version
    queue = reverse("inspection:claim_reject", args=[evidence.pk])
    response = client.post(queue, {"version": version, "reason": "Wrong person"}, **HTMX)
    assert response.status_code == expected
    final = Evidence.objects.get()
    if viewer in REVIEWS:
        assert (final.level, final.buyer_claim) == ("rep", "rejected")
    else:
        assert (final.level, final.buyer_claim, final.version) == ("rep", "pending", 1)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_artefact_download_probes(org: Org, deal: Opportunity, viewer: str) -> None:
    evidence = claim(org.rep_a1, deal)
    client = api_client(getattr(org, viewer))
    page = client.get(reverse("evidence:artefact", args=[deal.pk, evidence.artefact_id]))
    file = client.get(f"{API}/evidence/artefacts/{evidence.artefact_id}/file")
    if viewer in SEES:
        for response in (page, file):
            assert response.status_code == 200
            assert b"".join(response.streaming_content) == EML
            assert response["Content-Disposition"].startswith("attachment")
    else:
        assert (page.status_code, file.status_code) == (404, 404)
    # the id of another deal's page does not serve it either
    other = make_opportunity(owner=org.rep_a1)
    assert (
        client.get(reverse("evidence:artefact", args=[other.pk, evidence.artefact_id])).status_code
        == 404
    )


@pytest.mark.parametrize("viewer", VIEWERS)
def test_claims_queue_probes(org: Org, deal: Opportunity, viewer: str) -> None:
    claim(org.rep_a1, deal)
    b_deal = make_opportunity(owner=org.rep_b1, stage_key="negotiate")
    make_contact(b_deal.account, first="Bea", last="Other")
    claim(org.rep_b1, b_deal)
    client = api_client(getattr(org, viewer))
    rows = api(client, "get", "/evidence/claims").json()
    seen = {r["opportunity_id"] for r in rows}
    expected = {
        "rep_a1": set(),  # one's own claims are someone else's to review
        "rep_b1": set(),
        "manager_a": {deal.pk},
        "manager_b": {b_deal.pk},
        "admin": {deal.pk, b_deal.pk},
    }[viewer]
    assert seen == expected
    html = client.get(reverse("inspection:claims"), **HTMX).content.decode()
    assert (deal.name in html) == (deal.pk in expected)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_rule_endpoints_are_for_admins(org: Org, viewer: str) -> None:
    client = api_client(getattr(org, viewer))
    listing = api(client, "get", "/evidence/rules")
    put = api(client, "put", "/evidence/rules/email_from_account_domain", {"enabled": True})
    if viewer == "admin":
        assert (listing.status_code, put.status_code) == (200, 200)
        assert put.json()["enabled"] is True
    else:
        assert (listing.status_code, put.status_code) == (403, 403)
        assert not AcceptanceRule.objects.exists()
    assert api(client, "put", "/evidence/rules/nope", {"enabled": True}).status_code in (403, 404)
    page = client.get(reverse("inspection:evidence_rules"))
    assert page.status_code == (200 if viewer == "admin" else 403)
    version = AcceptanceRule.objects.get().version if viewer == "admin" else ""
    posted = client.post(
        reverse("inspection:evidence_rules"),
        {"kind": "email_from_account_domain", "version": version},  # unticked: off
    )
    assert posted.status_code == (302 if viewer == "admin" else 403)
    if viewer == "admin":
        assert AcceptanceRule.objects.get().enabled is False
        stale = client.post(
            reverse("inspection:evidence_rules"),
            {"kind": "email_from_account_domain", "enabled": "1", "version": 1},
        )
        assert stale.status_code == 409
    assert (
        api(
            client, "put", "/evidence/rules/email_from_account_domain", {"enabled": "x"}
        ).status_code
        == 422
    )


# --- the migration ------------------------------------------------------------------------------


def test_the_migration_turns_self_certified_rows_into_claims(org: Org, processes: None) -> None:
    migration = importlib.import_module(
        "milepost.evidence.migrations.0004_self_certified_evidence_to_claims"
    )
    now = timezone.now()
    deal = make_opportunity(owner=org.rep_a1, stage_key="negotiate")
    contact = make_contact(deal.account)

    def row(key, **extra):
        values = dict(
            opportunity=deal,
            criterion_key=key,
            state="active",
            level="buyer",
            note="Old",
            confirmed_by=contact,
            recorded_by=org.rep_a1,
            recorded_at=now,
            updated_at=now,
        )
        values.update(extra)
        return Evidence.objects.create(**values)

    self_certified = row("a")
    verified = row("b", verified_by=org.manager_a, verified_at=now)
    by_manager = row("c", recorded_by=org.manager_a)
    rep_level = row("d", level="rep")
    rejected = row("e", state="rejected", rejection_reason="no")
    changed = migration.claims_from_self_certification(apps)
    assert changed == 3
    got = {e.criterion_key: e for e in Evidence.objects.all()}
    assert (got["a"].level, got["a"].buyer_claim, got["a"].version) == ("rep", "pending", 2)
    assert (got["b"].level, got["b"].buyer_claim, got["b"].version) == ("buyer", "accepted", 1)
    assert (got["c"].level, got["c"].buyer_claim, got["c"].source) == (
        "manager",
        "pending",
        "manager",
    )
    assert got["c"].verified_by_id == org.manager_a.pk
    assert (got["d"].level, got["d"].buyer_claim) == ("rep", "")
    assert (got["e"].level, got["e"].buyer_claim, got["e"].state) == ("rep", "pending", "rejected")
    events = EvidenceEvent.objects.filter(action="migrated")
    assert {e.evidence_id for e in events} == {self_certified.pk, by_manager.pk, rejected.pk}
    assert not Evidence.objects.filter(level="buyer", buyer_claim="").exists()
    assert Evidence.objects.get(pk=verified.pk).level == "buyer"
    assert Evidence.objects.get(pk=rep_level.pk).version == 1
    # reversible
    migration.back_to_buyer(apps)
    assert Evidence.objects.get(pk=self_certified.pk).level == "buyer"
