"""docker-compose.yml (issue 10, item 15; item 13's scheduler): no store without authentication, every
variable it reads documented in .env.example, nothing published beyond loopback, the emulator's
control API behind a token, due webhook events re-driven every minute, and two task workers.

Static checks of the file as Compose reads it (YAML); `docker compose` is not on the test machines.
"""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
APP_ENV: dict[str, str] = SERVICES["web"]["environment"]
REQUIRED = re.compile(r"\$\{(\w+):\?[^}]+\}")  # ${NAME:?message}: compose refuses to start without it


def _text(value: Any) -> str:
    return " ".join(value) if isinstance(value, list) else str(value)


def test_mongodb_requires_a_password_from_the_environment() -> None:
    env = SERVICES["mongo"]["environment"]
    assert REQUIRED.fullmatch(env["MONGO_INITDB_ROOT_PASSWORD"]).group(1) == "MONGO_PASSWORD"
    assert env["MONGO_INITDB_ROOT_USERNAME"] == "${MONGO_USER:-learnstream}"
    uri = APP_ENV["MONGO_URI"]
    assert uri.startswith("mongodb://${MONGO_USER:-learnstream}:${MONGO_PASSWORD:?")
    assert uri.endswith("@mongo:27017/?authSource=admin")


def test_redis_requires_a_password_from_the_environment() -> None:
    command = SERVICES["redis"]["command"]
    password = command[command.index("--requirepass") + 1]
    assert REQUIRED.fullmatch(password).group(1) == "REDIS_PASSWORD"
    assert REQUIRED.fullmatch(SERVICES["redis"]["environment"]["REDISCLI_AUTH"]).group(1) == "REDIS_PASSWORD"
    assert re.fullmatch(r"redis://:\$\{REDIS_PASSWORD:\?[^}]+\}@redis:6379/0", APP_ENV["REDIS_URL"])


def test_every_app_service_gets_the_authenticated_urls() -> None:
    for name in ("migrate", "web", "worker", "scheduler"):  # the emulator uses no store
        env = SERVICES[name]["environment"]
        assert "${MONGO_PASSWORD:?" in env["MONGO_URI"], name
        assert "${REDIS_PASSWORD:?" in env["REDIS_URL"], name


def test_every_variable_compose_reads_is_documented_in_env_example() -> None:
    used = set(re.findall(r"\$\{(\w+)", (ROOT / "docker-compose.yml").read_text()))
    documented = set(re.findall(r"^(\w+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert used - documented == set()
    assert {"POSTGRES_PASSWORD", "MONGO_PASSWORD", "REDIS_PASSWORD", "MUX_EMULATOR_CONTROL_TOKEN"} <= used


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_published_ports_are_loopback_only(name: str) -> None:
    for port in SERVICES[name].get("ports", []):
        assert str(port).startswith("127.0.0.1:"), (name, port)


def test_the_emulator_off_loopback_requires_a_control_token() -> None:
    emulator = SERVICES["mux-emulator"]
    assert "--allow-non-loopback" in _text(emulator["command"])
    token = emulator["environment"]["MUX_EMULATOR_CONTROL_TOKEN"]
    assert REQUIRED.fullmatch(token).group(1) == "MUX_EMULATOR_CONTROL_TOKEN"


def test_the_scheduler_redrives_due_webhook_events_every_minute() -> None:
    command = _text(SERVICES["scheduler"]["command"])
    assert "python manage.py webhooks_replay" in command
    assert re.findall(r"sleep (\d+)", command) == ["60"]


def test_two_task_workers_drain_the_inbox_by_default() -> None:
    """Concurrent workers are safe (webhooks/tests/test_concurrent_workers.py) and drain the webhook inbox
    1.4-2x faster than one on 2 vCPUs (bench/notes.md); the bench runs as many as this file."""
    worker = SERVICES["worker"]
    assert _text(worker["command"]) == "python manage.py db_worker"
    assert worker["deploy"]["replicas"] == 2
    bench = (ROOT / "bench" / "run.py").read_text()
    assert 'WORKERS = int(os.environ.get("LS_BENCH_WORKERS", "2"))' in bench
