"""Settings for the test suite: the normal settings plus a fast password hasher.

Argon2 is deliberately slow; hashing it for every test user would dominate the suite. A test
(team/tests/test_security_settings.py) checks that real settings still hash with Argon2.
"""

import os

os.environ.setdefault("MILEPOST_ENV", "test")

from milepost.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
