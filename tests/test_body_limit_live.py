"""A 10 GiB multipart body against the production server config (issue 10, item 8).

Its own gunicorn (one worker) with a private TMPDIR, so "no temp file" is observable: the request
declares 10 GiB and sends only the first 256 KiB, then waits for the answer. Before the body cap, Django
spooled the file part to TMPDIR and waited for the rest (no answer, a temp file growing); now the
answer comes before the body is read.
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import scenario
from tests.support import servers

pytestmark = [pytest.mark.live]

DECLARED = 10 * 1024**3
SENT = 256 * 1024
BOUNDARY = "ls-boundary-7d1c"
WAIT_SECONDS = 5.0


@pytest.fixture(scope="module")
def capped_server(
    live_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[servers.Managed, Path]]:
    workdir = tmp_path_factory.mktemp("body-limit")
    tmpdir = workdir / "tmp"
    tmpdir.mkdir()
    proc = servers.start_gunicorn({**live_env, "TMPDIR": str(tmpdir)}, workdir, workers=1, threads=2)
    yield proc, tmpdir
    proc.stop()


def _multipart_head() -> bytes:
    return (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="title"\r\n\r\nBig\r\n'
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


def _send_partial(
    port: int, method: str, path: str, token: str | None, tmpdir: Path
) -> tuple[int, float, list[str]]:
    """Declare DECLARED bytes, send SENT, wait for a status line; returns (status, seconds, temp files
    seen while waiting). Status 0: no answer within WAIT_SECONDS."""
    headers = [
        f"{method} {path} HTTP/1.1",
        f"Host: {servers.LOOPBACK}",
        "Accept: application/json",
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        f"Content-Length: {DECLARED}",
    ]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    head = ("\r\n".join(headers) + "\r\n\r\n").encode()
    body = _multipart_head() + b"x" * (SENT - len(_multipart_head()))
    seen: set[str] = set()
    with socket.create_connection((servers.LOOPBACK, port), timeout=WAIT_SECONDS) as sock:
        started = time.perf_counter()
        sock.sendall(head)
        # The server may answer and close before taking the whole prefix: that is the point.
        with contextlib.suppress(OSError):
            sock.sendall(body)
        data = b""
        while b"\r\n" not in data and time.perf_counter() - started < WAIT_SECONDS:
            seen.update(p.name for p in tmpdir.iterdir())
            ready, _, _ = select.select([sock], [], [], 0.05)
            if ready:
                try:
                    chunk = sock.recv(4096)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
        elapsed = time.perf_counter() - started
        seen.update(p.name for p in tmpdir.iterdir())
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, elapsed, sorted(seen)


def test_a_10_gib_multipart_post_is_413_at_once_without_a_temp_file(
    capped_server: tuple[servers.Managed, Path], transactional_db: None
) -> None:
    proc, tmpdir = capped_server
    token = scenario.make_actors("bodycap").token("owner")
    status, elapsed, temp_files = _send_partial(proc.port, "POST", "/api/v1/courses/", token, tmpdir)
    assert (status, temp_files) == (413, []), (status, elapsed, temp_files, proc.log_tail())
    assert elapsed < 1.0


def test_an_anonymous_get_with_a_10_gib_multipart_body_is_answered_without_reading_it(
    capped_server: tuple[servers.Managed, Path], transactional_db: None
) -> None:
    proc, tmpdir = capped_server
    status, elapsed, temp_files = _send_partial(proc.port, "GET", "/api/v1/courses/", None, tmpdir)
    assert (status, temp_files) == (200, []), (status, elapsed, temp_files, proc.log_tail())
    assert elapsed < 1.0
    # The worker is free again: the next request on a fresh connection is served at once.
    reply = servers.http_request("GET", f"http://{servers.LOOPBACK}:{proc.port}/healthz", timeout=5)
    assert reply.status == 200
    assert reply.elapsed < 1.0


def test_a_chunked_body_is_never_read(
    capped_server: tuple[servers.Managed, Path], transactional_db: None
) -> None:
    """No Content-Length: Django reads nothing of it, so there is nothing to cap; the POST is judged
    as empty (401 here: anonymous) and answered before the client has finished sending."""
    proc, tmpdir = capped_server
    head = (
        f"POST /api/v1/courses/ HTTP/1.1\r\nHost: {servers.LOOPBACK}\r\nAccept: application/json\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunk = b"x" * 65536
    with socket.create_connection((servers.LOOPBACK, proc.port), timeout=WAIT_SECONDS) as sock:
        started = time.perf_counter()
        sock.sendall(head + f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        data = sock.recv(4096)
        elapsed = time.perf_counter() - started
    assert data.startswith(b"HTTP/1.1 401"), data[:200]
    assert elapsed < 1.0
    assert list(tmpdir.iterdir()) == []
