"""Real server processes for the proof tests: gunicorn, redis-server, SecantusDB and a throwaway
PostgreSQL cluster, each started as a child process on loopback and stopped by its own PID.

Nothing here patches application code: the tests talk to these processes over sockets exactly as
production clients and the app itself do.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
SECANTUS_BIN = ROOT / ".venv-secantus" / "bin" / "secantusd-py"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = LOOPBACK) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
        return True
    return False


def wait_for_port(port: int, *, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.pid} exited with {proc.returncode} before opening port {port}")
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open within {timeout}s")


def wait_for_port_closed(port: int, *, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not port_open(port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} still open after {timeout}s")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_pid(pid: int, *, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Signal one process by PID and wait for it to go away (SIGKILL after `timeout`)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


@dataclass
class Managed:
    """A child process we started; `stop()` only ever signals our own PID."""

    name: str
    port: int
    proc: subprocess.Popen[bytes] | None
    log_path: Path
    pid_override: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    cmd: list[str] = field(default_factory=list)  # how to start it again after `kill()`

    @property
    def pid(self) -> int:
        if self.pid_override is not None:
            return self.pid_override
        assert self.proc is not None
        return self.proc.pid

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            return
        stop_pid(self.pid, sig=sig, timeout=timeout)
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=1)

    def kill(self) -> None:
        """SIGKILL by PID: an abrupt outage, no graceful shutdown; returns once the port is closed."""
        self.stop(sig=signal.SIGKILL)
        wait_for_port_closed(self.port)

    def start(self) -> None:
        """Start the same command again (same port, same on-disk storage) after `kill()` or `stop()`."""
        self.proc = _spawn(self.cmd, env=None, log_path=self.log_path)
        wait_for_port(self.port, timeout=60, proc=self.proc)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _spawn(
    cmd: list[str], *, env: Mapping[str, str] | None, log_path: Path, cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    log = log_path.open("ab")
    try:
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our signals only: Ctrl-C of pytest must not hit it twice
        )
    finally:
        log.close()


# --- Redis ------------------------------------------------------------------------------------------
def start_redis(workdir: Path, port: int | None = None) -> Managed:
    port = port or free_port()
    log_path = workdir / f"redis-{port}.log"
    cmd = [shutil.which("redis-server") or "redis-server", "--bind", LOOPBACK, "--port", str(port),
           "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(workdir)]  # fmt: skip
    proc = _spawn(cmd, env=None, log_path=log_path)
    wait_for_port(port, proc=proc)
    return Managed("redis", port, proc, log_path, cmd=cmd)


# --- SecantusDB -------------------------------------------------------------------------------------
def start_secantus(workdir: Path, port: int | None = None, *, storage: str | None = None) -> Managed:
    """On-disk storage by default (with --sync-on-commit) so a stop/start keeps acknowledged writes."""
    port = port or free_port()
    storage = storage or str(workdir / f"mongo-{port}")
    log_path = workdir / f"secantus-{port}.log"
    cmd = [str(SECANTUS_BIN), "--host", LOOPBACK, "--port", str(port), "--storage-path", storage]
    cmd += ["--log-level", "WARNING"]
    if storage != ":memory:":
        cmd.append("--sync-on-commit")
    proc = _spawn(cmd, env=None, log_path=log_path)
    wait_for_port(port, timeout=60, proc=proc)
    return Managed("mongo", port, proc, log_path, extra={"storage": storage}, cmd=cmd)


# --- PostgreSQL (a throwaway cluster owned by the postgres OS user) ---------------------------------
def _as_postgres(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=True, capture_output=True, timeout=120, **kwargs)


@dataclass
class PgCluster:
    datadir: Path
    port: int
    log_path: Path
    password: str = "proof-pg-password"

    @classmethod
    def create(cls, base: Path) -> PgCluster:
        base.mkdir(parents=True, exist_ok=True)
        datadir = base / "pgdata"
        port = free_port()
        if os.geteuid() == 0:
            shutil.chown(base, "postgres", "postgres")
        pwfile = base / "pw"
        cluster = cls(datadir=datadir, port=port, log_path=base / "postgres.log")
        pwfile.write_text(cluster.password)
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres", "postgres")
        _as_postgres(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(datadir),
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--no-sync",
                "-E",
                "UTF8",
            ]
        )
        return cluster

    @property
    def url_base(self) -> str:
        return f"postgres://postgres:{self.password}@{LOOPBACK}:{self.port}"

    def start(self) -> None:
        opts = f"-p {self.port} -c listen_addresses={LOOPBACK} -k {self.datadir} -c fsync=off"
        _as_postgres(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-o",
                opts,
                "-l",
                str(self.log_path),
                "-w",
                "start",
            ]
        )
        wait_for_port(self.port)

    @property
    def pid(self) -> int:
        return int((self.datadir / "postmaster.pid").read_text().splitlines()[0])

    def stop_by_pid(self, sig: int = signal.SIGQUIT) -> None:
        """SIGQUIT = immediate shutdown (like a crash); the postmaster takes its backends down with it."""
        pid = self.pid
        os.kill(pid, sig)
        deadline = time.monotonic() + 20
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        wait_for_port_closed(self.port)

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            if (self.datadir / "postmaster.pid").exists():
                self.stop_by_pid(signal.SIGINT)
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


# --- gunicorn ---------------------------------------------------------------------------------------
def app_env(overrides: Mapping[str, str]) -> dict[str, str]:
    """Environment for a child Django process: inherit PATH etc., drop pytest's DJANGO_* leftovers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_SETTINGS"))}
    env.setdefault("DJANGO_ENV", "test")
    env.update(overrides)
    return env


