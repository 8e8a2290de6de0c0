"""The demo import of the real public dataset (../shared/data), checked once it is loaded.

Importing the 8,800 deals with their synthesised history takes several seconds, so the module
imports them once, dated up to today as ``milepost demo`` does, and every test reads that
import (each in a savepoint: what a test writes is undone). bin/test distributes tests by
module (``--dist loadscope``), so the import is not repeated on the other worker. The analytics
figures are checked on the same import (collected from ``analytics/tests/real_dataset_figures``)
rather than importing the dataset a second time.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db.models import F, Sum

from milepost.analytics.tests import real_dataset_figures

# Collected here, so they read this module's one import of the dataset.
from milepost.analytics.tests.real_dataset_figures import (  # noqa: F401
    admin,
    test_a_managers_figures_are_their_teams,
    test_all_time_win_rate_is_the_source_md,
    test_effectiveness_on_the_real_dataset_invents_no_history,
    test_funnel_and_cohorts_match_a_plain_replay,
    test_lead_conversion_matches_hand_written_sql,
    test_pages_render_the_real_dataset,
    test_the_deals_behind_a_figure_are_the_figure,
    test_velocity_matches_a_plain_replay,
    test_waterfall_matches_a_plain_replay_and_reconciles,
    test_win_rate_matches_hand_written_sql,
)
from milepost.demo.importer import maven_import
from milepost.demo.maven import default_data_dir
from milepost.pipeline.models import Opportunity, StageTransition
from milepost.team.models import Role, User
from milepost.testing.factories import ensure_default_processes
from milepost.testing.worlds import shared_world

REAL = default_data_dir()

pytestmark = [
    pytest.mark.skipif(
        not (REAL / "sales_pipeline.csv").is_file(),
        reason=f"Maven CRM dataset not found at {REAL} (set MILEPOST_DEMO_DATA to its folder)",
    ),
    pytest.mark.django_db,
]


@pytest.fixture(scope="module")
def real_run(django_db_setup, django_db_blocker):
    """The demo's import of the real dataset, dated up to today."""
    yield from shared_world(django_db_blocker, _import_as_the_demo_does)


def _import_as_the_demo_does():
    ensure_default_processes()
    return maven_import(directory=REAL, as_of=date.today())


def test_every_analytics_check_is_collected_here():
    """A check added to ``real_dataset_figures`` but not imported above would never run."""
    checks = {name for name in vars(real_dataset_figures) if name.startswith("test_")}
    assert checks <= set(globals()), sorted(checks - set(globals()))


def test_real_dataset_matches_source_md(real_run):
    run = real_run
    files = run.summary["files"]

    assert files["sales_pipeline.csv"]["read"] == 8_800
    assert files["sales_pipeline.csv"]["rejected"] == 0
    assert files["sales_teams.csv"]["read"] == 35
    assert files["accounts.csv"]["read"] == 85
    assert files["products.csv"]["read"] == 7
    assert Opportunity.objects.filter(stage__kind="won").count() == 4_238
    assert Opportunity.objects.filter(stage__kind="lost").count() == 2_473
    assert Opportunity.objects.filter(stage__kind="open").count() == 1_589 + 500
    assert Opportunity.objects.filter(stage__kind="won").aggregate(s=Sum("amount"))["s"] == (
        Decimal("10005534")
    )
    issues = run.issues.filter(row_number__isnull=False)
    assert issues.filter(field="account", severity="warning").count() == 1_425
    assert issues.filter(field="product", severity="corrected").count() == 1_480
    assert issues.filter(field="sector", severity="corrected").count() == 12
    no_deals = issues.filter(file="sales_teams.csv", message="agent has no deals")
    assert no_deals.count() == 5
    assert User.objects.filter(role=Role.REP).count() == 35
    assert User.objects.filter(role=Role.MANAGER).count() == 6
    assert User.objects.filter(role=Role.LEADER).count() == 3 + 1
    # every deal has a history ending in its current stage, dated consistently
    assert StageTransition.objects.filter(from_stage=None).count() == 8_800
    last_moves = Opportunity.objects.filter(stage__kind="won").values_list(
        "close_date", "closed_at"
    )
    assert all(closed.date() == close for close, closed in last_moves)


