"""The emulator's `/_control/` API off loopback (issue 10, item 15): it can rewrite assets, inject
faults and read every event, so beyond loopback (a container) it requires a token."""

import socket

import pytest
import requests

from streaming.emulator import EmulatorConfig, MuxEmulator
from streaming.emulator.server import CONTROL_TOKEN_HEADER
from tests.support.mux import MuxEmulatorHandle

TOKEN = "control-token-for-this-test-0123456789"


def test_listening_beyond_loopback_without_a_token_is_refused() -> None:
    with pytest.raises(ValueError, match="control token"):
        MuxEmulator(host="0.0.0.0", allow_non_loopback=True)  # noqa: S104
    with pytest.raises(ValueError, match="loopback"):
        MuxEmulator(host="0.0.0.0", control_token=TOKEN)  # noqa: S104 - still needs the explicit opt-in


def test_beyond_loopback_with_a_token_is_allowed() -> None:
    emulator = MuxEmulator(host="0.0.0.0", allow_non_loopback=True, control_token=TOKEN)  # noqa: S104
    assert emulator.control_token == TOKEN  # constructed only: nothing listens beyond loopback in tests


def test_with_a_token_every_control_call_needs_it() -> None:
    with MuxEmulator(EmulatorConfig(reuse_keys=True), control_token=TOKEN) as emulator:
        url = f"{emulator.url}/_control/state"
        assert requests.get(url, timeout=5).status_code == 401
        assert requests.get(url, headers={CONTROL_TOKEN_HEADER: "wrong"}, timeout=5).status_code == 401
        refused = requests.post(f"{emulator.url}/_control/reset", json={}, timeout=5)
        assert refused.status_code == 401
        assert refused.json() == {"error": "control API: missing or wrong X-Control-Token header"}
        assert requests.get(url, headers={CONTROL_TOKEN_HEADER: TOKEN}, timeout=5).status_code == 200
        # The Mux API itself keeps its own (Basic) authentication, unaffected by the control token.
        assert requests.get(f"{emulator.url}/video/v1/assets", timeout=5).status_code == 401
        handle = MuxEmulatorHandle(
            server=emulator,
            url=emulator.url,
            token_id="t",
            token_secret="s",
            webhook_secret="w",
            signing_key_id="",
            signing_private_key="",
            control_token=TOKEN,
        )
        assert handle.state()["assets"] == []


def test_on_loopback_without_a_token_the_control_api_stays_open(mux_emulator: MuxEmulatorHandle) -> None:
    assert requests.get(f"{mux_emulator.url}/_control/state", timeout=5).status_code == 200


def test_a_refused_control_call_is_answered_before_its_body_is_read() -> None:
    """An unauthenticated caller declaring a huge body gets its 401 at once; nothing is buffered."""
    with MuxEmulator(EmulatorConfig(reuse_keys=True), control_token=TOKEN) as emulator:
        host, port = emulator.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(
                b"POST /_control/reset HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000000000\r\n\r\n{"
            )
            answer = sock.recv(4096)

    assert answer.startswith(b"HTTP/1.1 401") or answer.startswith(b"HTTP/1.0 401")
