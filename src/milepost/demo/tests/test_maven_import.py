"""The Maven CRM importer: every flaw reported where it is, counts add up, re-runs change
nothing, a failure leaves nothing behind, and the real dataset matches SOURCE.md."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from milepost.accounts.models import Account, Contact
from milepost.demo import bulk
from milepost.demo.importer import ImportRefused, maven_import, shift_for
from milepost.demo.maven import DATASET_HORIZON, MavenSourceError
from milepost.demo.people import username_for
from milepost.demo.prospects import PROSPECT_SECTOR, PROSPECT_SOURCE
from milepost.imports.models import ImportIssue, ImportRun
from milepost.inspection.models import RiskModelFit
from milepost.methodology.models import ElementAssessment
from milepost.pipeline.facts import (
    activity_facts_mismatches,
    role_facts_mismatches,
    transition_steps_mismatches,
)
from milepost.pipeline.models import (
    Activity,
    ActivitySummary,
    Opportunity,
    OpportunityContact,
    Product,
    StageTransition,
)
from milepost.team.models import Role, User

pytestmark = pytest.mark.django_db

TEAMS = [
    ("sales_agent", "manager", "regional_office"),
    ("Ann Agent", "Mona Manager", "Central"),  # line 2
    ("Bob Agent", "Mona Manager", "Central"),  # line 3
    ("Idle Agent", "Ned Manager", "East"),  # line 4: no deals
]
PRODUCTS = [
    ("product", "series", "sales_price"),
    ("GTX Pro", "GTX", "4821"),
    ("MG Special", "MG", "55"),
]
ACCOUNTS = [
    (
        "account",
        "sector",
        "year_established",
        "revenue",
        "employees",
        "office_location",
        "subsidiary_of",
    ),
    ("Acme", "technolgy", "1996", "1100.04", "2822", "United States", ""),  # line 2: typo
    ("Beta", "retail", "2001", "50.5", "120", "Kenya", "Acme"),  # line 3
]
PIPELINE = [
    (
        "opportunity_id",
        "sales_agent",
        "product",
        "account",
        "deal_stage",
        "engage_date",
        "close_date",
        "close_value",
    ),
    ("OPP1", "Ann Agent", "GTXPro", "Acme", "Won", "2017-01-02", "2017-03-01", "4800"),  # 2
    ("OPP2", "Ann Agent", "MG Special", "Beta", "Lost", "2017-02-01", "2017-02-10", "0"),  # 3
    ("OPP3", "Bob Agent", "MG Special", "", "Engaging", "2017-06-01", "", ""),  # 4
    ("OPP4", "Bob Agent", "GTX Pro", "", "Prospecting", "", "", ""),  # 5
    ("OPP5", "Ann Agent", "MG Special", "Acme", "Won", "2017-13-01", "2017-03-01", "50"),  # 6
    ("OPP6", "Ghost Agent", "MG Special", "Acme", "Won", "2017-01-01", "2017-02-01", "50"),  # 7
    ("OPP7", "Bob Agent", "MG Special", "Acme", "Won", "2017-01-01", "2017-02-01", "-5"),  # 8
    ("OPP8", "Bob Agent", "MG Special", "Beta", "Won", "2017-05-01", "2017-05-01", "60"),  # 9
]


def write_dataset(folder: Path, **overrides: list[tuple[str, ...]]) -> Path:
    files = {
        "sales_teams.csv": TEAMS,
        "products.csv": PRODUCTS,
        "accounts.csv": ACCOUNTS,
        "sales_pipeline.csv": PIPELINE,
        **{f"{k}.csv": v for k, v in overrides.items()},
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        with (folder / name).open("w", newline="") as fh:
            csv.writer(fh).writerows(rows)
    return folder


@pytest.fixture
def dataset(tmp_path) -> Path:
    return write_dataset(tmp_path / "maven")


def _row_issues(run: ImportRun) -> set[tuple[str, int | None, str, str]]:
    return {
        (i.file, i.row_number, i.field, i.severity)
        for i in run.issues.filter(row_number__isnull=False)
    }


def _last(opp: Opportunity) -> StageTransition:
    return opp.transitions.order_by("moved_at", "pk").last()


def test_every_flaw_is_reported_at_its_row_and_field(processes, dataset):
    run = maven_import(directory=dataset)

    assert _row_issues(run) == {
        ("sales_teams.csv", 4, "sales_agent", "warning"),  # Idle Agent has no deals
        ("accounts.csv", 2, "sector", "corrected"),  # technolgy
        ("sales_pipeline.csv", 2, "product", "corrected"),  # GTXPro
        ("sales_pipeline.csv", 4, "account", "warning"),  # blank account
        ("sales_pipeline.csv", 5, "account", "warning"),  # blank account
        ("sales_pipeline.csv", 6, "engage_date", "rejected"),  # 2017-13-01
        ("sales_pipeline.csv", 7, "sales_agent", "rejected"),  # unknown agent
        ("sales_pipeline.csv", 8, "close_value", "rejected"),  # negative
    }
    values = {(i.row_number, i.field): i.value for i in run.issues.all()}
    assert values[(2, "sector")] == "technolgy"
    assert values[(6, "engage_date")] == "2017-13-01"
    assert values[(7, "sales_agent")] == "Ghost Agent"
    # Aggregated corrections (no row number): lost value 0, open value / close date, no engage.
    aggregated = {
        (i.field, i.message.split(" ")[0])
        for i in run.issues.filter(row_number__isnull=True, severity="corrected")
    }
    assert aggregated == {
        ("close_value", "1"),  # 1 lost deal with close_value 0
        ("close_value", "2"),  # 2 open deals without value
        ("close_date", "2"),  # 2 open deals without close date
        ("engage_date", "1"),  # 1 Prospecting deal without engage date
    }

    files = run.summary["files"]
    assert files["sales_pipeline.csv"] == {
        "read": 8, "created": 5, "updated": 0, "unchanged": 0, "rejected": 3
    }  # fmt: skip
    for c in files.values():
        assert c["read"] == c["created"] + c["updated"] + c["unchanged"] + c["rejected"]
    assert run.rows_read == 3 + 2 + 2 + 8
    assert run.rows_read == (
        run.rows_created + run.rows_updated + run.rows_unchanged + run.rows_rejected
    )


def test_rows_become_consistent_records(processes, dataset):
    maven_import(directory=dataset)

    acme, beta = Account.objects.get(name="Acme"), Account.objects.get(name="Beta")
    assert acme.sector == "technology"
    assert beta.parent == acme
    assert Product.objects.get(name="GTX Pro").list_price == Decimal("4821.00")

    ann = User.objects.get(username="ann.agent")
    assert ann.role == Role.REP
    assert ann.manager.username == "mona.manager"
    assert ann.manager.role == Role.MANAGER
    director = ann.manager.manager
    assert director.role == Role.LEADER
    assert director.title == "Central sales director"
    assert director.manager.title == "VP of sales"
    assert User.objects.get(username="admin").role == Role.ADMIN
    assert User.objects.filter(username="idle.agent").exists()
    assert not ann.has_usable_password()

    won = Opportunity.objects.get(external_id="OPP1")
    assert won.name == "Acme — GTX Pro"
    assert won.amount == Decimal("4800.00")
    assert won.currency == "USD"
    assert won.stage.key == "won"
    assert won.close_date == date(2017, 3, 1)
    last = _last(won)
    assert last.to_stage == won.stage
    assert last.moved_at.date() == won.close_date
    assert won.closed_at == last.moved_at == won.stage_entered_at
    assert won.probability == 100
    assert won.forecast_category == "closed"
    first = won.transitions.order_by("moved_at", "pk").first()
    assert first.from_stage is None
    assert first.moved_at == won.created_at
    assert won.created_at.date() == date(2017, 1, 2)
    assert set(won.transitions.values_list("source", flat=True)) == {"synthetic"}
    assert won.transitions.exclude(from_stage=None).filter(seconds_in_from_stage=None).count() == 0

    lost = Opportunity.objects.get(external_id="OPP2")
    assert lost.stage.key == "lost"
    assert lost.amount == Decimal("55.00")  # list price, not the dataset's 0
    assert _last(lost).moved_at.date() == date(2017, 2, 10)

    open_deal = Opportunity.objects.get(external_id="OPP3")
    # no account in the data: a synthetic prospect account, named, and the deal marked
    assert open_deal.account.sector == PROSPECT_SECTOR
    assert open_deal.source == PROSPECT_SOURCE
    assert open_deal.name == f"{open_deal.account.name} — MG Special"
    assert open_deal.account.contacts.exists()
    assert open_deal.stage.kind == "open"
    assert open_deal.stage.key != "engage"
    assert open_deal.closed_at is None
    assert open_deal.stage_entered_at == _last(open_deal).moved_at
    assert open_deal.probability == open_deal.stage.default_probability
    # close date: after it entered its stage, by the expected days of the stages left
    assert open_deal.close_date > open_deal.stage_entered_at.date()

    prospect = Opportunity.objects.get(external_id="OPP4")
    assert prospect.stage.key == "engage"
    assert prospect.transitions.count() == 1
    assert prospect.created_at.date() <= DATASET_HORIZON

    # Synthetic people and activity around the deals with an account.
    assert Contact.objects.filter(account=acme).count() == 6
    assert OpportunityContact.objects.filter(opportunity=won).exists()
    assert Activity.objects.filter(opportunity=won).exists()
    for activity in Activity.objects.filter(opportunity=won):
        assert won.created_at <= activity.occurred_at <= won.closed_at
        assert activity.owner_id == won.owner_id
    # The bulk writes kept the derived facts inspection reads.
    assert ActivitySummary.objects.filter(opportunity=won).exists()
    assert activity_facts_mismatches() == []
    assert role_facts_mismatches() == []
    assert transition_steps_mismatches() == []


def test_second_run_changes_nothing(processes, dataset):
    first = maven_import(directory=dataset)
    snapshot = (
        StageTransition.objects.count(),
        Activity.objects.count(),
        OpportunityContact.objects.count(),
        Contact.objects.count(),
        User.objects.count(),
        list(Opportunity.objects.order_by("pk").values_list("version", "updated_at", "amount")),
    )

    second = maven_import(directory=dataset)

    assert second.rows_created == 0
    assert second.rows_updated == 0
    assert second.rows_unchanged == first.rows_read - first.rows_rejected
    assert second.rows_rejected == first.rows_rejected
    assert second.summary["synthetic"]["transitions"] == 0
    assert snapshot == (
        StageTransition.objects.count(),
        Activity.objects.count(),
        OpportunityContact.objects.count(),
        Contact.objects.count(),
        User.objects.count(),
        list(Opportunity.objects.order_by("pk").values_list("version", "updated_at", "amount")),
    )


def test_changed_rows_are_updated_and_outcomes_appended(processes, tmp_path):
    folder = write_dataset(tmp_path / "v1")
    maven_import(directory=folder)
    changed = [list(r) for r in PIPELINE]
    changed[1][7] = "4900"  # OPP1 won value
    # OPP3 open -> won, on the horizon day (the demo's open deals entered their stage lately)
    changed[3][4:8] = ["Won", "2017-06-01", "2017-12-31", "70"]
    write_dataset(folder, sales_pipeline=[tuple(r) for r in changed])
    before = StageTransition.objects.count()

    run = maven_import(directory=folder)

    assert run.summary["files"]["sales_pipeline.csv"]["updated"] == 2
    assert Opportunity.objects.get(external_id="OPP1").amount == Decimal("4900.00")
    opp3 = Opportunity.objects.get(external_id="OPP3")
    assert opp3.stage.key == "won"
    assert opp3.closed_at.date() == date(2017, 12, 31)
    assert StageTransition.objects.count() == before + 1
    assert _last(opp3).source == "import"
    assert transition_steps_mismatches() == []
    assert activity_facts_mismatches() == []


def test_an_import_that_closes_a_deal_ends_a_persons_probability_override(processes, tmp_path):
    folder = write_dataset(tmp_path / "v1")
    maven_import(directory=folder)
    Opportunity.objects.filter(external_id="OPP3").update(
        probability=55, probability_overridden=True
    )
    changed = [list(r) for r in PIPELINE]
    # OPP3 open -> won, on the horizon day (the demo's open deals entered their stage lately)
    changed[3][4:8] = ["Won", "2017-06-01", "2017-12-31", "70"]
    write_dataset(folder, sales_pipeline=[tuple(r) for r in changed])

    maven_import(directory=folder)

    opp3 = Opportunity.objects.get(external_id="OPP3")
    assert opp3.stage.key == "won"
    assert opp3.probability == 100
    assert not opp3.probability_overridden


@pytest.mark.parametrize("fail_on", ["opportunity", "activity"])
def test_a_failure_mid_run_leaves_nothing(processes, dataset, monkeypatch, fail_on):
    real_bulk, real_insert = bulk.bulk_create, bulk.insert_rows

    def failing_bulk(model, objs):
        if fail_on == "opportunity" and model is Opportunity:
            raise RuntimeError("disk full")
        return real_bulk(model, objs)

    def failing_insert(model, fields, rows):
        if fail_on == "activity" and model is Activity:
            raise RuntimeError("disk full")
        return real_insert(model, fields, rows)

    monkeypatch.setattr(bulk, "bulk_create", failing_bulk)
    monkeypatch.setattr(bulk, "insert_rows", failing_insert)

    with pytest.raises(RuntimeError, match="disk full"):
        maven_import(directory=dataset)

    for model in (User, Account, Contact, Product, Opportunity, StageTransition, ImportRun):
        assert model.objects.count() == 0, model.__name__
    assert not ElementAssessment.objects.exists()
    assert ImportIssue.objects.count() == 0


def test_dates_shift_by_whole_weeks_and_the_shift_is_fixed(processes, dataset):
    as_of = date(2018, 3, 15)
    shift = shift_for(as_of)
    assert shift % 7 == 0
    assert as_of - timedelta(days=7) <= DATASET_HORIZON + timedelta(days=shift) < as_of

    run = maven_import(directory=dataset, as_of=as_of)

    won = Opportunity.objects.get(external_id="OPP1")
    assert won.close_date == date(2017, 3, 1) + timedelta(days=shift)
    assert _last(won).moved_at.date() == won.close_date
    assert won.created_at.date() == date(2017, 1, 2) + timedelta(days=shift)
    assert run.summary["shift_days"] == shift
    with pytest.raises(ImportRefused, match="shifted by"):
        maven_import(directory=dataset)


@pytest.mark.usefixtures("without_definitions")
def test_missing_file_or_process_writes_nothing(db, tmp_path, dataset):
    with pytest.raises(ImportRefused, match="not loaded"):
        maven_import(directory=dataset)
    (dataset / "products.csv").unlink()
    with pytest.raises(MavenSourceError, match=r"products\.csv"):
        maven_import(directory=dataset)
    assert ImportRun.objects.count() == 0
    assert User.objects.count() == 0


def test_usernames_are_derived_from_names():
    assert username_for("Darcel Schlecht") == "darcel.schlecht"
    assert username_for("Mei-Mei Johns") == "mei-mei.johns"
    assert username_for("Tomás  Lindqvist") == "tomas.lindqvist"


def test_import_command_prints_the_report(processes, dataset, capsys):
    call_command("import_maven", str(dataset))
    out = capsys.readouterr().out
    assert "rows read 15 = created 12 + updated 0 + unchanged 0 + rejected 3" in out
    assert "sales_pipeline.csv:product: product name corrected to 'GTX Pro'" in out
    assert "rows 6" in out


@pytest.mark.django_db(databases=["default", "jobs"])  # it migrates the job-progress database too
def test_demo_command_loads_once_and_prints_logins(dataset, capsys):
    call_command("demo", "--data", str(dataset), "--url", "http://demo.test/")
    out = capsys.readouterr().out
    assert "http://demo.test/" in out
    assert "milepost-demo" in out
    for username in ("admin", "jordan.whitfield", "morgan.reyes", "mona.manager", "bob.agent"):
        assert username in out
    assert User.objects.get(username="ann.agent").check_password("milepost-demo")
    # The demo build fits the risk model (a dozen deals: the process weights are kept).
    assert "Fitting the risk model" in out
    assert list(RiskModelFit.objects.values_list("source", flat=True)) == ["fallback"]
    runs = ImportRun.objects.count()

    call_command("demo", "--data", str(dataset))

    again = capsys.readouterr().out
    assert "already loaded" in again
    assert "Fitting the risk model" not in again  # fitted already
    assert ImportRun.objects.count() == runs


def test_the_import_leaves_planner_statistics_for_its_own_tables(processes, dataset):
    """The planner knows the imported tables' sizes (else it plans the first inspections as
    over empty tables); on SQLite, where the statistics are a table, only Milepost's tables
    were analysed, not the whole database."""
    from django.db import connection

    maven_import(directory=dataset)
    table = Opportunity._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
            assert cursor.fetchone()[0] == Opportunity.objects.count() > 0
        else:
            cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
            analysed = {name for (name,) in cursor.fetchall()}
            assert table in analysed
            assert "django_session" not in analysed  # a table of Django's, not the import's


def test_synthetic_scores_keep_their_json_as_objects(processes, dataset):
    """The bulk writer hands JSON columns over as text: they read back as objects and lists,
    not as strings of JSON."""
    from milepost.methodology.models import ElementAssessmentEvent

    maven_import(directory=dataset)
    scores = list(ElementAssessment.objects.values_list("answers", flat=True))
    events = list(ElementAssessmentEvent.objects.values_list("answers", "contact_ids"))
    assert scores
    assert events
    assert all(isinstance(answers, dict) for answers in scores)
    assert all(isinstance(a, dict) and isinstance(c, list) for a, c in events)
    # The database sees objects too (a JSON string would have no keys).
    key = next(iter(next(answers for answers in scores if answers)))
    assert ElementAssessment.objects.filter(answers__has_key=key).exists()
