"""gunicorn settings for production (`gunicorn -c gunicorn.conf.py learnstream.wsgi`).

Worker model, measured with `make bench` on 2 vCPUs (docs/benchmarks.md has the figures):
- The app is imported once in the master (`preload_app`) and workers are forked from it. Without
  preloading, every recycled worker re-imported Django and the project (~0.75 s CPU each); with it a
  new worker is a fork.
- Workers are recycled after a high, jittered request count: leak protection without the former
  restart every 1-2 s under load (`max_requests = 1000` was the largest self-inflicted cost).
- gthread workers keep client connections alive (sync workers close every connection) and let one
  worker overlap its store round trips. Processes = CPUs + 1 with 2 threads each: Python runs one
  thread at a time per process, so threads only cover store waits, and more of them queue requests
  behind the GIL (cached course detail p99 81-92 ms with 3 x 2 against 130-136 ms with 2 x 4 at the
  same throughput, bench/notes.md).

Garbage collection: the master freezes what it has loaded (`gc.freeze()`) before forking. Python's
full collections walk every tracked object; in a worker those were mostly the ~150,000 the preloaded app
brought with it, which live as long as the process anyway. Measured on a held bench system (gc
callbacks in each worker): full collections of up to 276 ms, the cached course detail's p99 at
221-238 ms; frozen, 1,600 objects and at most 3.6 ms, p99 52-66 ms at a higher rate (bench/notes.md).
Frozen objects are also never written by the collector, so their memory pages stay shared with the
master instead of being copied into every worker.

Fork safety with preloading: the master imports code only; it opens no PostgreSQL connection, no
MongoDB client (learnstream/mongo.py creates it lazily, per PID) and no Redis socket (redis-py pools
reset themselves in a new PID). `pre_fork` closes anything that did get opened anyway, so a worker
never inherits a socket it would share with its siblings.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
from typing import Any

from django.db import connections
from django.urls import get_resolver
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker

from learnstream import mongo

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")  # inside a container, behind the proxy
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Import once in the master; `GUNICORN_PRELOAD=false` restores per-worker imports (then SIGHUP also
# reloads code; with preloading a release needs a restart of the master, which containers do anyway).
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() != "false"
# Recycle workers now and then so a slow leak can never take a host down; jitter keeps them from
# restarting together. With preloading a restart is a fork, not an import.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "50000"))
max_requests_jitter = max_requests // 10
# Request line: 8190 bytes (the header-field limit) so 4-5 KB query strings of real clients pass;
# longer lines get a JSON 414 (JsonErrorWorker below). Header limits stay at gunicorn's defaults.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# Only the local proxy may set X-Forwarded-*.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# No control socket: nothing uses it, and a fixed path is shared by every gunicorn of the same user.
control_socket_disable = True
# learnstream.middleware.RequestLogMiddleware writes one JSON line per request (method, path, status,
# duration, user, ip, request id); gunicorn's access line would repeat it. GUNICORN_ACCESSLOG=- adds it.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

# Errors gunicorn answers before Django sees the request, in the API's error envelope
# (learnstream/errors.py) instead of gunicorn's HTML page.
_ENVELOPE_ERRORS: dict[type[Exception], tuple[int, str, str, str]] = {
    LimitRequestLine: (414, "URI Too Long", "uri_too_long", "The request line is too long."),
    LimitRequestHeaders: (
        431,
        "Request Header Fields Too Large",
        "headers_too_large",
        "The request headers are too large.",
    ),
}


class JsonErrorWorker(ThreadWorker):
    """The gthread worker, answering over-long request lines and headers with the JSON envelope."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        known = next((v for k, v in _ENVELOPE_ERRORS.items() if isinstance(exc, k)), None)
        if known is None:
            super().handle_error(req, client, addr, exc)
            return
        status, reason, code, message = known
        ip = addr[0] if addr else ""
        self.log.warning("Invalid request from ip=%s: %s", ip, type(exc).__name__)
        body = json.dumps({"error": {"code": code, "message": message, "details": {}}}).encode()
        head = (
            f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        try:
            client.sendall(head + body)
        except OSError:
            self.log.debug("Failed to send error message.")


worker_class = JsonErrorWorker


def when_ready(server: Any) -> None:
    # Import every view module in the master (URLconf), so no worker pays for it on its first request.
    if preload_app:
        get_resolver().url_patterns  # noqa: B018 - the attribute access does the import
        gc.collect()  # what is garbage now must not be frozen with the rest
        gc.freeze()


def pre_fork(server: Any, worker: Any) -> None:
    # Nothing the master opened may be inherited: a socket shared by two processes corrupts both.
    if preload_app:
        connections.close_all()
        mongo.close_client()
        gc.freeze()  # also what the master allocated since the last fork (a recycled worker's successor)


def post_fork(server: Any, worker: Any) -> None:
    # MongoClient is not fork-safe: make sure no client created in the master leaks into a worker.
    mongo.close_client()
