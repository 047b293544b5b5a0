"""Settings the README documents as configurable are read from the environment, with their defaults
(checked in child processes: settings are read once, at import)."""

import json
import sys

from learnstream.tests.test_settings_production import production_env, run

PRINT = (
    "import django, json; django.setup(); from django.conf import settings; from catalog import cache; "
    "print(json.dumps([cache.analytics_seconds(), settings.MUX_UPLOADS_PER_HOUR]))"
)


def settings_seen(**env: str | None) -> list[int]:
    done = run([sys.executable, "-c", PRINT], production_env(**env))
    assert done.returncode == 0, done.stderr[-2000:]
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_defaults_fit_a_whole_course_upload_and_a_minute_of_analytics() -> None:
    assert settings_seen(CATALOG_ANALYTICS_CACHE_SECONDS=None, MUX_UPLOADS_PER_HOUR=None) == [60, 200]


def test_analytics_cache_seconds_and_upload_quota_come_from_the_environment() -> None:
    assert settings_seen(CATALOG_ANALYTICS_CACHE_SECONDS="7", MUX_UPLOADS_PER_HOUR="35") == [7, 35]
    assert settings_seen(CATALOG_ANALYTICS_CACHE_SECONDS="0", MUX_UPLOADS_PER_HOUR=None) == [0, 200]
