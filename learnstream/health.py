"""Liveness and readiness probes (docs/api.md → Operations)."""

import logging

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.http import http_date
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_redis import get_redis_connection

from learnstream import mongo

logger = logging.getLogger(__name__)


# Probes call this many times a second: a constant body, and the headers `never_cache` would set
# (Expires = now) without parsing and re-joining Cache-Control on every call.
_HEALTHZ_BODY = b'{"status": "ok"}'
_NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_HEALTHZ_BODY, content_type="application/json")
    response["Cache-Control"] = _NEVER_CACHE
    response["Expires"] = http_date()
    return response


def _check_postgres() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    if not settings.REDIS_URL:
        return  # the embedded default uses an in-process cache
    caches["ratelimit"]  # ensure the alias exists
    get_redis_connection("ratelimit").ping()


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"postgres": _check_postgres, "mongo": mongo.ping, "redis": _check_redis}
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # any failure means "not ready"; the type is enough for operators
            logger.warning("readiness check failed", extra={"store": name, "error": type(exc).__name__})
            results[name] = "down"
    status = 200 if all(value == "ok" for value in results.values()) else 503
    return JsonResponse(results, status=status)
