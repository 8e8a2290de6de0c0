"""The database itself refuses to change or delete history rows (every ``AppendOnly`` model).

The tables come from the app registry, so a new history model fails here until it has a
trigger migration (``pipeline/migrations/_append_only.py``) and a sample row below. Runs on
SQLite and on PostgreSQL (the suite runs once per engine).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import IntegrityError, connection, models, router, transaction
from django.db.models import F
from django.utils import timezone

from milepost.accounts.models import Contact
from milepost.coaching.models import CoachingSession, SkillRating
from milepost.core.models import AppendOnly
from milepost.evidence.models import Artefact, Evidence, EvidenceEvent
from milepost.inspection.models import Snooze, SnoozeEvent
from milepost.methodology.models import (
    BuyingInfluenceEvent,
    ElementAssessment,
    ElementAssessmentEvent,
)
from milepost.pipeline.append_only import APPEND_ONLY_UNLOCK_TABLE, append_only_unlocked
from milepost.pipeline.management.commands import flush as flush_command
from milepost.pipeline.models import Opportunity, OpportunityChange, StageTransition
from milepost.process.models import Stage
from milepost.security.models import SecurityEvent
from milepost.team.models import User
from milepost.testing.factories import (
    Org,
    load_default_processes,
    make_contact,
    make_opportunity,
    make_user,
)

pytestmark = pytest.mark.django_db

HISTORY: list[type[models.Model]] = sorted(
    (m for m in apps.get_models() if issubclass(m, AppendOnly)), key=lambda m: m._meta.label
)
LABELS = [m._meta.label for m in HISTORY]
REFUSED = "append-only"


@dataclass
class World:
    org: Org
    deal: Opportunity
    other_deal: Opportunity
    contact: Contact
    other_contact: Contact
    session: CoachingSession


@pytest.fixture
def world(org: Org, processes: None) -> World:
    deal = make_opportunity(org.rep_a1)
    now = timezone.now()
    sessions = [
        CoachingSession.objects.create(
            manager=org.manager_a, rep=org.rep_a1, scheduled_for=now + timedelta(days=d)
        )
        for d in (1, 2)
    ]
    return World(
        org=org,
        deal=deal,
        other_deal=make_opportunity(org.rep_a1),
        contact=make_contact(deal.account),
        other_contact=make_contact(deal.account),
        session=sessions[0],
    )


# One row per history model, written through the ORM, with every nullable column filled so
# each one's change can be tried (the services that write these rows have their own tests).
def _stage_transition(w: World) -> models.Model:
    return StageTransition.objects.create(
        opportunity=w.deal,
        from_stage=Stage.objects.exclude(pk=w.deal.stage_id).first(),
        to_stage=w.deal.stage,
        moved_at=timezone.now(),
        moved_by=w.org.rep_a1,
        amount=Decimal("1000.00"),
        currency="USD",
        close_date=date.today(),
        seconds_in_from_stage=3600,
        source="user",
        criteria_result={"met": ["budget"]},
        note="moved after the demo",
        stage_steps=1,
    )


def _opportunity_change(w: World) -> models.Model:
    return OpportunityChange.objects.create(
        opportunity=w.deal,
        changed_at=timezone.now(),
        changed_by=w.org.rep_a1,
        source="user",
        close_date_from=date.today(),
        close_date_to=date.today() + timedelta(days=14),
        close_date_shift_days=14,
        amount_from=Decimal("1000.00"),
        amount_to=Decimal("800.00"),
    )


def _evidence_event(w: World) -> models.Model:
    now = timezone.now()
    evidence = Evidence.objects.create(
        opportunity=w.deal,
        criterion_key="budget_confirmed",
        state="active",
        level="buyer",
        note="Budget confirmed",
        recorded_at=now,
        updated_at=now,
    )
    return EvidenceEvent.objects.create(
        evidence=evidence,
        opportunity=w.deal,
        criterion_key="budget_confirmed",
        action="recorded",
        actor=w.org.rep_a1,
        at=now,
        state="active",
        level="buyer",
        note="Budget confirmed",
        link="https://example.com/mail",
        evidence_date=date.today(),
        confirmed_by=w.contact,
        reason="first record",
        source="artefact",
        buyer_claim="accepted",
        artefact=Artefact.objects.create(
            opportunity=w.deal, kind="meeting_notes", text="Notes", uploaded_at=now
        ),
    )


def _element_assessment_event(w: World) -> models.Model:
    now = timezone.now()
    assessment = ElementAssessment.objects.create(
        opportunity=w.deal, pack="meddpicc", element="metrics", level="partial", updated_at=now
    )
    return ElementAssessmentEvent.objects.create(
        assessment=assessment,
        opportunity=w.deal,
        pack="meddpicc",
        element="metrics",
        level="partial",
        previous_level="unknown",
        notes="ROI agreed",
        answers={"q1": "yes"},
        contact_ids=[w.contact.pk],
        actor=w.org.rep_a1,
        at=now,
    )


def _buying_influence_event(w: World) -> models.Model:
    return BuyingInfluenceEvent.objects.create(
        opportunity=w.deal,
        contact=w.contact,
        action="added",
        role="economic",
        degree="high",
        response_mode="growth",
        rating=2,
        win_results="a faster close",
        notes="met twice",
        actor=w.org.rep_a1,
        at=timezone.now(),
    )


def _skill_rating(w: World) -> models.Model:
    return SkillRating.objects.create(
        rep=w.org.rep_a1,
        rater=w.org.manager_a,
        competency="discovery",
        score=3,
        observation="asked about impact",
        is_self=False,
        session=w.session,
        rated_at=timezone.now(),
    )


def _security_event(w: World) -> models.Model:
    return SecurityEvent.objects.create(
        kind="login_failed",
        user=w.org.rep_a1,
        username="rep_a1",
        ip_address="127.0.0.1",
        method="POST",
        path="/login/",
        detail="wrong username or password",
    )


def _snooze_event(w: World) -> models.Model:
    now = timezone.now()
    snooze = Snooze.objects.create(
        opportunity=w.deal,
        reason="Fiscal year starts in March",
        until=date.today(),
        created_by=w.org.manager_a,
        created_at=now,
    )
    return SnoozeEvent.objects.create(
        snooze=snooze,
        opportunity=w.deal,
        action="created",
        actor=w.org.manager_a,
        at=now,
        reason=snooze.reason,
        until=snooze.until,
    )


SAMPLES: dict[str, Callable[[World], models.Model]] = {
    "coaching.SkillRating": _skill_rating,
    "evidence.EvidenceEvent": _evidence_event,
    "inspection.SnoozeEvent": _snooze_event,
    "methodology.BuyingInfluenceEvent": _buying_influence_event,
    "methodology.ElementAssessmentEvent": _element_assessment_event,
    "pipeline.OpportunityChange": _opportunity_change,
    "pipeline.StageTransition": _stage_transition,
    "security.SecurityEvent": _security_event,
}


def _set_null(field: models.Field) -> bool:
    return field.is_relation and field.remote_field.on_delete is models.SET_NULL


def _other_pk(field: models.Field, current: Any) -> Any:
    """Another existing row's key (an unknown one if there is none: the trigger refuses the
    UPDATE before any foreign key is checked)."""
    other = field.related_model.objects.exclude(pk=current).values_list("pk", flat=True).first()
    return other if other is not None else (current or 0) + 10**6


def _changed(field: models.Field, value: Any) -> Any:
    """A value of the field's type different from ``value`` that fits the column."""
    kind = field.get_internal_type()
    if field.is_relation:
        return _other_pk(field, value)
    if kind in ("AutoField", "BigAutoField"):
        return value + 10**6
    if kind in ("CharField", "SlugField", "TextField", "URLField"):
        return "y" if value == "z" else "z"
    if kind in ("SmallIntegerField", "PositiveSmallIntegerField", "IntegerField"):
        return 2 if value == 1 else 1
    if kind in ("BigIntegerField", "PositiveIntegerField", "PositiveBigIntegerField"):
        return 2 if value == 1 else 1
    if kind == "DecimalField":
        return (value or 0) + 1
    if kind == "DateField":
        return (value or date.today()) + timedelta(days=1)
    if kind == "DateTimeField":
        return (value or timezone.now()) + timedelta(days=1)
    if kind == "BooleanField":
        return not value
    if kind == "JSONField":
        return {"changed": True}
    raise AssertionError(f"{field}: no changed value for a {kind}; extend _changed()")


