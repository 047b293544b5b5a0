"""A loopback emulator of the subset of the Mux Video API LearnStream uses. See docs/emulator.md.

Framework-free on purpose (stdlib HTTP server, `cryptography` + PyJWT for signing keys), so it runs
in-process in tests (`tests.support.mux`), under `manage.py mux_emulator`, or as
`python -m streaming.emulator`.
"""

from streaming.emulator.core import ApiError, Emulator, EmulatorConfig
from streaming.emulator.server import MuxEmulator, is_loopback
from streaming.emulator.webhooks import sign, signature_header

__all__ = [
    "ApiError",
    "Emulator",
    "EmulatorConfig",
    "MuxEmulator",
    "is_loopback",
    "sign",
    "signature_header",
]
