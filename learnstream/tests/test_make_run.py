"""The README's first command, for real: `make run` on the embedded default, twice.

Runs on its own ports and data directory (LS_* variables) with every store variable removed from the
environment, so it exercises exactly what a newcomer gets: SQLite, an on-disk SecantusDB, the
in-process cache and the Mux emulator, seeded. Ctrl-C (SIGINT to the process group) must stop
everything it started, and a second run must keep the data.
"""

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STORE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "MONGO_URI", "MONGO_DB", "DJANGO_ENV", "DATABASE_TEST_NAME")
CREATED = re.compile(r"created (\w+)\s+(\S+@\S+)\s+password: (\S+)")

pytestmark = [pytest.mark.live, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _http(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback only
    request.add_header("Content-Type", "application/json")
    request.add_header("Accept", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


class MakeRun:
    def __init__(self, env: dict[str, str], port: int) -> None:
        self.port = port
        self.output: list[str] = []
        self.process = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, like a terminal's foreground job
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    @property
    def text(self) -> str:
        return "".join(self.output)

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"make run exited early:\n{self.text}"
            try:
                status, _ = _http("GET", f"http://127.0.0.1:{self.port}/readyz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"/readyz never answered 200:\n{self.text}")

    def interrupt(self) -> int:
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise


@pytest.fixture
def run_env(tmp_path: Path) -> tuple[dict[str, str], dict[str, int]]:
    ports = {"app": _free_port(), "mongo": _free_port(), "emulator": _free_port()}
    env = {key: value for key, value in os.environ.items() if key not in STORE_VARIABLES}
    env.update(
        LS_VAR_DIR=str(tmp_path / "var"),
        LS_PORT=str(ports["app"]),
        LS_MONGO_PORT=str(ports["mongo"]),
        LS_MUX_EMULATOR_PORT=str(ports["emulator"]),
    )
    return env, ports


def test_make_run_serves_seeded_api_and_keeps_data_across_restarts(run_env):
    env, ports = run_env
    base = f"http://127.0.0.1:{ports['app']}"

    first = MakeRun(env, ports["app"])
    try:
        first.wait_ready()
        assert (
            f"outgoing mail (password reset, verification links) is written to {env['LS_VAR_DIR']}/mail/"
            in first.text
        )
        credentials = {email: password for _role, email, password in CREATED.findall(first.text)}
        assert set(credentials) == {
            "admin@learnstream.local",
            "instructor@learnstream.local",
            "student@learnstream.local",
            "student2@learnstream.local",
            "student3@learnstream.local",
        }
        status, tokens = _http(
            "POST",
            f"{base}/api/v1/auth/token",
            {"email": "admin@learnstream.local", "password": credentials["admin@learnstream.local"]},
        )
        assert status == 200
        assert set(tokens) == {"access", "refresh"}
        status, courses = _http("GET", f"{base}/api/v1/courses/")
        assert status == 200
        assert [course["title"] for course in courses["results"]] == ["Django from Zero"]
        # The seed uploaded a demo video to the emulator; its signed webhooks make the lesson ready.
        lessons_url = f"{base}/api/v1/courses/{courses['results'][0]['id']}/lessons/"
        deadline = time.monotonic() + 60
        while True:
            _, lessons = _http("GET", lessons_url)
            if lessons["results"][0]["video_status"] == "ready" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert lessons["results"][0]["video_status"] == "ready", first.text
        status, playback = _http("GET", f"{base}/api/v1/lessons/{lessons['results'][0]['id']}/playback")
        assert status == 200, playback
        with urllib.request.urlopen(playback["stream_url"], timeout=10) as response:  # noqa: S310
            assert response.status == 200
        for path in ("/api/docs/", "/admin/login/", "/api/schema/"):
            with urllib.request.urlopen(f"{base}{path}", timeout=10) as response:  # noqa: S310
                assert response.status == 200, path
    finally:
        exit_code = first.interrupt()
    assert exit_code in (0, 130, -signal.SIGINT), first.text
    for name, port in ports.items():
        assert not _port_open(port), f"{name} still listening on {port} after Ctrl-C"

    second = MakeRun(env, ports["app"])
    try:
        second.wait_ready()
        assert "password:" not in second.text
        assert second.text.count("exists") >= 4
        status, _ = _http(
            "POST",
            f"{base}/api/v1/auth/token",
            {"email": "student@learnstream.local", "password": credentials["student@learnstream.local"]},
        )
        assert status == 200
        status, courses = _http("GET", f"{base}/api/v1/courses/")
        assert status == 200
        assert courses["count"] == 1
    finally:
        second.interrupt()
    for name, port in ports.items():
        assert not _port_open(port), f"{name} still listening on {port} after the second Ctrl-C"