def test_synthetic_evidence_covers_passed_stages_and_pushes_chain(real_run):
    from milepost.demo.importer import HISTORY_SEED
    from milepost.demo.synthetic_evidence import rep_habits
    from milepost.engine.process_schema import ProcessDef
    from milepost.evidence.models import Evidence
    from milepost.pipeline.models import OpportunityChange
    from milepost.team.models import User

    run = real_run
    synthetic = run.summary["synthetic"]
    assert synthetic["evidence"] == Evidence.objects.count() > 0
    assert synthetic["close_date_pushes"] == OpportunityChange.objects.count() > 0
    # buyer confirmation follows the rules: an accepted artefact, never the rep's word alone
    buyer = Evidence.objects.filter(level="buyer")
    assert buyer.exists()
    assert not buyer.exclude(buyer_claim="accepted").exists()
    assert not buyer.filter(artefact__isnull=True).exists()
    assert not buyer.filter(verified_by__isnull=True).exists()
    pending = Evidence.objects.filter(buyer_claim="pending")
    assert pending.exists(), "the managers' review queue has claims in it"
    assert not pending.exclude(opportunity__stage__kind="open").exists()
    assert not pending.exclude(level="rep").exists()
    version = Opportunity.objects.filter(stage__kind="open").first().stage.version
    process = ProcessDef.model_validate(version.definition)
    position = {c.id: i for i, s in enumerate(process.open_stages) for c in s.exit_criteria}
    open_position = {s.key: i for i, s in enumerate(process.open_stages)}
    rows = Evidence.objects.values_list(
        "criterion_key",
        "opportunity__stage__key",
        "opportunity__stage__kind",
        "level",
        "confirmed_by__account_id",
        "opportunity__account_id",
    )
    for key, stage_key, kind, level, contact_account, deal_account in rows.iterator():
        assert kind != "lost"
        if kind == "open":  # evidence only for stages the deal has passed
            assert position[key] < open_position[stage_key]
        if level == "buyer":  # confirmed by a contact of the deal's own account
            assert contact_account == deal_account is not None
    # next steps only on open deals: most of them, far fewer for reps who skip them by habit
    assert not Opportunity.objects.exclude(stage__kind="open").exclude(next_step="").exists()
    open_deals = Opportunity.objects.filter(stage__kind="open")
    owners = Opportunity.objects.values_list("owner_id", flat=True)  # as the import drew them
    teams = dict(User.objects.values_list("pk", "manager_id"))
    habits = rep_habits(list(owners), seed=HISTORY_SEED + 5, teams=teams)
    # one rep in five per team, at least one: every team of three or more has one
    by_team = Counter(teams[rep] for rep in habits)
    assert set(by_team.values()) <= {1, 2}
    assert set(Counter(habits.values())) == {"skips_next_steps", "shallow_discovery"}
    skippers = {rep for rep, habit in habits.items() if habit == "skips_next_steps"}
    assert skippers, "some reps skip next steps by habit"
    for group, low, high in (
        (open_deals.exclude(owner_id__in=skippers), 0.78, 0.92),
        (open_deals.filter(owner_id__in=skippers), 0.2, 0.4),
    ):
        with_step = group.exclude(next_step="").filter(next_step_date__isnull=False).count()
        assert low < with_step / group.count() < high
    # shallow discoverers' won deals seldom have the discovery stage's evidence at its level
    shallow = {rep for rep, habit in habits.items() if habit == "shallow_discovery"}
    discover = [c for c in process.open_stages[1].exit_criteria if c.needs_evidence]
    assert shallow
    assert discover
    won = Opportunity.objects.filter(stage__kind="won")
    needed = {c.id: c.verifier for c in discover}
    order = ["rep", "manager", "buyer"]

    def share_at_level(deals) -> float:
        rows = Evidence.objects.filter(
            opportunity__in=deals, criterion_key__in=needed, state="active"
        ).values_list("criterion_key", "level")
        good = sum(1 for key, level in rows if order.index(level) >= order.index(needed[key]))
        return good / (deals.count() * len(needed))

    assert share_at_level(won.filter(owner_id__in=shallow)) < 0.3
    assert share_at_level(won.exclude(owner_id__in=shallow)) > 0.6
    # pushes chain: each starts where the previous ended, the last ends at the close date
    for opp in Opportunity.objects.filter(changes__isnull=False).distinct()[:50]:
        changes = list(opp.changes.order_by("changed_at", "id"))
        for before, after in itertools.pairwise(changes):
            assert after.close_date_from == before.close_date_to
        assert changes[-1].close_date_to == opp.close_date
        assert all(c.close_date_shift_days > 0 for c in changes)


