"""HTTP-level limits of the production server config on the live gunicorn."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests import routes, scenario
from tests.support import servers

pytestmark = [pytest.mark.live]


def raw(port: int, payload: bytes) -> int:
    """Send raw bytes, return the status code gunicorn answers with (0 if it just closed)."""
    with socket.create_connection((servers.LOOPBACK, port), timeout=10) as sock:
        sock.sendall(payload)
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    if not data:
        return 0
    return int(data.split(b" ", 2)[1])


def test_oversized_request_line_is_refused(live: Any) -> None:
    path = "/api/v1/courses/?q=" + "a" * 8192
    assert raw(live.proc.port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()) in (400, 414)


def test_oversized_header_is_refused(live: Any) -> None:
    header = "X-Big: " + "b" * 9 * 1024
    request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n{header}\r\n\r\n".encode()
    assert raw(live.proc.port, request) in (400, 431)


def test_too_many_headers_are_refused(live: Any) -> None:
    headers = "".join(f"X-H{i}: v\r\n" for i in range(150))
    request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode()
    assert raw(live.proc.port, request) in (400, 431)


def test_oversized_json_body_is_refused_quickly(live: Any) -> None:
    """a 3 MB JSON body → 413 envelope, fast (DATA_UPLOAD_MAX_MEMORY_SIZE = 1 MB)."""
    body = b'{"email": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    reply = live.request(
        "POST", "/api/v1/auth/register/", body=body, headers={"Content-Type": "application/json"}
    )
    assert reply.status == 413, reply.body[:200]
    assert reply.json()["error"]["code"] == "request_too_large"
    assert reply.elapsed < 1.0


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "DELETE"])
def test_unsupported_methods_on_read_only_routes(live: Any, method: str) -> None:
    """405 for an authenticated caller; anonymous callers are refused before method dispatch (401)."""
    from tests import scenario

    token = scenario.make_actors("methods").token("student")
    reply = live.request(method, "/api/v1/courses/", token=token)
    assert reply.status == 405, (reply.status, reply.body[:200])
    assert reply.json()["error"]["code"] == "method_not_allowed"
    anonymous = live.request(method, "/api/v1/courses/")
    assert anonymous.status in (401, 405), (anonymous.status, anonymous.body[:200])


def _body_operations() -> list[tuple[str, str]]:
    schema = routes.load_schema()
    return [
        (method, path)
        for method, path in routes.schema_operations(schema)
        if "requestBody" in schema["paths"][path][method.lower()]
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), _body_operations(), ids=lambda v: str(v))
def test_every_write_endpoint_refuses_a_3_mb_body(method: str, path: str, mux_emulator: Any) -> None:
    """On every operation with a body, as the admin on a real object: 413 envelope in < 1 s."""
    import time

    api, paths = scenario.inprocess_api(), scenario.Paths()
    world = scenario.build_world(api, scenario.make_actors("big"), paths)
    norm = routes.normalize(path)
    subject = (
        "course"
        if norm.startswith("api/v1/courses/")
        else "lesson"
        if norm.startswith("api/v1/lessons/")
        else "user"
    )
    concrete = paths(path, world[subject]) if "{" in path else path
    body = b'{"title": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    started = time.perf_counter()
    reply = api(method, concrete, token=world.actors.token("admin"), body=scenario.Raw(body, {}))
    elapsed = time.perf_counter() - started
    assert reply.status == 413, (reply.status, str(reply.body)[:200])
    assert reply.body["error"]["code"] == "request_too_large"
    assert elapsed < 1.0
