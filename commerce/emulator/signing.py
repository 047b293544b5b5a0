"""Stripe's webhook signature scheme, as Stripe signs: `Stripe-Signature: t=<unix>,v1=<hex>` where the hex
is HMAC-SHA256 of `f"{t}.{body}"` under the endpoint's `whsec_...` secret. One `v1` per active secret
(Stripe sends two while a rolled secret's old one is still live)."""

import hashlib
import hmac
import time


def sign(*, secret: str, timestamp: int, payload: str) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()


def signature_header(*, secrets: list[str], payload: str, timestamp: int | None = None) -> str:
    moment = int(time.time()) if timestamp is None else timestamp
    parts = [f"t={moment}", *(f"v1={sign(secret=s, timestamp=moment, payload=payload)}" for s in secrets)]
    return ",".join(parts)
