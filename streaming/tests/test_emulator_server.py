"""Running the emulator: loopback only, clean shutdown, persistence, control API, management command."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from streaming.emulator import EmulatorConfig, MuxEmulator
from streaming.emulator.core import Emulator
from streaming.emulator.persistence import newest_signing_key


def _emulator_threads():
    return [
        t for t in threading.enumerate() if t.name.startswith("mux-emulator") or "process_request" in t.name
    ]


def test_stop_leaves_no_threads_even_with_open_keep_alive_connections():
    before = set(_emulator_threads())
    emulator = MuxEmulator(EmulatorConfig(reuse_keys=True)).start()
    session = requests.Session()  # keeps its connection open after the response
    assert session.get(f"{emulator.url}/_control/state", timeout=5).status_code == 200
    assert session.get(f"{emulator.url}/video/v1/assets", timeout=5).status_code == 401

    emulator.stop()

    deadline = time.monotonic() + 3
    while set(_emulator_threads()) - before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert set(_emulator_threads()) - before == set()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{emulator.url}/_control/state", timeout=2)
    session.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])  # noqa: S104
def test_refuses_non_loopback_hosts(host):
    with pytest.raises(ValueError, match="loopback"):
        MuxEmulator(host=host)


def test_management_command_refuses_non_loopback_host():
    with pytest.raises(CommandError, match="non-loopback"):
        call_command("mux_emulator", "--host", "0.0.0.0", "--port", "0")  # noqa: S104


def test_state_file_survives_a_restart(tmp_path):
    state_file = tmp_path / "state.json"
    config = EmulatorConfig(
        state_file=state_file, storage_dir=tmp_path / "blobs", ready_delay=0, reuse_keys=True
    )
    first = Emulator(config)
    key = first.create_signing_key()
    upload = first.create_upload(
        {"new_asset_settings": {"playback_policies": ["signed"], "passthrough": "l1"}}
    )
    blob = first.storage_path(upload["id"])
    blob.write_bytes(b"video")
    first.upload_received(upload["id"], path=blob, size=5)
    asset_id = first.get_upload(upload["id"])["asset_id"]
    first.make_ready(asset_id)

    second = Emulator(EmulatorConfig(state_file=state_file, storage_dir=tmp_path / "blobs"))

    assert second.get_signing_key(key["id"])["id"] == key["id"]
    assert set(second.verification_keys()) == {key["id"]}
    assert second.get_asset(asset_id)["status"] == "ready"
    assert second.get_upload(upload["id"])["status"] == "asset_created"
    pid = second.get_asset(asset_id)["playback_ids"][0]["id"]
    asset, policy, path = second.playable(pid)
    assert (asset["id"], policy, path.read_bytes()) == (asset_id, "signed", b"video")
    assert newest_signing_key(state_file) == (key["id"], key["private_key"])
    assert oct(state_file.stat().st_mode & 0o777) == "0o600"


def test_unreadable_state_file_is_ignored(tmp_path):
    state_file = tmp_path / "state.json"
    state_file.write_text("{not json")

    emulator = Emulator(EmulatorConfig(state_file=state_file, storage_dir=tmp_path))

    assert emulator.signing_keys == {}
    assert newest_signing_key(state_file) is None


def test_control_reset_and_validation(mux_emulator):
    from streaming import mux

    upload = mux.create_direct_upload(lesson_id="lesson-1")
    mux_emulator.fail_next(500, count=3)
    mux_emulator.reset()

    assert mux_emulator.uploads() == []
    assert mux_emulator.events() == []
    assert mux_emulator.control("GET", "faults") == {"faults": []}
    with pytest.raises(mux.NotFoundAtMux):
        mux.get_direct_upload(upload.id)
    # Signing keys survive a reset by default, so the app's configured key keeps working.
    assert [k.id for k in mux.list_signing_keys()] == [mux_emulator.signing_key_id]
    for path, payload in [
        ("config", {"webhook_url": "ftp://x"}),
        ("config", {"webhook_secrets": [""]}),
        ("faults", {"count": 1}),
        ("faults", {"status": 999}),
        ("webhooks/release", {"order": "sideways"}),
    ]:
        response = requests.post(f"{mux_emulator.url}/_control/{path}", json=payload, timeout=5)
        assert response.status_code == 400, path
    assert requests.get(f"{mux_emulator.url}/_control/nothing", timeout=5).status_code == 404
    assert (
        requests.post(f"{mux_emulator.url}/_control/assets/nope/ready", json={}, timeout=5).status_code == 404
    )


def test_ready_on_a_deleted_or_errored_asset_is_a_conflict(mux_emulator):
    from streaming import mux

    upload = mux.create_direct_upload(lesson_id="lesson-1")
    mux_emulator.upload_bytes(upload.url, b"\x00" * 10)
    asset_id = mux.get_direct_upload(upload.id).asset_id
    mux_emulator.make_errored(asset_id)

    response = requests.post(f"{mux_emulator.url}/_control/assets/{asset_id}/ready", json={}, timeout=5)

    assert response.status_code == 409
    assert mux.get_asset(asset_id).status == "errored"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.live
def test_management_command_serves_with_dev_settings_and_a_signing_key():
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUX_")}
    env["DJANGO_ENV"] = "development"
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "mux_emulator",
            "--port",
            str(port),
            "--no-persist",
            "--ready-delay",
            "0",
        ],
        cwd=Path(django_settings.BASE_DIR),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                state = requests.get(f"{base}/_control/state", timeout=1).json()
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stdout.read().decode()
                assert time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.1)
        assert len(state["signing_keys"]) == 1
        assert state["config"]["ready_delay"] == 0
        assert state["config"]["webhook_secrets"] == 1
        dev_auth = (django_settings.DEV_MUX_TOKEN_ID, django_settings.DEV_MUX_TOKEN_SECRET)
        assert requests.get(f"{base}/video/v1/assets", auth=dev_auth, timeout=5).status_code == 200
        assert requests.get(f"{base}/video/v1/assets", auth=("x", "y"), timeout=5).status_code == 401

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
