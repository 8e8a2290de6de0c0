"""Settings for the test suite: the normal settings plus a fast password hasher.

Argon2 is deliberately slow; hashing it for every test user would dominate the suite. A test
(team/tests/test_security_settings.py) checks that real settings still hash with Argon2.

The SQLite test database is a file (in ``MILEPOST_DATA_DIR``), as the embedded deployment's
is, not Django's default in-memory database: inspection reads a file through ADBC's native
SQLite driver, a second connection an in-memory database cannot have, so only a file lets the
tests run the read path users get (see docs/inspection.md). pytest-xdist workers each get
their own file (pytest-django appends the worker's name).
"""

import os

os.environ.setdefault("MILEPOST_ENV", "test")

from milepost.settings import *  # noqa: F403
from milepost.settings import DATA_DIR, DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The test database is thrown away: no JIT (compiling the plan of a short query cost more
    # than running it, 20% of the API tests' time) and no wait for the WAL flush at each
    # commit (the browser tests and transactional tests commit). Set for libpq itself, so the
    # native Arrow reader's connections and the live server's get it too.
    os.environ.setdefault("PGOPTIONS", "-c jit=off -c synchronous_commit=off")

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(DATA_DIR / "test_milepost.sqlite3")
    DATABASES["jobs"].setdefault("TEST", {})["NAME"] = str(DATA_DIR / "test_jobs.sqlite3")
    # The jobs file holds one table, but migrating it renders every app's migration state
    # (about 10 s a pytest worker). The test runner creates it from the model instead and
    # conftest.py records the migrations as applied, as `milepost migrate --database jobs`
    # leaves it; core/tests/test_jobs_file.py migrates a fresh jobs file for real, once.
    DATABASES["jobs"]["TEST"]["MIGRATE"] = False

# Jobs run inside ``enqueue``, in the test's own transaction: deterministic, no worker to wait
# for. ``core/tests/test_jobs.py`` runs the real database backend and its worker once.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
