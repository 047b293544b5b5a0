"""`python -m commerce.emulator --port 12111 --api-key KEY --webhook-secret WHSEC [--webhook-url URL]`."""

from __future__ import annotations

import argparse
import logging
import signal

from commerce.emulator import StripeEmulator, is_loopback


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m commerce.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--webhook-secret", action="append", default=[], required=True)
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-attempts", type=int, default=5)
    parser.add_argument(
        "--webhook-retry-seconds", type=float, default=0.5, help="first retry delay (doubles)"
    )
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        parser.error("the emulator only listens on loopback addresses")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    emulator = StripeEmulator(
        api_key=args.api_key,
        webhook_secrets=args.webhook_secret,
        webhook_url=args.webhook_url,
        webhook_max_attempts=args.webhook_attempts,
        webhook_retry_seconds=args.webhook_retry_seconds,
        host=args.host,
        port=args.port,
    ).start()
    print(f"Stripe emulator on {emulator.url}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: emulator.stopping.set())
    try:
        while not emulator.stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