def _row(model: type[models.Model], pk: int) -> dict[str, Any] | None:
    return model.objects.filter(pk=pk).values().first()


def _refused(action: Callable[[], object]) -> None:
    with pytest.raises(IntegrityError, match=REFUSED), transaction.atomic():
        action()


def _raw(sql: str, params: list[Any]) -> Callable[[], None]:
    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    return run


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def test_every_history_model_has_a_sample_row():
    """A new AppendOnly model needs its trigger migration and a sample here."""
    assert sorted(SAMPLES) == LABELS


@pytest.mark.parametrize("model", HISTORY, ids=LABELS)
def test_every_history_table_has_its_triggers(model):
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                [table],
            )
            expected = {"append_only_guard", "append_only_truncate"}
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table]
            )
            expected = {f"{table}__append_only_update", f"{table}__append_only_delete"}
        assert {name for (name,) in cursor.fetchall()} >= expected


@pytest.mark.parametrize("model", HISTORY, ids=LABELS)
def test_inserts_still_work(world, model):
    row = SAMPLES[model._meta.label](world)
    count = model.objects.count()
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    names = ", ".join(_q(c) for c in columns)
    table, pk = _q(model._meta.db_table), _q(model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {table} WHERE {pk} = %s", [row.pk]
        )
    assert model.objects.count() == count + 1


