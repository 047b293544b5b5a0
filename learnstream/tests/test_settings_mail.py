"""Mail settings come from one URL (EMAIL_URL) plus DEFAULT_FROM_EMAIL and FRONTEND_BASE_URL (checked
in child processes with production settings: settings are read once, at import)."""

import json
import sys
from typing import Any

from learnstream.tests.test_settings_production import production_env, run

NAMES = [
    "EMAIL_BACKEND",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "EMAIL_TIMEOUT",
    "DEFAULT_FROM_EMAIL",
    "FRONTEND_BASE_URL",
]
PRINT = (
    "import django, json; django.setup(); from django.conf import settings; "
    f"print(json.dumps({{n: getattr(settings, n) for n in {NAMES!r}}}))"
)
SMTP = "django.core.mail.backends.smtp.EmailBackend"


def mail_settings(**env: str | None) -> dict[str, Any]:
    done = run([sys.executable, "-c", PRINT], production_env(**env))
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_starttls_relay_from_one_url() -> None:
    seen = mail_settings(
        EMAIL_URL="smtp+tls://apikey:p%40ss%2Fword@smtp.example.com:587",
        DEFAULT_FROM_EMAIL="Courses <courses@example.com>",
        FRONTEND_BASE_URL="https://learn.example.com/app/",
    )

    assert seen == {
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "apikey",
        "EMAIL_HOST_PASSWORD": "p@ss/word",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": 10,
        "DEFAULT_FROM_EMAIL": "Courses <courses@example.com>",
        "FRONTEND_BASE_URL": "https://learn.example.com/app",
    }


def test_implicit_tls_and_the_defaults() -> None:
    seen = mail_settings(EMAIL_URL="smtp+ssl://u:p@mail.example.com:465", EMAIL_TIMEOUT="3")
    assert (seen["EMAIL_PORT"], seen["EMAIL_USE_SSL"], seen["EMAIL_USE_TLS"], seen["EMAIL_TIMEOUT"]) == (
        465,
        True,
        False,
        3,
    )
    # The client app is the browser origin the API already trusts (production_env sets one).
    assert seen["FRONTEND_BASE_URL"] == "https://app.example.com"
    assert seen["DEFAULT_FROM_EMAIL"] == "LearnStream <no-reply@learnstream.local>"

    local = mail_settings(EMAIL_URL=None)
    assert (local["EMAIL_BACKEND"], local["EMAIL_HOST"], local["EMAIL_PORT"]) == (SMTP, "localhost", 25)


def test_a_frontend_url_that_is_not_http_stops_the_process() -> None:
    done = run([sys.executable, "-c", PRINT], production_env(FRONTEND_BASE_URL="javascript:alert(1)"))

    assert done.returncode != 0
    assert "FRONTEND_BASE_URL must be an http(s) URL" in done.stderr