def test_demo_habits_show_up_as_skill_gaps_in_the_coaching_agenda(real_run):
    """The demo exists to show the routine: reps with a habit get it on their 1:1 agenda."""
    from milepost.coaching.agenda.services import agenda_draft
    from milepost.demo.importer import HISTORY_SEED
    from milepost.demo.synthetic_evidence import rep_habits
    from milepost.team.models import Role, User

    teams = dict(User.objects.values_list("pk", "manager_id"))
    owners = list(Opportunity.objects.values_list("owner_id", flat=True))
    habits = rep_habits(owners, seed=HISTORY_SEED + 5, teams=teams)
    pointing_at = {
        "skips_next_steps": {"no_next_step"},
        "shallow_discovery": {"problem_cost_unconfirmed", "discovery_recap_not_accepted"},
    }
    found = 0
    without_habit_flagged = 0
    reps = User.objects.filter(role=Role.REP, manager__role=Role.MANAGER).select_related("manager")
    for rep in reps:
        draft, _ = agenda_draft(manager=rep.manager, rep_id=rep.pk)
        indicators = {item.indicator for item in draft.skill_items}
        if rep.pk in habits:
            found += bool(indicators & pointing_at[habits[rep.pk]])
        else:
            without_habit_flagged += bool(indicators)
    assert found >= len(habits) / 2
    assert without_habit_flagged <= 0.15 * (reps.count() - len(habits))


def test_demo_import_writes_assessments_history_and_influences(real_run):
    from milepost.methodology.models import (
        BuyingInfluence,
        BuyingInfluenceEvent,
        ElementAssessment,
        ElementAssessmentEvent,
    )
    from milepost.pipeline.models import Opportunity

    run = real_run
    synthetic = run.summary["synthetic"]
    assert synthetic["methodology_assessments"] == ElementAssessment.objects.count() > 1000
    assert synthetic["buying_influences"] == BuyingInfluence.objects.count() > 100
    assert not ElementAssessment.objects.filter(opportunity__stage__kind="lost").exists()
    # every assessment has a history whose last row is its level, scored by the deal's owner
    # and, where the owner may not set it alone, verified by the owner's manager
    assert ElementAssessmentEvent.objects.count() >= ElementAssessment.objects.count()
    scores = ElementAssessmentEvent.objects.filter(verified=False)
    assert not scores.exclude(actor_id=F("opportunity__owner_id")).exists()
    verifications = ElementAssessmentEvent.objects.filter(verified=True)
    assert verifications.exists()
    assert not verifications.exclude(actor_id=F("opportunity__owner__manager_id")).exists()
    waiting = ElementAssessment.objects.exclude(verified_level=F("level"))
    assert waiting.exists(), "some top scores await a manager"
    assert not waiting.exclude(opportunity__stage__kind="open").exists()
    sample = ElementAssessment.objects.order_by("pk")[:200].prefetch_related("events", "contacts")
    for a in sample:
        events = list(a.events.order_by("at", "id"))
        assert events[-1].level == a.level
        assert len(events) == a.version
        assert all(c.account_id == a.opportunity.account_id for c in a.contacts.all())
    # influences only on deals at commit or later, contacts of the deal's account
    early = ["engage", "discover"]
    assert not BuyingInfluence.objects.filter(opportunity__stage__key__in=early).exists()
    assert not BuyingInfluence.objects.exclude(
        contact__account_id=F("opportunity__account_id")
    ).exists()
    assert BuyingInfluenceEvent.objects.count() == BuyingInfluence.objects.count()
    # the methodology-backed criterion is met on many deals past commit, not on all
    won = Opportunity.objects.filter(stage__kind="won").count()
    confirmed = ElementAssessment.objects.filter(
        opportunity__stage__kind="won",
        pack="meddpicc",
        element="decision_process",
        level="confirmed",
    ).count()
    assert 0.5 * won < confirmed < won


