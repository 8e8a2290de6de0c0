"""Loading process files: versions are created only for changes, and old versions stay intact."""

from __future__ import annotations

import pytest

from milepost.engine.process_schema import ProcessInvalid
from milepost.process.models import ExitCriterion, ProcessVersion, SalesProcess, Stage
from milepost.process.services import process_load, process_load_defaults

# These tests load definitions themselves, into an empty catalogue.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_definitions")]


def test_first_load_creates_version_1_with_stage_and_criterion_rows(nb_text):
    result = process_load(text=nb_text, source_name="new_business.yaml")
    assert result.created
    assert result.version.number == 1
    assert result.version.is_current
    stages = list(result.version.stages.order_by("position"))
    assert [s.key for s in stages][:3] == ["engage", "discover", "commit"]
    commit = stages[2]
    assert commit.default_probability == 20
    assert list(commit.exit_criteria.values_list("key", "rule")) == [
        ("economic_buyer_engaged", {"contact_role": {"role": "economic_buyer", "min": 1}}),
        ("champion_identified", {"contact_role": {"role": "champion", "min": 1}}),
        (
            "decision_process_shared",
            {
                "methodology": {
                    "pack": "meddpicc",
                    "element": "decision_process",
                    "at_least": "confirmed",
                }
            },
        ),
    ]


def test_reloading_an_unchanged_file_creates_nothing(nb_text):
    first = process_load(text=nb_text)
    # Comments and layout are not part of the definition: same checksum, no new version.
    again = process_load(text="# reformatted\n" + nb_text)
    assert not again.created
    assert again.version.pk == first.version.pk
    assert ProcessVersion.objects.count() == 1
    assert Stage.objects.count() == 8


def test_changed_file_makes_version_2_and_version_1_stays_readable(nb_text, nb_v2_text):
    v1 = process_load(text=nb_text).version
    v2 = process_load(text=nb_v2_text).version
    assert v2.number == 2
    assert v2.is_current
    v1.refresh_from_db()
    assert not v1.is_current
    assert v1.stages.get(key="evaluate").default_probability == 35
    assert v2.stages.get(key="evaluate").default_probability == 40
    assert v1.stages.get(key="commit").label == "Commit to change"
    assert v1.stages.count() == v2.stages.count() == 8
    assert SalesProcess.objects.get(key="new_business").current_version() == v2


def test_invalid_file_writes_nothing(nb_text):
    bad = nb_text.replace("probability: 35", "probability: 135")
    with pytest.raises(ProcessInvalid):
        process_load(text=bad)
    assert not SalesProcess.objects.exists()
    assert not ExitCriterion.objects.exists()


def test_shipped_defaults_load_and_are_idempotent():
    results = process_load_defaults()
    assert sorted(r.version.process.key for r in results) == ["new_business", "renewal"]
    assert all(r.created for r in results)
    assert not any(r.created for r in process_load_defaults())
    renewal = SalesProcess.objects.get(key="renewal").current_version()
    assert [s.key for s in renewal.stages.filter(kind="open")] == [
        "value_realised",
        "renewal_decision",
        "terms",
        "signature",
    ]
