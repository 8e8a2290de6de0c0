"""The command line, the exports and lead conversion, over a small world built once.

World: every seller of the test organisation has one deal created in *engage* twenty days ago;
rep_a1's is won ten days ago. rep_a1 has three leads created this month (two converted into
deals, one of which — the won deal — is won), rep_b1 one lead, never converted.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from milepost.analytics.filters import AnalyticsFilters
from milepost.analytics.selectors import conversion_report
from milepost.pipeline.models import Lead, Opportunity
from milepost.testing.factories import ensure_default_processes, make_opportunity, make_org
from milepost.testing.moves import move_as_read
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db

SELLERS = ["rep_a1", "rep_a2", "rep_b1", "rep_solo", "manager_a", "manager_b"]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with shared_world(django_db_blocker):
        ensure_default_processes()
        org = make_org()
        now = timezone.now()
        deals = {
            name: make_opportunity(
                getattr(org, name), name=f"Deal of {name}", at=now - timedelta(days=20)
            )
            for name in SELLERS
        }
        move_as_read(
            user=org.admin,
            opportunity_id=deals["rep_a1"].pk,
            to_stage_key="won",
            at=now - timedelta(days=10),
            justification="Signed order received from the buyer",
        )
        spare = make_opportunity(org.rep_a1, name="Second deal", at=now - timedelta(days=5))
        for i, (owner, deal) in enumerate(
            [
                (org.rep_a1, deals["rep_a1"]),
                (org.rep_a1, spare),
                (org.rep_a1, None),
                (org.rep_b1, None),
            ]
        ):
            lead = Lead.objects.create(
                owner=owner,
                company=f"Lead {i}",
                source="web",
                created_at=now - timedelta(days=25),
                converted_at=(now - timedelta(days=21)) if deal else None,
            )
            if deal is not None:
                Opportunity.objects.filter(pk=deal.pk).update(lead=lead)
        yield org


def test_lead_conversion_counts_visible_leads(world):
    admin = conversion_report(user=world.admin, filters=AnalyticsFilters()).leads
    assert (admin.leads, admin.converted, admin.won) == (4, 2, 1)
    assert admin.lead_to_opportunity.value == 0.5
    assert admin.lead_to_won.too_few
    rep = conversion_report(user=world.rep_b1, filters=AnalyticsFilters()).leads
    assert (rep.leads, rep.converted, rep.won) == (1, 0, 0)
    manager = conversion_report(user=world.manager_a, filters=AnalyticsFilters()).leads
    assert manager.leads == 3


def test_cli_prints_every_table(world):
    out = io.StringIO()
    call_command("analytics", "conversion", stdout=out)
    text = out.getvalue()
    for name in ("[cohorts]", "[funnel]", "[win_rate]", "[leads]"):
        assert name in text
    assert "for Admin Admin" in text


def test_cli_writes_csv_scoped_to_the_user(world, tmp_path):
    target = tmp_path / "funnel.csv"
    call_command("analytics", "conversion", "--csv", str(target), "--table", "funnel")
    rows = list(csv.reader(target.open()))
    assert rows[0][:2] == ["Stage", "Deals"]
    assert rows[1][1] == str(len(SELLERS) + 1)  # every deal entered the first stage
    out = io.StringIO()
    call_command(
        "analytics", "conversion", "--csv", "-", "--table", "funnel", "--as", "rep_b1", stdout=out
    )
    assert list(csv.reader(io.StringIO(out.getvalue())))[1][1] == "1"


def test_cli_velocity_and_waterfall(world):
    out = io.StringIO()
    call_command("analytics", "velocity", "--every", "quarter", stdout=out)
    assert "[time_in_stage]" in out.getvalue()
    assert "[trend]" in out.getvalue()
    out = io.StringIO()
    call_command("analytics", "waterfall", "--csv", "-", stdout=out)
    assert out.getvalue().splitlines()[0] == "Bar,Deals,Count change,Amount change"


def test_cli_refuses_bad_filters_like_the_api(world):
    with pytest.raises(CommandError, match=r"date_to: .*ends before it starts"):
        call_command("analytics", "conversion", "--from", "2026-05-01", "--to", "2026-01-01")
    with pytest.raises(CommandError, match="no active user"):
        call_command("analytics", "conversion", "--as", "nobody")
    with pytest.raises(CommandError, match="no table"):
        call_command("analytics", "conversion", "--csv", "-", "--table", "nope")


def test_page_exports_csv_and_xlsx(world, client_for):
    client = client_for(world.admin)
    page = reverse("analytics:conversion")
    response = client.get(page, {"format": "csv", "table": "win_rate"})
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[1].startswith("1,0,")  # rep_a1's deal won, none lost
    response = client.get(page, {"format": "xlsx"})
    assert response["Cache-Control"].startswith("no-store")
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    assert len(book.sheetnames) >= 4
    assert client.get(page, {"format": "csv", "table": "nope"}).status_code == 404
