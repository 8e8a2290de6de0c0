"""A synthetic, dated history for every new deal, written in bulk.

:func:`milepost.engine.history.fit_histories` draws each deal's path through the stages to fit
its real engage and close dates; this module writes the deals, their stage transitions (source
``synthetic``), contact roles and activities, then their evidence (:mod:`.evidence`) and
methodology scores (:mod:`.methodology`). Existing deals are not touched.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, time, timedelta

import numpy as np
from django.db import connection
from django.utils import timezone

from milepost.accounts.models import Account, Contact
from milepost.demo import bulk, maven, pipeline_shape, synthetic_evidence
from milepost.demo.deals import NewDeal
from milepost.demo.evidence import owner_habits, write_evidence
from milepost.demo.leads import write_leads
from milepost.demo.maven import CURRENCY
from milepost.demo.methodology import write_methodology
from milepost.demo.people import Contacts
from milepost.engine.history import HistoryParams, fit_histories
from milepost.engine.process_schema import ProcessDef
from milepost.pipeline.choices import TransitionSource
from milepost.pipeline.facts import deal_facts_refresh, stage_steps
from milepost.pipeline.models import Activity, Opportunity, OpportunityContact, StageTransition
from milepost.process.models import Stage, StageKind

ACTIVITY_SUBJECTS = {
    "call": "Call with {contact}",
    "meeting": "Meeting with {contact}",
    "email": "Email to {contact}",
    "demo": "Product demo for {account}",
    "workshop": "Discovery workshop at {account}",
    "proposal_sent": "Proposal sent to {account}",
    "negotiation": "Negotiation call with {account}",
    "note": "Note on {account}",
}


def write_histories(
    new: list[NewDeal],
    params: HistoryParams,
    stages: dict[str, Stage],
    contacts: Contacts,
    *,
    shift: int,
    seed: int,
) -> dict[str, int]:
    """Fit a synthetic history to every new deal, then write deals, transitions, contact roles
    and activities in bulk."""
    if not new:
        return {
            "transitions": 0,
            "activities": 0,
            "contact_roles": 0,
            "evidence": 0,
            "close_date_pushes": 0,
            "methodology_assessments": 0,
            "buying_influences": 0,
            "leads": 0,
        }
    rows = [d.row for d in new]
    shaping, stalled = pipeline_shape.draw_shaping([r.outcome for r in rows], seed=seed + 11)
    history = fit_histories(
        [r.outcome for r in rows],
        np.array([r.engage_date or "NaT" for r in rows], dtype="datetime64[D]"),
        np.array([r.close_date or "NaT" for r in rows], dtype="datetime64[D]"),
        maven.DATASET_HORIZON,
        seed=seed,
        params=params,
        shaping=shaping,
    )
    offset = shift * 86_400
    stage_by_index = [stages[k] for k in history.stage_keys]

    def when(values: np.ndarray) -> list[datetime]:
        secs = values.astype("datetime64[s]").astype(np.int64) + offset
        return [datetime.fromtimestamp(int(s), tz=UTC) for s in secs]

    created_at = when(history.created_at)
    entered_at = when(history.stage_entered_at)
    delta = timedelta(days=shift)
    today = (maven.DATASET_HORIZON + delta) + timedelta(days=1)
    expected = [stages[k].expected_days or 0 for k in params.stages]
    noise = pipeline_shape.close_date_noise(len(new), seed=seed + 12)
    for i, deal in enumerate(new):
        opp, row = deal.opportunity, deal.row
        stage = stage_by_index[int(history.final_stage[i])]
        opp.stage = stage
        opp.stage_entered_at = entered_at[i]
        opp.probability = stage.default_probability
        opp.forecast_category = stage.default_forecast_category
        opp.created_at = created_at[i]
        opp.updated_at = entered_at[i]
        opp.closed_at = entered_at[i] if stage.kind != StageKind.OPEN else None
        opp.close_date = (
            row.close_date + delta
            if row.close_date is not None
            else pipeline_shape.open_close_date(
                int(history.final_stage[i]),
                entered_at[i].date(),
                today,
                expected,
                noise=float(noise[i]),
                stalled=bool(stalled[i]),
            )
        )
    # The dataset has no next steps; most open deals get one (see synthetic_evidence).
    process = ProcessDef.model_validate(stage_by_index[0].version.definition)
    open_keys = [
        d.opportunity.stage.key if d.opportunity.stage.kind == StageKind.OPEN else None for d in new
    ]
    habits = owner_habits([d.opportunity.owner_id for d in new], seed=seed)
    skips = [habits.get(d.opportunity.owner_id) == "skips_next_steps" for d in new]
    steps = synthetic_evidence.next_steps(process, open_keys, today, seed=seed + 3, skips=skips)
    for deal, step in zip(new, steps, strict=True):
        if step is not None:
            deal.opportunity.next_step, deal.opportunity.next_step_date = step
    account_names = dict(
        Account.objects.filter(pk__in={d.opportunity.account_id for d in new}).values_list(
            "pk", "name"
        )
    )
    leads = write_leads(
        new,
        account_names,
        today=datetime.combine(today, time.min, tzinfo=UTC),
        seed=seed + 13,
    )
    opps = bulk.bulk_create(Opportunity, [d.opportunity for d in new])
    if any(o.pk is None for o in opps):  # pragma: no cover - backends without RETURNING
        ids = dict(
            Opportunity.objects.filter(external_id__in=[o.external_id for o in opps]).values_list(
                "external_id", "pk"
            )
        )
        for o in opps:
            o.pk = ids[o.external_id]

    adapt_dt = connection.ops.adapt_datetimefield_value
    adapt_date = connection.ops.adapt_datefield_value
    stage_ids = [s.pk for s in stage_by_index]
    opp_ids = [o.pk for o in opps]
    opp_amount = [str(o.amount) for o in opps]
    opp_close = [adapt_date(o.close_date) for o in opps]
    moved_at = [adapt_dt(d) for d in when(history.t_at)]
    source = TransitionSource.SYNTHETIC.value

    def steps(f: int, t: int) -> int | None:
        if f < 0:
            return None
        a, b = stage_by_index[f], stage_by_index[t]
        return stage_steps(a.kind, a.position, b.kind, b.position, source)

    transitions = [
        (
            opp_ids[o],
            stage_ids[f] if f >= 0 else None,
            stage_ids[t],
            moved_at[j],
            opp_amount[o],
            CURRENCY,
            opp_close[o],
            s if s >= 0 else None,
            source,
            "",
            steps(f, t),
        )
        for j, (o, f, t, s) in enumerate(
            zip(
                history.t_opp.tolist(),
                history.t_from.tolist(),
                history.t_to.tolist(),
                history.t_seconds.tolist(),
                strict=True,
            )
        )
    ]
    bulk.insert_rows(
        StageTransition,
        [
            "opportunity",
            "from_stage",
            "to_stage",
            "moved_at",
            "amount",
            "currency",
            "close_date",
            "seconds_in_from_stage",
            "source",
            "note",
            "stage_steps",
        ],
        transitions,
    )

    # Contact roles: slot j of a deal is the account's j-th contact.
    now = adapt_dt(timezone.now())
    deal_contacts: dict[int, list[Contact]] = defaultdict(list)
    roles = []
    for o, slot, role in zip(
        history.c_opp.tolist(), history.c_slot.tolist(), history.c_role.tolist(), strict=True
    ):
        pool = contacts.by_account.get(opps[o].account_id or 0, [])
        if slot >= len(pool):
            continue
        deal_contacts[o].append(pool[slot])
        roles.append((opp_ids[o], pool[slot].pk, history.roles[role], "", now, 1))
    bulk.insert_rows(
        OpportunityContact,
        ["opportunity", "contact", "buying_role", "notes", "added_at", "version"],
        roles,
    )

    # Activities, each with one of the deal's contacts (the one engaged), if it has any.
    occurred = [adapt_dt(d) for d in when(history.a_at)]
    account_names = dict(
        Account.objects.filter(pk__in={o.account_id for o in opps}).values_list("pk", "name")
    )
    activities, links = [], []
    for j, (o, kind) in enumerate(
        zip(history.a_opp.tolist(), history.a_type.tolist(), strict=True)
    ):
        people = deal_contacts.get(o, [])
        contact = people[j % len(people)] if people else None
        type_name = history.activity_types[kind]
        subject = ACTIVITY_SUBJECTS[type_name].format(
            contact=contact.full_name if contact else "the buyer",
            account=account_names.get(opps[o].account_id, "the buyer"),
        )
        activities.append(
            (opp_ids[o], type_name, occurred[j], opps[o].owner_id, subject[:200], "", now, 1)
        )
        links.append(contact.pk if contact else None)
    bulk.insert_rows(
        Activity,
        [
            "opportunity",
            "type",
            "occurred_at",
            "owner",
            "subject",
            "outcome",
            "created_at",
            "version",
        ],
        activities,
    )
    # Rows inserted in one transaction get increasing ids; the new deals' activities are ours.
    activity_ids = list(
        Activity.objects.filter(opportunity_id__in=opp_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if len(activity_ids) != len(activities):  # pragma: no cover - would be a bug
        raise AssertionError("activity ids do not match the inserted rows")
    bulk.insert_rows(
        Activity.contacts.through,
        ["activity", "contact"],
        [(a, c) for a, c in zip(activity_ids, links, strict=True) if c is not None],
    )
    deal_facts_refresh(opp_ids)  # raw inserts send no signals
    evidence, pushes = write_evidence(
        opps,
        history,
        stage_by_index,
        deal_contacts,
        entered_at=entered_at,
        created_at=created_at,
        seed=seed,
    )
    assessments, influences = write_methodology(
        opps,
        history,
        stage_by_index,
        roles,
        created_at=created_at,
        entered_at=entered_at,
        seed=seed,
    )
    return {
        "transitions": len(transitions),
        "activities": len(activities),
        "contact_roles": len(roles),
        "evidence": evidence,
        "close_date_pushes": pushes,
        "methodology_assessments": assessments,
        "buying_influences": influences,
        "leads": leads,
    }
