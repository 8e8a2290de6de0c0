"""Production settings pass Django's deployment checks; passwords hash with Argon2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _run_in_env(env_extra: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_extra}
    # A production process starts from a clean environment: nothing the test run set for itself
    # (its database, the browser tests' async escape hatch) may leak into the check.
    for leaked in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(leaked, None)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


PRODUCTION = {
    "MILEPOST_ENV": "production",
    "DJANGO_SETTINGS_MODULE": "milepost.settings",
    "SECRET_KEY": "k3Jd9-vQ2m#Lp8Zr!xW4tYb7Nc1Hs6Fg0Ae5Ru2Io9Ky3Tl8Mq",
    "ALLOWED_HOSTS": "milepost.example.com",
}


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = _run_in_env(
        {**PRODUCTION, "MILEPOST_DATA_DIR": str(tmp_path)},
        "from milepost.cli import main; main(['check', '--deploy', '--fail-level', 'WARNING'])",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {**PRODUCTION, "SECRET_KEY": "", "MILEPOST_DATA_DIR": str(tmp_path)}
    result = _run_in_env(env, "import django; django.setup()")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_real_settings_hash_passwords_with_argon2(tmp_path):
    result = _run_in_env(
        {"DJANGO_SETTINGS_MODULE": "milepost.settings", "MILEPOST_DATA_DIR": str(tmp_path)},
        "import django; django.setup();"
        "from django.contrib.auth.hashers import make_password;"
        "print(make_password('s3cret-pass'))",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("argon2$argon2id$")


@pytest.mark.django_db
def test_csrf_is_enforced_on_login(org):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "rep_a1", "password": "whatever"})
    assert response.status_code == 403
