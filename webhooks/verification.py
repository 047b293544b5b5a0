"""Mux webhook signatures.

`Mux-Signature: t=<unix seconds>,v1=<hex hmac>[,v1=<hex hmac>...]`; the signed payload is
`f"{t}."` + the raw request body, HMAC-SHA256 with the endpoint's signing secret. Several `v1` values
and several configured secrets are accepted so secrets can be rotated without dropping events.
"""

import hashlib
import hmac
import time
from collections.abc import Iterable


class SignatureError(Exception):
    """The header is missing, malformed, outside the tolerance window, or matches no secret."""


def signature_compute(*, secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header_parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError as exc:
                raise SignatureError("malformed timestamp") from exc
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None:
        raise SignatureError("no timestamp")
    if not signatures:
        raise SignatureError("no v1 signatures")
    return timestamp, signatures


def signature_verify(
    *,
    header: str | None,
    body: bytes,
    secrets: Iterable[str],
    tolerance_seconds: int,
    now: float | None = None,
) -> int:
    """Return the signed timestamp, or raise SignatureError. Fails closed when no secret is configured."""
    if not header:
        raise SignatureError("missing Mux-Signature header")
    timestamp, signatures = signature_header_parse(header)
    current = time.time() if now is None else now
    # Reject the far future too: a captured request must not become replayable later. A timestamp too
    # large for a float (`t=9999...`) is simply outside the window, not a server error.
    try:
        skew = abs(current - timestamp)
    except OverflowError as exc:
        raise SignatureError("timestamp outside tolerance") from exc
    if skew > tolerance_seconds:
        raise SignatureError("timestamp outside tolerance")
    matched = False
    for secret in secrets:
        if not secret:
            continue
        expected = signature_compute(secret=secret, timestamp=timestamp, body=body)
        for candidate in signatures:
            # Constant-time compare, and no early exit, so timing says nothing about which part matched.
            if hmac.compare_digest(expected.encode(), candidate.encode()):
                matched = True
    if not matched:
        raise SignatureError("no matching signature")
    return timestamp
