"""``milepost prune_artefacts``: files no artefact names (a write rolled back after storing its
file) go once they are old enough; named files and young files stay."""

from __future__ import annotations

import os
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from milepost.evidence.models import Artefact
from milepost.evidence.services import evidence_record
from milepost.testing.factories import Org, make_account, make_contact, make_opportunity

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

PDF = b"%PDF-1.4\n%signed\n"


def _record(org: Org, deal, *, fail: bool = False) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    with transaction.atomic():
        evidence_record(
            user=org.rep_a1,
            opportunity_id=deal.pk,
            criterion_key="problem_and_cost_confirmed",
            note="Signed problem statement",
            evidence_date=None,
            buyer_confirmed=False,
            artefact_kind="document",
            artefact_file=SimpleUploadedFile("signed.pdf", PDF),
        )
        if fail:  # what fails after the file is stored: the rows go, the file stays
            transaction.set_rollback(True)


def _age(path, seconds: int) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_only_old_unnamed_files_are_deleted(org: Org, processes: None, settings):
    account = make_account(owner=org.rep_a1)
    make_contact(account)
    deal = make_opportunity(owner=org.rep_a1, account=account, stage_key="discover")
    _record(org, deal, fail=True)
    (left,) = (settings.MEDIA_ROOT / "evidence").rglob("*.pdf")
    assert not Artefact.objects.exists()
    _record(org, deal)
    kept = settings.MEDIA_ROOT / Artefact.objects.get().file.name
    young = left.with_name("young.pdf")
    young.write_bytes(PDF)
    _age(left, 2 * 3600)
    _age(kept, 2 * 3600)

    out = StringIO()
    call_command("prune_artefacts", "--dry-run", stdout=out)
    assert "1 unreferenced artefact file(s) would delete" in out.getvalue()
    assert left.exists()

    call_command("prune_artefacts", stdout=StringIO())
    assert (left.exists(), kept.exists(), young.exists()) == (False, True, True)
    call_command("prune_artefacts", "--older-than-minutes", "0", stdout=StringIO())
    assert (kept.exists(), young.exists()) == (True, False)