def manage(args: list[str], env: Mapping[str, str], *, timeout: float = 300) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def start_gunicorn(
    env: Mapping[str, str],
    workdir: Path,
    *,
    workers: int | None = 3,
    threads: int = 4,
    port: int | None = None,
    wsgi: str = "learnstream.wsgi",
    timeout: int = 30,
) -> Managed:
    """The committed gunicorn.conf.py, bound to loopback; gthread workers give real parallelism.
    `workers=None` keeps the config's own default (2 x CPUs + 1)."""
    port = port or free_port()
    log_path = workdir / f"gunicorn-{port}.log"
    full_env = dict(env)
    full_env.update(
        GUNICORN_BIND=f"{LOOPBACK}:{port}", GUNICORN_THREADS=str(threads), GUNICORN_TIMEOUT=str(timeout)
    )
    if workers is not None:
        full_env["GUNICORN_WORKERS"] = str(workers)
    proc = _spawn(
        [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", wsgi], env=full_env, log_path=log_path
    )
    managed = Managed("gunicorn", port, proc, log_path)
    try:
        wait_for_port(port, timeout=30, proc=proc)
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError, http.client.HTTPException):
                if http_request("GET", f"http://{LOOPBACK}:{port}/healthz", timeout=5).status == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError("gunicorn did not answer /healthz")
            time.sleep(0.1)
    except Exception:
        managed.stop(signal.SIGKILL)
        raise RuntimeError(f"gunicorn failed to start:\n{managed.log_tail()}") from None
    return managed


# --- a tiny HTTP client (http.client, one connection per request: no hidden retries) -----------------
@dataclass
class HttpResult:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float
    method: str = ""
    path: str = ""

    def json(self) -> Any:
        return json.loads(self.body)


def http_request(
    method: str,
    url: str,
    *,
    json_body: Any = None,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    token: str | None = None,
    timeout: float = 30.0,
) -> HttpResult:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    assert parts.hostname == LOOPBACK, "proof tools only talk to loopback"
    send_headers = {"Accept": "application/json", **(headers or {})}
    if token:
        send_headers["Authorization"] = f"Bearer {token}"
    if json_body is not None:
        body = json.dumps(json_body).encode()
        send_headers.setdefault("Content-Type", "application/json")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=send_headers)
        response = conn.getresponse()
        data = response.read()
        return HttpResult(
            status=response.status,
            headers={k.lower(): v for k, v in response.getheaders()},
            body=data,
            elapsed=time.perf_counter() - started,
            method=method,
            path=parts.path,
        )
    finally:
        conn.close()


@contextlib.contextmanager
def temp_workdir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"ls-proof-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