def test_demo_open_pipeline_looks_like_a_live_one(real_run):
    """The targets of docs/demo-data.md ("A live-looking pipeline"), on the demo as built."""

    from django.utils import timezone

    from milepost.accounts.models import Account, Contact
    from milepost.demo.prospects import PROSPECT_SECTOR, PROSPECT_SOURCE
    from milepost.inspection.pipeline import inspect_pipeline
    from milepost.inspection.risk import fit_all

    fit_all(user=None)  # as `milepost demo` does (undone with the test's savepoint)
    sales_ops = User.objects.get(username="admin")
    deals = inspect_pipeline(user=sales_ops).deals
    n = deals.height
    assert n == 2_089
    today = timezone.now().date()
    close = deals["close_date"]
    assert (close < today).sum() / n < 0.15
    assert ((close >= today) & (close <= today + timedelta(days=183))).sum() / n > 0.75
    assert 0.25 <= (~deals["under_control"]).sum() / n <= 0.40
    assert (deals["risk"] >= 100).sum() / n <= 0.05
    assert (deals["risk"] == deals["risk"].max()).sum() / n <= 0.05
    # deals can be told apart: open deals without an account are named after a prospect
    names = Counter(Opportunity.objects.filter(stage__kind="open").values_list("name", flat=True))
    assert sum(count - 1 for count in names.values()) <= 25
    assert not Opportunity.objects.filter(name__startswith="Unknown account").exists()
    # every synthetic row is marked
    prospects = Opportunity.objects.filter(source=PROSPECT_SOURCE)
    assert prospects.count() == 1_425 == Account.objects.filter(sector=PROSPECT_SECTOR).count()
    assert not prospects.exclude(account__sector=PROSPECT_SECTOR).exists()
    assert not Opportunity.objects.filter(account__isnull=True).exists()
    assert not Contact.objects.exclude(email__endswith=".example").exists()
    assert not StageTransition.objects.exclude(source__in=["synthetic"]).exists()
    from milepost.pipeline.models import OpportunityChange

    assert not OpportunityChange.objects.exclude(source="synthetic").exists()
    # lost deals were, modestly, pushed more often than won ones
    pushed = {
        kind: Opportunity.objects.filter(stage__kind=kind, changes__isnull=False).distinct().count()
        / Opportunity.objects.filter(stage__kind=kind).count()
        for kind in ("won", "lost")
    }
    assert pushed["won"] < pushed["lost"] < 0.5


def test_every_deal_comes_from_a_synthetic_lead(real_run):
    """docs/demo-data.md, "Leads": one converted lead per deal, before it, and unconverted leads
    beside them, so about 30 % of the leads become deals; all marked synthetic."""

    from milepost.demo.leads import CONVERSION, LEAD_SOURCE, WORKING_DAYS
    from milepost.pipeline.models import Lead

    leads = Lead.objects.all()
    assert not leads.exclude(source=LEAD_SOURCE).exists()
    converted = leads.filter(status="converted")
    assert converted.count() == Opportunity.objects.filter(lead__isnull=False).count() == 8_800
    assert abs(converted.count() / leads.count() - CONVERSION) < 0.005
    assert not Opportunity.objects.filter(lead__created_at__gt=F("created_at")).exists()
    assert not Opportunity.objects.exclude(lead__converted_at=F("created_at")).exists()
    assert not Opportunity.objects.exclude(lead__owner=F("owner")).exists()
    assert not leads.exclude(status="converted").exclude(converted_at__isnull=True).exists()
    # The import's today: its dates shift by whole weeks, so up to 6 days before the real one.
    today = date.fromisoformat(real_run.summary["as_of"]) + timedelta(days=1)
    recent = datetime.combine(today - timedelta(days=WORKING_DAYS), time.min, tzinfo=UTC)
    assert not leads.filter(status__in=["new", "working"], created_at__lt=recent).exists()
    assert leads.filter(status__in=["new", "working"]).count() > 100
    assert leads.filter(status="disqualified").count() > 10_000
