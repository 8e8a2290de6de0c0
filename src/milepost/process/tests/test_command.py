"""``milepost process validate|load|diff``: output, exit codes, and atomic loading."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from milepost.process.models import ProcessVersion, SalesProcess
from milepost.process.services import DEFAULTS_DIR, process_load

# These tests load definitions themselves, into an empty catalogue.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_definitions")]

NB = str(DEFAULTS_DIR / "new_business.yaml")
RENEWAL = str(DEFAULTS_DIR / "renewal.yaml")


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("process", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(*args: str) -> tuple[CommandError, str]:
    err = StringIO()
    with pytest.raises(CommandError) as info:
        call_command("process", *args, stdout=StringIO(), stderr=err)
    return info.value, err.getvalue()


def run_diff(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("process", "diff", *args, stdout=out, stderr=StringIO())
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


# -- validate -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "summary"),
    [
        (NB, "process 'new_business', 8 stages (6 open), 17 exit criteria, checksum "),
        (RENEWAL, "process 'renewal', 6 stages (4 open), 12 exit criteria, checksum "),
    ],
)
def test_validate_ok_prints_one_line_summary(path, summary):
    out, err = run("validate", path)
    assert out.startswith(f"OK {path}: {summary}")
    assert len(out.strip().splitlines()) == 1
    assert err == ""


def test_validate_lists_every_error_with_line_and_location(write, nb_text):
    bad = nb_text.replace("probability: 35", "probability: 135").replace(
        "verifier: manager\n        rule:\n          contact_role: {role: champion}",
        "verifier: boss\n        rule:\n          contact_role: {role: champion}",
    )
    path = write("bad.yaml", bad)
    error, err = run_failing("validate", path)
    assert error.returncode == 1
    assert f"{path}: 2 errors" in err
    lines = bad.splitlines()
    verifier_line = next(i for i, text in enumerate(lines, 1) if "verifier: boss" in text)
    assert (
        f"{path}:{verifier_line}: stage #3 'commit' > criterion #2 'champion_identified' "
        "> verifier: should be 'rep', 'manager' or 'buyer' (got 'boss')"
    ) in err
    assert "stage #4 'evaluate' > probability: should be less than or equal to 100" in err


def test_validate_missing_file_is_a_clear_error(tmp_path):
    error, _ = run_failing("validate", str(tmp_path / "nope.yaml"))
    assert "nope.yaml: file not found" in str(error)
    assert error.returncode == 2


# -- load ---------------------------------------------------------------------------------------


def test_load_creates_then_reports_unchanged(org):
    out, _ = run("load", NB, RENEWAL, "--as", org.admin.username)
    assert out.splitlines() == ["new_business: created version 1", "renewal: created version 1"]
    assert ProcessVersion.objects.get(process__key="renewal").loaded_by == org.admin
    out, _ = run("load", NB)
    assert out.strip() == "new_business: unchanged (version 1)"
    assert ProcessVersion.objects.count() == 2


def test_load_changed_file_creates_version_2(write, nb_v2_text):
    run("load", NB)
    out, _ = run("load", write("new_business.yaml", nb_v2_text))
    assert out.strip() == "new_business: created version 2"
    assert list(
        ProcessVersion.objects.filter(process__key="new_business").values_list(
            "number", "is_current", "source_name"
        )
    ) == [(2, True, "new_business.yaml"), (1, False, "new_business.yaml")]


def test_load_with_one_invalid_file_writes_nothing(write, nb_text):
    bad = write("bad.yaml", nb_text.replace("kind: won", "kind: victory"))
    error, err = run_failing("load", RENEWAL, bad)
    assert error.returncode == 1
    assert "nothing loaded" in str(error)
    assert "bad.yaml" in str(error)
    assert "stage #7 'won' > kind" in err
    assert not SalesProcess.objects.exists()
    assert not ProcessVersion.objects.exists()


def test_load_unknown_user_is_refused():
    error, _ = run_failing("load", NB, "--as", "nobody")
    assert "no user named 'nobody'" in str(error)
    assert not ProcessVersion.objects.exists()


# -- diff ---------------------------------------------------------------------------------------


def test_diff_identical_files_exits_0():
    code, out = run_diff(NB, NB)
    assert code == 0
    assert out.splitlines()[-1] == "no differences"


def test_diff_file_against_stored_versions_exits_1_and_lists_changes(write, nb_text, nb_v2_text):
    process_load(text=nb_text)
    v2_path = write("nb2.yaml", nb_v2_text)
    code, out = run_diff("new_business", v2_path)
    assert code == 1
    assert out.splitlines() == [
        "--- new_business@v1 (stored, current)",
        f"+++ {v2_path}",
        "stage 'commit': label “Commit to change” → Commit",
        "stage 'evaluate': probability 35 → 40",
        "2 differences",
    ]
    process_load(text=nb_v2_text)
    code, out = run_diff("new_business@v1", "new_business@v2")
    assert code == 1
    assert "stage 'evaluate': probability 35 → 40" in out
    code, out = run_diff("new_business@v2", v2_path)
    assert code == 0


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("missing_process", "no stored process 'missing_process'"),
        ("new_business@v7", "no stored version 7 of process 'new_business'"),
        ("Not A Ref.yaml", "no such file, and not a stored process reference"),
    ],
)
def test_diff_unknown_reference_is_an_error(ref, message, nb_text):
    process_load(text=nb_text)
    error, _ = run_failing("diff", NB, ref)
    assert message in str(error)
    assert error.returncode == 2


def test_diff_of_a_shipped_file_against_its_stored_version_counts_its_playbooks():
    from milepost.process.services import DEFAULTS_DIR, process_load_defaults

    process_load_defaults()
    code, out = run_diff("new_business", str(DEFAULTS_DIR / "new_business.yaml"))
    assert code == 0, out
    assert "no differences" in out
