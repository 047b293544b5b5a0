"""Production settings, checked in child processes with DJANGO_ENV=production.

The child processes get a clean environment (no .env leakage from the test run) with strong random
secrets, pointing at the same PostgreSQL/Redis/MongoDB the tests use.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def production_env(**overrides: str | None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "learnstream.settings",
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "JWT_SIGNING_KEY": secrets.token_urlsafe(48),
        "MUX_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "DJANGO_ALLOWED_HOSTS": "api.example.com",
        "DATABASE_URL": os.environ.get(
            "DATABASE_URL", "postgres://learnstream:learnstream@127.0.0.1:5432/learnstream"
        ),
        "MONGO_URI": os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1"),
        "MUX_TOKEN_ID": "prod-token-id",
        "MUX_TOKEN_SECRET": secrets.token_urlsafe(32),
        "MUX_SIGNING_KEY_ID": "prod-signing-key-id",
        "MUX_SIGNING_PRIVATE_KEY": "prod-signing-private-key",
        "CORS_ALLOWED_ORIGINS": "https://app.example.com",
    }
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_check_deploy_clean():
    """`check --deploy --fail-level WARNING` passes with production settings (silenced ids justified
    in settings.py: W008 the proxy redirects, W021 HSTS preload is the operator's call)."""
    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env()
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


SECRET_CASES = {
    "missing_secret_key": ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY"),
    "short_secret_key": ({"DJANGO_SECRET_KEY": "too-short"}, "DJANGO_SECRET_KEY"),
    "dev_secret_key": (
        {"DJANGO_SECRET_KEY": "dev-insecure-secret-key-change-me-0123456789abcdefghijklmnopqrstuv"},
        "DJANGO_SECRET_KEY",
    ),
    "missing_jwt_key": ({"JWT_SIGNING_KEY": None}, "JWT_SIGNING_KEY"),
    "short_jwt_key": ({"JWT_SIGNING_KEY": "x" * 31}, "JWT_SIGNING_KEY"),
    "jwt_key_equals_secret_key": (
        {"JWT_SIGNING_KEY": "same-" + "k" * 60, "DJANGO_SECRET_KEY": "same-" + "k" * 60},
        "JWT_SIGNING_KEY",
    ),
    "missing_webhook_secret": ({"MUX_WEBHOOK_SECRET": None}, "MUX_WEBHOOK_SECRET"),
    "debug_on": ({"DJANGO_DEBUG": "true"}, "DJANGO_DEBUG"),
    "no_allowed_hosts": ({"DJANGO_ALLOWED_HOSTS": None}, "DJANGO_ALLOWED_HOSTS"),
}


@pytest.mark.parametrize("case", list(SECRET_CASES))
def test_production_refuses_to_start_with_missing_or_weak_secrets(case):
    """importing the settings fails with ImproperlyConfigured naming the variable."""
    overrides, variable = SECRET_CASES[case]

    result = run([sys.executable, "-c", "import learnstream.settings"], production_env(**overrides))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr


PROBE = r"""
import json, uuid
import django
django.setup()
from django.conf import settings
from django.core.cache import caches
from django.test import Client
from rest_framework_simplejwt.utils import aware_utcnow
from accounts.models import User
from accounts.revocation import auth_state_publish
from accounts.tokens import mint_access_token

out = {"settings": {
    "DEBUG": settings.DEBUG,
    "PASSWORD_HASHERS_0": settings.PASSWORD_HASHERS[0],
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
    "CORS_ALLOW_CREDENTIALS": settings.CORS_ALLOW_CREDENTIALS,
    "CORS_ALLOW_ALL_ORIGINS": getattr(settings, "CORS_ALLOW_ALL_ORIGINS", False),
    "ACCESS_TOKEN_LIFETIME": settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds(),
    "REFRESH_TOKEN_LIFETIME": settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].total_seconds(),
    "JWT_ABSOLUTE_SESSION_LIFETIME": settings.JWT_ABSOLUTE_SESSION_LIFETIME.total_seconds(),
}}
client = Client(HTTP_HOST="api.example.com", HTTP_X_FORWARDED_PROTO="https")

def probe(name, path, **headers):
    response = client.get(path, secure=True, **headers)
    out[name] = {"status": response.status_code, "headers": dict(response.headers)}

probe("healthz", "/healthz")
probe("me_anonymous", "/api/v1/auth/me")
probe("unknown_api", "/api/v1/nope")
probe("schema_anonymous", "/api/schema/")
probe("docs_anonymous", "/api/docs/")
# Tokens for two users that exist only in Redis: the epoch cache answers, no PostgreSQL row is needed.
for offset, role in enumerate(("student", "admin")):
    user = User(pk=990000 + offset, email=f"{role}@probe.example", role=role, auth_epoch=0, is_active=True)
    auth_state_publish(user_id=user.pk, epoch=0, is_active=True)
    access = mint_access_token(user=user, family=uuid.uuid4(), auth_time=aware_utcnow())
    probe(f"schema_{role}", "/api/schema/", HTTP_AUTHORIZATION=f"Bearer {access}")
    probe(f"docs_{role}", "/api/docs/", HTTP_AUTHORIZATION=f"Bearer {access}")
    caches["default"].delete(f"auth:epoch:{user.pk}")
print("PROBE" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def production_probe() -> dict:
    result = run([sys.executable, "-c", PROBE], production_env())
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("PROBE"))
    return json.loads(line.removeprefix("PROBE"))


def test_production_settings_values(production_probe):
    assert production_probe["settings"] == {
        "DEBUG": False,
        "PASSWORD_HASHERS_0": "django.contrib.auth.hashers.Argon2PasswordHasher",
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "CORS_ALLOW_CREDENTIALS": False,
        "CORS_ALLOW_ALL_ORIGINS": False,
        "ACCESS_TOKEN_LIFETIME": 300.0,
        "REFRESH_TOKEN_LIFETIME": 7 * 86400.0,
        "JWT_ABSOLUTE_SESSION_LIFETIME": 30 * 86400.0,
    }


@pytest.mark.parametrize("name", ["healthz", "me_anonymous", "unknown_api"])
def test_security_headers_everywhere(production_probe, name):
    """HSTS ≥ 1 year with subdomains, nosniff, referrer policy, frame deny, COOP — on 200/401/404."""
    headers = production_probe[name]["headers"]

    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_probe_statuses(production_probe):
    assert {
        name: production_probe[name]["status"] for name in ("healthz", "me_anonymous", "unknown_api")
    } == {
        "healthz": 200,
        "me_anonymous": 401,
        "unknown_api": 404,
    }
    assert "no-store" in production_probe["me_anonymous"]["headers"]["Cache-Control"]


def test_schema_and_docs_not_public(production_probe):
    """in production the schema and Swagger UI need an admin; anonymous 401, student 403."""
    assert production_probe["schema_anonymous"]["status"] == 401
    assert production_probe["docs_anonymous"]["status"] == 401
    assert production_probe["schema_student"]["status"] == 403
    assert production_probe["docs_student"]["status"] == 403
    assert production_probe["schema_admin"]["status"] == 200
    assert production_probe["docs_admin"]["status"] == 200
