"""Request-line and header limits of the production gunicorn config, on a live gunicorn
(gunicorn.conf.py), and their place in the OpenAPI schema; the master's garbage-collector freeze."""

from __future__ import annotations

import gc
import json
import runpy
import socket
from typing import Any

import pytest

from tests import routes
from tests.support import servers

ENVELOPE_CODES = {414: "uri_too_long", 431: "headers_too_large"}


def exchange(port: int, payload: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the whole answer (the server closes after an error): status, headers, body."""
    with socket.create_connection((servers.LOOPBACK, port), timeout=10) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    return int(status_line.split(" ", 2)[1]), headers, body


def get(port: int, target: str, extra_headers: str = "") -> tuple[int, dict[str, str], bytes]:
    request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra_headers}\r\n"
    return exchange(port, request.encode())


@pytest.mark.live
def test_query_strings_of_real_clients_pass(live: Any) -> None:
    """A 5 KB query string (seen from real list clients) reaches the API: gunicorn used to answer 414."""
    target = "/api/v1/courses/?search=python&utm_content=" + "a" * 5000
    assert len(f"GET {target} HTTP/1.1") > 4094  # over gunicorn's default limit
    status, headers, body = get(live.proc.port, target)
    assert status == 200, body[:300]
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["results"] == []


@pytest.mark.live
def test_over_long_request_line_gets_the_json_envelope(live: Any) -> None:
    status, headers, body = get(live.proc.port, "/api/v1/courses/?search=" + "a" * 8200)
    assert status == 414
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert json.loads(body) == {
        "error": {"code": "uri_too_long", "message": "The request line is too long.", "details": {}}
    }


@pytest.mark.live
def test_oversized_header_gets_the_json_envelope(live: Any) -> None:
    status, headers, body = get(live.proc.port, "/healthz", extra_headers=f"X-Big: {'b' * 9000}\r\n")
    assert status == 431
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "error": {"code": "headers_too_large", "message": "The request headers are too large.", "details": {}}
    }


@pytest.mark.live
def test_a_server_limit_error_leaves_the_worker_serving(live: Any) -> None:
    assert get(live.proc.port, "/healthz?" + "q" * 9000)[0] == 414
    status, _headers, body = get(live.proc.port, "/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})


def test_schema_lists_414_and_431_with_the_envelope_on_every_operation() -> None:
    schema = routes.load_schema()
    operations = routes.schema_operations(schema)
    assert len(operations) > 20
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for method, path in operations:
        responses = schema["paths"][path][method.lower()]["responses"]
        for status in ENVELOPE_CODES:
            assert responses[str(status)]["content"]["application/json"]["schema"] == envelope, (
                method,
                path,
                status,
            )


def test_the_master_freezes_what_it_loaded_before_forking() -> None:
    """Workers' full collections skip what the preloaded app allocated (gunicorn.conf.py says why)."""
    config: dict[str, Any] = runpy.run_path(str(servers.ROOT / "gunicorn.conf.py"))
    assert config["preload_app"] is True
    gc.unfreeze()
    try:
        config["when_ready"](None)
        assert gc.get_freeze_count() > 10_000  # Django, DRF and the URLconf's views
    finally:
        gc.unfreeze()
