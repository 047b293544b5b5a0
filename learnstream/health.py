"""Liveness and readiness probes (docs/api.md → Operations)."""

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

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


StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
# Per-request headers of the captured answer, set again on every replay (or left out: no log line, so no
# request id to correlate).
_PER_REQUEST_HEADERS = frozenset({"expires", "x-request-id"})


class LivenessShortcut:
    """WSGI wrapper (learnstream/wsgi.py) that answers the orchestrator's liveness probe, a plain-HTTP
    `GET /healthz`, without Django's request handling: the answer is constant, and the probe only asks
    whether this worker accepts and answers requests. `healthz` above stays its definition: the first
    probe of each process goes through Django, and its status, headers and body are replayed from then
    on with a fresh `Expires`. What the shortcut skips: the request log line (probes every few seconds
    would drown it), the request id and the `ALLOWED_HOSTS` check (load balancers probe by address).
    Anything else (another method, a query string, a request through the TLS proxy, which carries
    `X-Forwarded-Proto`) takes the full stack. Measured in docs/benchmarks.md."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self._answer: tuple[str, list[tuple[str, str]], bytes] | None = None
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not _is_plain_probe(environ):
            return self.app(environ, start_response)
        answer = self._answer
        if answer is None:
            return self._capture(environ, start_response)
        status, headers, body = answer
        start_response(status, [*headers, ("Expires", http_date())])
        return [body]

    def _capture(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        seen: dict[str, Any] = {}

        def remember(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen.update(status=status, headers=headers)
            return (
                start_response(status, headers)
                if exc_info is None
                else start_response(status, headers, exc_info)
            )

        chunks = self.app(environ, remember)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        if seen.get("status", "").startswith("200 ") and body == _HEALTHZ_BODY:
            kept = [(k, v) for k, v in seen["headers"] if k.lower() not in _PER_REQUEST_HEADERS]
            with self._lock:
                self._answer = (seen["status"], kept, body)
        return [body]


def _is_plain_probe(environ: dict[str, Any]) -> bool:
    return (
        environ.get("PATH_INFO") == "/healthz"
        and environ.get("REQUEST_METHOD") == "GET"
        and not environ.get("QUERY_STRING")
        and environ.get("wsgi.url_scheme") == "http"
        and "HTTP_X_FORWARDED_PROTO" not in environ
    )


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
