"""One number of days in stage for a deal: its page's header, its risk table, the inspection
and the 1:1 agenda all show the same (they used to differ by one, calendar vs elapsed days)."""

from __future__ import annotations

import re
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from milepost.coaching.agenda.services import agenda_draft
from milepost.inspection.pipeline import inspect_pipeline
from milepost.pipeline.models import Opportunity
from milepost.testing.factories import make_opportunity

STALLED = re.compile(r"(\d+) days in ")


def test_header_risk_table_inspection_and_agenda_agree(org, processes, client_for):
    opp = make_opportunity(org.rep_a1, name="Long deal", close_in_days=40)
    # Entered one hour later in the day than now, 101 dates ago: 100 whole days have elapsed,
    # while counting calendar dates says 101 (unless the test runs in the day's last hour).
    entered = timezone.now() - timedelta(days=100, hours=23)
    Opportunity.objects.filter(pk=opp.pk).update(stage_entered_at=entered)

    html = client_for(org.manager_a).get(reverse("pipeline:detail", args=[opp.pk])).content
    page = html.decode()
    header = re.search(r"In stage</dt>\s*<dd>(\d+)", page)
    risk_table = STALLED.findall(page)
    result = inspect_pipeline(user=org.manager_a, opportunity_ids=[opp.pk])
    inspection = STALLED.findall(" ".join(r or "" for r in result.signals["reason"].to_list()))
    draft, _ = agenda_draft(manager=org.manager_a, rep_id=org.rep_a1.pk)
    agenda = STALLED.findall(repr(draft))

    assert header is not None
    shown = {header.group(1), *risk_table, *inspection, *agenda}
    assert risk_table, "the stalled signal is not in the risk table"
    assert inspection, "the stalled signal is not in the inspection"
    assert agenda, "the stalled signal is not on the agenda"
    assert shown == {"100"}
