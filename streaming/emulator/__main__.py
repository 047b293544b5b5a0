"""`python -m streaming.emulator --port 8001 --webhook-url URL --webhook-secret S` (no Django needed)."""

from __future__ import annotations

import argparse
import contextlib
import logging
from pathlib import Path

from streaming.emulator import EmulatorConfig, MuxEmulator, is_loopback


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m streaming.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-secret", action="append", default=[])
    parser.add_argument("--token-id", default="emulator-token-id")
    parser.add_argument("--token-secret", default="emulator-token-secret")
    parser.add_argument("--ready-delay", type=float, default=2.0)
    parser.add_argument("--state-file", type=Path, default=None)
    parser.add_argument("--storage-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        parser.error("the emulator only listens on loopback addresses")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = EmulatorConfig(
        token_id=args.token_id,
        token_secret=args.token_secret,
        webhook_url=args.webhook_url,
        webhook_secrets=args.webhook_secret,
        ready_delay=args.ready_delay,
        state_file=args.state_file,
        storage_dir=args.storage_dir,
        ensure_signing_key=True,
    )
    emulator = MuxEmulator(config, host=args.host, port=args.port)
    with contextlib.suppress(KeyboardInterrupt):
        emulator.serve_forever()


if __name__ == "__main__":
    main()