@pytest.mark.parametrize("model", HISTORY, ids=LABELS)
def test_no_column_can_be_changed_by_update_or_raw_sql(world, model):
    row = SAMPLES[model._meta.label](world)
    before = _row(model, row.pk)
    table, pk = _q(model._meta.db_table), _q(model._meta.pk.column)
    for field in model._meta.concrete_fields:
        if _set_null(field):
            continue
        new = _changed(field, getattr(row, field.attname))
        qs = model.objects.filter(pk=row.pk)
        _refused(lambda qs=qs, field=field, new=new: qs.update(**{field.attname: new}))
        sql = f"UPDATE {table} SET {_q(field.column)} = %s WHERE {pk} = %s"
        _refused(_raw(sql, [field.get_db_prep_save(new, connection), row.pk]))
    assert _row(model, row.pk) == before
    # Writing the same values back changes nothing, so it is not refused.
    plain = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
    model.objects.filter(pk=row.pk).update(**{name: F(name) for name in plain})
    assert _row(model, row.pk) == before


@pytest.mark.parametrize("model", HISTORY, ids=LABELS)
def test_a_set_null_reference_may_only_be_cleared(world, model):
    """What Django does when the user, contact or session a history row points at is deleted:
    UPDATE ... SET ref = NULL. Pointing it at another row is refused like any change."""
    row = SAMPLES[model._meta.label](world)
    refs = [f for f in model._meta.concrete_fields if _set_null(f)]
    assert refs, "every history model points at a person; the test expects one such reference"
    qs = model.objects.filter(pk=row.pk)
    for field in refs:
        current = getattr(row, field.attname)
        assert current is not None, f"fill {field.name} in the sample row"
        _refused(lambda field=field, current=current: qs.update(
            **{field.attname: _other_pk(field, current)}
        ))  # fmt: skip
        qs.update(**{field.attname: None})
        assert _row(model, row.pk)[field.attname] is None


@pytest.mark.parametrize("model", HISTORY, ids=LABELS)
def test_deletes_are_refused(world, model):
    row = SAMPLES[model._meta.label](world)
    table, pk = _q(model._meta.db_table), _q(model._meta.pk.column)
    qs = model.objects.filter(pk=row.pk)
    _refused(qs.delete)
    _refused(lambda: qs._raw_delete(qs.db))
    _refused(_raw(f"DELETE FROM {table} WHERE {pk} = %s", [row.pk]))
    _refused(_raw(f"DELETE FROM {table}", []))
    if connection.vendor == "postgresql":
        connection.check_constraints()  # no pending foreign-key checks: TRUNCATE would refuse
        _refused(_raw(f"TRUNCATE {table} CASCADE", []))
    assert qs.exists()


