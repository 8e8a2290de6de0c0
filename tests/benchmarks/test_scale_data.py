"""The scale generator and bulk loader, on a small pipeline written to the test database.

Same code path as ``bin/bench`` (``load_pipeline`` through the Django connection): COPY on
PostgreSQL, executemany on SQLite.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from benchmarks.load import load_pipeline
from benchmarks.scale_data import Batch, ScaleConfig
from django.db import connection

from milepost.accounts.models import Account, Contact
from milepost.evidence.models import Evidence
from milepost.pipeline.models import (
    Activity,
    Opportunity,
    OpportunityChange,
    OpportunityContact,
    StageTransition,
)
from milepost.process.models import Stage
from milepost.team.models import Role, User
from milepost.testing.factories import load_default_processes

CONFIG = ScaleConfig(
    opportunities=300, seed=7, as_of=date(2026, 11, 23), managers=2, reps_per_manager=3,
    chunk_size=120,
)  # fmt: skip
MODELS = {
    "team_user": User,
    "accounts_account": Account,
    "accounts_contact": Contact,
    "pipeline_opportunity": Opportunity,
    "pipeline_stagetransition": StageTransition,
    "pipeline_opportunitycontact": OpportunityContact,
    "pipeline_activity": Activity,
    "pipeline_activity_contacts": Activity.contacts.through,
    "pipeline_opportunitychange": OpportunityChange,
    "evidence_evidence": Evidence,
}


@pytest.fixture
def loaded(db):
    """Given the default processes and an existing user (ids must start past it), when the
    pipeline is loaded."""
    load_default_processes()
    User.objects.create_user(username="already.here", role=Role.REP)
    batches: list[Batch] = []
    stats = load_pipeline(connection, CONFIG, on_batch=batches.append)
    frames: dict[str, list[pl.DataFrame]] = {}
    for batch in batches:
        for table, frame in batch.frames:
            frames.setdefault(table, []).append(frame)
    return stats, {t: pl.concat(f) for t, f in frames.items()}


def test_row_counts_match_the_generated_frames(loaded):
    stats, frames = loaded
    assert len(frames["pipeline_opportunity"]) == CONFIG.opportunities
    assert len(frames["accounts_account"]) == CONFIG.accounts
    for table, model in MODELS.items():
        expected = frames[table].height + (1 if table == "team_user" else 0)
        assert model.objects.count() == expected, table
        assert stats.rows[table] == frames[table].height
    # The pipeline has real history, not just one row per deal.
    assert StageTransition.objects.count() > 2 * CONFIG.opportunities
    assert Activity.objects.count() > CONFIG.opportunities
    assert Evidence.objects.filter(state="rejected").exists()
    ids = set(frames["team_user"]["id"].to_list())
    assert User.objects.get(username="already.here").pk not in ids


def test_transitions_stay_in_the_process_and_end_at_the_current_stage(loaded):
    version_ids = set(Stage.objects.filter(opportunities__isnull=False).values_list("version_id"))
    assert len(version_ids) == 1
    version_id = version_ids.pop()[0]
    assert not StageTransition.objects.exclude(to_stage__version_id=version_id).exists()
    assert (
        not StageTransition.objects.exclude(from_stage__isnull=True)
        .exclude(from_stage__version_id=version_id)
        .exists()
    )
    last_to = {}
    for opp_id, to_id in StageTransition.objects.order_by(
        "opportunity_id", "moved_at", "id"
    ).values_list("opportunity_id", "to_stage_id"):
        last_to[opp_id] = to_id
    current = dict(Opportunity.objects.values_list("id", "stage_id"))
    assert last_to == current
    first = StageTransition.objects.filter(from_stage__isnull=True)
    assert first.count() == CONFIG.opportunities


def test_contacts_belong_to_the_deals_account(loaded):
    links = Activity.contacts.through.objects
    assert links.exists()
    mismatched = [
        (a, c)
        for a, c, deal_account in links.values_list(
            "activity__opportunity_id", "contact__account_id", "activity__opportunity__account_id"
        )
        if c != deal_account
    ]
    assert mismatched == []
    roles = OpportunityContact.objects.values_list("contact__account_id", "opportunity__account_id")
    assert all(c == o for c, o in roles)
    # Every activity contact is one of the deal's role contacts.
    role_pairs = set(OpportunityContact.objects.values_list("opportunity_id", "contact_id"))
    activity_pairs = set(links.values_list("activity__opportunity_id", "contact_id"))
    assert activity_pairs <= role_pairs


def test_close_date_pushes_are_positive_and_chain_to_the_current_close_date(loaded):
    pushes = OpportunityChange.objects.filter(close_date_shift_days__isnull=False)
    assert pushes.exists()
    assert not pushes.filter(close_date_shift_days__lte=0).exists()
    for change in pushes:
        assert change.close_date_to - change.close_date_from == timedelta(
            days=change.close_date_shift_days
        )
    close = dict(Opportunity.objects.values_list("id", "close_date"))
    last = {}
    for opp_id, to in pushes.order_by("opportunity_id", "changed_at", "id").values_list(
        "opportunity_id", "close_date_to"
    ):
        last[opp_id] = to
    assert all(close[o] == to for o, to in last.items())
    assert not pushes.exclude(opportunity__stage__kind="open").exists()


def test_reps_report_to_managers_and_own_the_deals(loaded):
    reps = User.objects.filter(role=Role.REP, username__startswith="bench.")
    assert reps.count() == CONFIG.reps
    assert not reps.exclude(manager__role=Role.MANAGER).exists()
    assert not Opportunity.objects.exclude(owner__role=Role.REP).exists()
    assert User.objects.filter(role=Role.ADMIN).count() == 1


def test_the_orm_can_insert_after_the_load(loaded):
    """PostgreSQL sequences were moved past the explicit ids."""
    _, frames = loaded
    user = User.objects.create_user(username="after.load", role=Role.REP)
    account = Account.objects.create(name="After load")
    assert user.pk > frames["team_user"]["id"].max()
    assert account.pk > frames["accounts_account"]["id"].max()
    opp = Opportunity.objects.order_by("pk").first()
    transition = StageTransition.objects.create(
        opportunity=opp,
        from_stage=opp.stage,
        to_stage=opp.stage,
        moved_at=opp.stage_entered_at,
        amount=opp.amount,
        currency="USD",
        close_date=opp.close_date,
        source="user",
    )
    assert transition.pk > frames["pipeline_stagetransition"]["id"].max()
    activity = Activity.objects.create(
        opportunity=opp, type="call", occurred_at=opp.created_at, owner=opp.owner, subject="x"
    )
    activity.contacts.add(Contact.objects.filter(account=opp.account).first())
    assert activity.pk > frames["pipeline_activity"]["id"].max()
