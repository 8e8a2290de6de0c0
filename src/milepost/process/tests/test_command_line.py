"""The installed ``milepost`` entry point, in a process of its own: diff(1)-style exit codes.

The child process opens its own SQLite file (``DATABASE_URL`` empty) in the test's folder, so
this test reaches no database of the suite's and runs once, in the SQLite half (conftest.py,
``touches_database``); the in-process tests of the command are in ``test_command.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys

from milepost.process.services import DEFAULTS_DIR

NB = str(DEFAULTS_DIR / "new_business.yaml")


def test_real_command_line_exit_codes(tmp_path, write, nb_v2_text):
    """The installed ``milepost`` entry point returns diff(1)-style codes."""
    env = {**os.environ, "MILEPOST_DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    cli = [sys.executable, "-m", "milepost"]
    same = subprocess.run([*cli, "process", "diff", NB, NB], env=env, capture_output=True)
    differ = subprocess.run(
        [*cli, "process", "diff", NB, write("v2.yaml", nb_v2_text)], env=env, capture_output=True
    )
    invalid = subprocess.run(
        [*cli, "process", "validate", write("bad.yaml", "key: [")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert (same.returncode, differ.returncode, invalid.returncode) == (0, 1, 1)
    assert "not valid YAML" in invalid.stderr
