"""Auth, session, secret and database settings, loaded in child processes (a fresh settings import)."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
SHOW = (
    "import json; from django.conf import settings as s; print(json.dumps({"
    "'secret': s.SECRET_KEY, 'jwt': s.JWT_SIGNING_KEY, 'webhook': s.MUX_WEBHOOK_SECRETS,"
    "'access_min': s.SIMPLE_JWT['ACCESS_TOKEN_LIFETIME'].total_seconds() / 60,"
    "'refresh_days': s.SIMPLE_JWT['REFRESH_TOKEN_LIFETIME'].days,"
    "'grace': s.JWT_REFRESH_GRACE_SECONDS, 'session_age': s.SESSION_COOKIE_AGE}))"
)


def _dev_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PYTEST_", "JWT_", "MUX_", "ACCESS_", "REFRESH_", "SESSION_"))
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(
        DJANGO_ENV="development", LS_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="learnstream.settings"
    )
    env.update(overrides)
    return env


def _show(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = f"import django; django.setup(); {SHOW}"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _values(env: dict[str, str]) -> dict:
    done = _show(env)
    assert done.returncode == 0, done.stderr[-800:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_development_secrets_are_random_per_checkout(tmp_path):
    first = _values(_dev_env(tmp_path / "a"))
    again = _values(_dev_env(tmp_path / "a"))
    other = _values(_dev_env(tmp_path / "b"))

    assert first == again  # stable within one checkout: sessions and tokens survive a restart
    for key in ("secret", "jwt", "webhook"):
        assert first[key] != other[key], key
    assert len(first["secret"]) >= 50
    assert len(first["jwt"]) >= 32
    assert len(first["webhook"][0]) >= 16
    assert first["secret"] != first["jwt"]
    secrets_file = tmp_path / "a" / "dev-secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    settings_source = (ROOT / "learnstream" / "settings.py").read_text()
    assert "dev-insecure" not in settings_source  # the old public placeholders are gone


def test_explicit_secrets_win_over_generated_ones(tmp_path):
    values = _values(
        _dev_env(tmp_path, JWT_SIGNING_KEY="k" * 40, MUX_WEBHOOK_SECRET="emulator-shared-secret")
    )
    assert values["jwt"] == "k" * 40
    assert values["webhook"] == ["emulator-shared-secret"]


def test_token_and_session_defaults(tmp_path):
    values = _values(_dev_env(tmp_path))
    assert (values["access_min"], values["refresh_days"], values["grace"], values["session_age"]) == (
        5,
        7,
        15,
        8 * 3600,
    )


def test_py_learnstream_lifetime_names_are_accepted(tmp_path):
    values = _values(
        _dev_env(
            tmp_path,
            ACCESS_TOKEN_EXPIRE_MINUTES="15",
            REFRESH_TOKEN_EXPIRE_DAYS="14",
            SESSION_COOKIE_AGE="3600",
        )
    )
    assert (values["access_min"], values["refresh_days"], values["session_age"]) == (15, 14, 3600)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ACCESS_TOKEN_EXPIRE_MINUTES", "0"),
        ("ACCESS_TOKEN_EXPIRE_MINUTES", "61"),
        ("ACCESS_TOKEN_EXPIRE_MINUTES", "1440"),
        ("REFRESH_TOKEN_EXPIRE_DAYS", "0"),
        ("REFRESH_TOKEN_EXPIRE_DAYS", "91"),
        ("REFRESH_TOKEN_EXPIRE_DAYS", "45"),  # beyond the 30-day absolute session cap
        ("JWT_REFRESH_GRACE_SECONDS", "61"),
        ("SESSION_COOKIE_AGE", "1209600"),
        ("DATABASE_STATEMENT_TIMEOUT_MS", "-1"),
    ],
)
def test_out_of_bounds_values_stop_the_process(tmp_path, name, value):
    done = _show(_dev_env(tmp_path, **{name: value}))

    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert name in done.stderr


def test_wsgi_in_development_mode_warns_loudly(tmp_path):
    env = _dev_env(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", "import learnstream.wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-800:]
    assert "THIS SERVER RUNS IN DEVELOPMENT MODE" in done.stderr


def test_wsgi_in_production_does_not_warn():
    from learnstream.tests.test_settings_production import production_env

    done = subprocess.run(
        [sys.executable, "-c", "import learnstream.wsgi"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-800:]
    assert "MODE" not in done.stderr


@pytest.mark.django_db
def test_postgresql_sessions_carry_timeouts():
    """Every connection the app opens has statement, lock and idle-in-transaction timeouts and keepalives."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    with connection.cursor() as cursor:
        shown = {}
        for name in (
            "statement_timeout",
            "lock_timeout",
            "idle_in_transaction_session_timeout",
            "tcp_keepalives_idle",
        ):
            cursor.execute(f"SHOW {name}")
            shown[name] = cursor.fetchone()[0]
    assert shown["statement_timeout"] == "5s"
    assert shown["lock_timeout"] == "3s"
    assert shown["idle_in_transaction_session_timeout"] == "30s"
    assert connection.connection.deadline_seconds == 6.0