@pytest.mark.parametrize("model", HISTORY, ids=LABELS)
def test_an_unlocked_block_may_rewrite_and_locks_again_after(world, model):
    row = SAMPLES[model._meta.label](world)
    qs = model.objects.filter(pk=row.pk)
    field = next(f for f in model._meta.concrete_fields if not (f.primary_key or f.is_relation))
    new = _changed(field, getattr(row, field.attname))
    with append_only_unlocked("test: a backfill"):
        qs.update(**{field.attname: new})
    assert _row(model, row.pk)[field.attname] == new
    _refused(lambda: qs.update(**{field.attname: _changed(field, new)}))

    def delete_then_fail() -> None:
        with append_only_unlocked("test: rolled back"):
            qs.delete()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        delete_then_fail()
    assert qs.exists()  # the delete rolled back with the block
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {_q(APPEND_ONLY_UNLOCK_TABLE)}")
        assert cursor.fetchone() == (0,)
    with append_only_unlocked("test: delete"):
        qs.delete()
    assert not qs.exists()


def test_deleting_a_deal_with_history_is_refused_unless_unlocked(world):
    deal = Opportunity.objects.filter(pk=world.deal.pk)
    assert StageTransition.objects.filter(opportunity=world.deal).exists()
    _refused(deal.delete)
    assert deal.exists()
    with append_only_unlocked("test: a deal deleted with its history"):
        deal.delete()
    assert not deal.exists()
    assert not StageTransition.objects.filter(opportunity_id=world.deal.pk).exists()


def test_deleting_a_person_keeps_the_history_without_the_link(world):
    rows = {label: build(world) for label, build in SAMPLES.items()}
    rater = make_user("rater_to_go", manager=world.org.manager_a)
    rating = SkillRating.objects.create(
        rep=world.org.rep_a1, rater=rater, competency="discovery", score=4,
        observation="joined a call", rated_at=timezone.now(),
    )  # fmt: skip
    User.objects.filter(pk=rater.pk).delete()
    Contact.objects.filter(pk=world.contact.pk).delete()
    CoachingSession.objects.filter(pk=world.session.pk).delete()
    rating.refresh_from_db()
    assert rating.rater_id is None
    event = EvidenceEvent.objects.get(pk=rows["evidence.EvidenceEvent"].pk)
    assert event.confirmed_by_id is None
    assert event.actor_id == world.org.rep_a1.pk
    influence = BuyingInfluenceEvent.objects.get(pk=rows["methodology.BuyingInfluenceEvent"].pk)
    assert influence.contact_id is None
    assert SkillRating.objects.get(pk=rows["coaching.SkillRating"].pk).session_id is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("reset_sequences", "delete_up_to"),
    [(True, 1_000), (False, 1_000), (False, 1)],
    ids=["truncate-and-reset", "delete-small-tables", "truncate-a-large-table"],
)
def test_flush_empties_the_history_tables(world, reset_sequences, delete_up_to, monkeypatch):
    """Django's flush (run by pytest-django after every transactional test) may empty them:
    with TRUNCATE, or on PostgreSQL with DELETE where every table is small (the tests' case;
    ``delete_up_to=1`` makes the sample's tables count as large)."""
    monkeypatch.setattr(flush_command, "DELETE_UP_TO_ROWS", delete_up_to)
    for build in SAMPLES.values():
        build(world)
    call_command("flush", interactive=False, verbosity=0, reset_sequences=reset_sequences)
    # Content types and permissions are written again by the post_migrate signal.
    recreated = {"contenttypes", "auth"}
    left = [
        model.__name__
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label not in recreated
        and router.db_for_read(model) in (None, "default")
        and model._default_manager.exists()
    ]
    assert left == []
    assert not any(model.objects.exists() for model in HISTORY)
    load_default_processes()
    row = make_opportunity(make_user("after_flush")).transitions.get()
    _refused(StageTransition.objects.filter(pk=row.pk).delete)
