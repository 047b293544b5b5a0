"""Throwaway real servers for the degradation tests: a SecantusDB and a redis-server on free loopback
ports, started as child processes and stopped by their own PID (never by name)."""

import contextlib
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECANTUS = ROOT / ".venv-secantus" / "bin" / "secantusd-py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


class ServerProcess:
    def __init__(self, argv: list[str], port: int, log: Path) -> None:
        self.argv, self.port, self.log = argv, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited early: {self.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.argv[0]} did not open port {self.port}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL by PID: an abrupt outage, no graceful shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def secantus(port: int, storage: Path, log: Path) -> ServerProcess:
    # On disk with --sync-on-commit so a SIGKILL loses nothing that was acknowledged.
    argv = [str(SECANTUS), "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(storage),
            "--sync-on-commit", "--log-level", "WARNING"]  # fmt: skip
    return ServerProcess(argv, port, log)


def redis(port: int, log: Path) -> ServerProcess:
    argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    return ServerProcess(argv, port, log)
