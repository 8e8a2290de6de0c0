"""The demo import: load the Maven CRM dataset with a synthetic, dated stage history.

:func:`maven_import` turns the validated records of :mod:`milepost.demo.maven` into users,
accounts, contacts, products, opportunities, stage transitions (source ``synthetic``), contact
roles and activities, and records what it did in an :class:`ImportRun` with one
:class:`ImportIssue` per correction, warning or rejection.

- **Idempotent**: rows are matched by natural key (username, product / account name,
  ``external_id``) and compared; an unchanged row is counted as such and written nowhere. The
  synthetic history of a deal is generated once, when the deal is created.
- **Atomic**: everything happens in one transaction; an unexpected error leaves the database
  as it was (and raises).
- **Bulk**: ``bulk_create`` / ``bulk_update`` in batches, never a save per row.
- **Counts**: per file and in total, ``read = created + updated + unchanged + rejected``
  (:func:`milepost.imports.services.import_run_finish` checks it).

The parts, in the order they run: :mod:`.people` (users), :mod:`.accounts` (products,
accounts), :func:`.people.ensure_contacts`, :mod:`.deals`, :mod:`.histories` (new deals with
their transitions, contact roles and activities, then :mod:`.evidence` and :mod:`.methodology`),
:mod:`.synthetic_coaching`; every bulk write goes through :mod:`.bulk`.

Not done here: deleting what disappeared from the source (an import only adds and updates), and
changing the process of existing deals.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from django.apps import apps
from django.db import connection, transaction

from milepost.demo import maven, synthetic_coaching
from milepost.demo.accounts import import_accounts, import_products
from milepost.demo.deals import import_deals
from milepost.demo.histories import write_histories
from milepost.demo.maven import CORRECTED, PIPELINE_FILE, WARNING, MavenData
from milepost.demo.people import ensure_contacts, import_users
from milepost.demo.prospects import import_prospects
from milepost.engine.history import HistoryParams, load_params
from milepost.imports.models import ImportRun
from milepost.imports.services import Issue, RowCounts, import_run_finish
from milepost.pipeline.models import Opportunity
from milepost.process.models import ProcessVersion, Stage
from milepost.team.models import User

IMPORT_KIND = "maven_crm"
PROCESS_KEY = "new_business"
HISTORY_SEED = 2017


class ImportRefused(RuntimeError):
    """The import cannot run as asked (no process loaded, or a different date shift)."""


def shift_for(as_of: date | None) -> int:
    """Whole weeks (in days) that move the dataset horizon into the week before ``as_of``.

    Whole weeks keep weekdays (a deal engaged on a Tuesday is still engaged on a Tuesday), and
    landing strictly before ``as_of`` keeps every event of the horizon day in the past.
    """
    if as_of is None:
        return 0
    return max(0, (as_of - timedelta(days=1) - maven.DATASET_HORIZON).days // 7) * 7


def maven_previous_shift() -> int | None:
    """The date shift of the last completed Maven import, or None if there was none."""
    run = ImportRun.objects.filter(kind=IMPORT_KIND, finished_at__isnull=False).first()
    return None if run is None else int(run.summary.get("shift_days", 0))


def maven_import(
    *,
    directory: Path | str | None = None,
    as_of: date | None = None,
    shift_days: int | None = None,
    user: User | None = None,
    params: HistoryParams | None = None,
    seed: int = HISTORY_SEED,
) -> ImportRun:
    """Import the dataset in ``directory`` (default :func:`maven.default_data_dir`).

    Dates move forward by ``shift_days`` (or by the whole weeks that bring the dataset's horizon,
    2017-12-31, to ``as_of``); the default is no shift. A later run must use the same shift as
    the data already imported, otherwise :class:`ImportRefused` is raised.
    Raises :class:`maven.MavenSourceError` for a missing file or column, before writing anything.
    """
    data = maven.read_maven(directory)
    shift = shift_days if shift_days is not None else shift_for(as_of)
    if shift < 0 or shift % 1:
        raise ImportRefused("the date shift must be zero or more whole days")
    previous = maven_previous_shift()
    if previous is not None and previous != shift and Opportunity.objects.exists():
        raise ImportRefused(
            f"the data was imported shifted by {previous} days; this run asks for {shift}. "
            "Start from an empty database to change the shift."
        )
    return _import(data, shift=shift, user=user, params=params or load_params(), seed=seed)


@transaction.atomic
def _import(
    data: MavenData, *, shift: int, user: User | None, params: HistoryParams, seed: int
) -> ImportRun:
    version = ProcessVersion.objects.filter(process__key=PROCESS_KEY, is_current=True).first()
    if version is None:
        raise ImportRefused(f"process {PROCESS_KEY!r} is not loaded (run process_load_defaults)")
    stages = {s.key: s for s in Stage.objects.filter(version=version)}
    missing = [k for k in params.stage_keys if k not in stages]
    if missing:
        raise ImportRefused(f"process {PROCESS_KEY!r} has no stages {missing}")
    run = ImportRun.objects.create(kind=IMPORT_KIND, source=str(data.directory), started_by=user)
    counts = RowCounts.empty()

    users = import_users(data, counts)
    products = import_products(data, counts)
    accounts = import_accounts(data, counts, users)
    prospects = import_prospects(data, users, seed=seed + 9)
    contacts = ensure_contacts({**accounts, **{a.name: a for a in prospects.values()}}, params)
    cycle_days = sum(stages[k].expected_days or 0 for k in params.stages)
    new_deals = import_deals(
        data,
        counts,
        users,
        products,
        accounts,
        stages,
        stages[params.stages[0]],
        shift=shift,
        prospects=prospects,
    )
    history_counts = write_histories(new_deals, params, stages, contacts, shift=shift, seed=seed)
    history_counts |= synthetic_coaching.write_coaching_history(
        today=maven.DATASET_HORIZON + timedelta(days=shift + 1), seed=seed + 6
    )
    aggregated = _aggregated_issues(data, cycle_days, histories=len(new_deals))
    _refresh_planner_statistics()

    return import_run_finish(
        run,
        files=maven.FILES,
        read=data.read,
        rejected=data.rejected,
        counts=counts,
        issues=[*data.issues, *aggregated],
        summary={
            "shift_days": shift,
            "as_of": (maven.DATASET_HORIZON + timedelta(days=shift)).isoformat(),
            "dataset_horizon": maven.DATASET_HORIZON.isoformat(),
            "synthetic": {
                "leaders_and_admin": users.synthetic_created,
                "contacts": contacts.created,
                **history_counts,
            },
            "expected_cycle_days": cycle_days,
        },
    )


def _refresh_planner_statistics() -> None:
    """Tell the query planner how big the tables now are, as one should after a bulk load.

    Without it PostgreSQL plans the first inspections after the import as if the tables were
    empty (nested loops over thousands of rows: minutes instead of seconds) until autovacuum
    gets to them. ANALYZE is allowed inside the import's transaction and counts its own rows.
    Milepost's own tables only: a plain ``ANALYZE`` also samples every system catalog and
    every other table of the database, seconds that tell the planner nothing new here.
    """
    qn = connection.ops.quote_name
    tables = sorted(
        {
            qn(model._meta.db_table)  # names from model metadata, nothing from the input
            for model in apps.get_models(include_auto_created=True)
            if model._meta.app_config.name.startswith("milepost.") and model._meta.managed
        }
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {', '.join(tables)}")
        else:  # SQLite's ANALYZE takes one table at a time
            for table in tables:
                cursor.execute(f"ANALYZE {table}")


def _aggregated_issues(data: MavenData, cycle_days: int, histories: int) -> list[Issue]:
    """One issue per systematic gap of the dataset, with the count and the first rows."""
    out = []

    def rows_of(deals: list[maven.DealRow]) -> str:
        numbers = [str(d.row) for d in deals[:20]]
        return "rows " + ", ".join(numbers) + (" …" if len(deals) > 20 else "")

    lost_zero = [d for d in data.deals if d.outcome == "lost" and not d.close_value]
    open_deals = [d for d in data.deals if d.outcome in ("open", "prospecting")]
    no_engage = [d for d in data.deals if d.engage_date is None]
    specs = [
        (
            lost_zero,
            "close_value",
            "{n} lost deals have close_value 0 (the dataset's convention); "
            "amount set to the product's list price",
        ),
        (
            open_deals,
            "close_value",
            "{n} open deals have no value; amount set to the product's list price",
        ),
        (
            open_deals,
            "close_date",
            "{n} open deals have no close date; synthesised as the day they entered their "
            "stage + the process's expected days of that stage and the later ones",
        ),
        (
            no_engage,
            "engage_date",
            "{n} Prospecting deals have no engage date; the created date is synthesised "
            "(a sampled time in the first stage before the data horizon)",
        ),
    ]
    for deals, column, message in specs:
        if deals:
            out.append(
                Issue(
                    PIPELINE_FILE,
                    None,
                    column,
                    CORRECTED,
                    message.format(n=len(deals)),
                    rows_of(deals),
                )
            )
    if histories:
        out.append(
            Issue(
                PIPELINE_FILE,
                None,
                "deal_stage",
                WARNING,
                f"{histories} new deals have no stage history; a synthetic history "
                "(source 'synthetic') was generated from the parameter file",
                "engine/params/history_new_business.yaml",
            )
        )
    return out
