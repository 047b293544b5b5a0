"""Signing keys the emulator issues, and the signed-playback gate.

Keys are RSA-2048, returned like Mux does: `private_key` = base64 of a PKCS#1 PEM. A playback token is
accepted when it is RS256, signed by one of our keys (`kid` in the JWT header or in the claims, as the
Node SDK does), unexpired (`exp` required), with `sub` = the playback id and `aud` = the media kind.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

AUDIENCES = {"stream": "v", "thumbnail": "t", "gif": "g", "storyboard": "s"}


@dataclass(frozen=True)
class KeyPair:
    private_key_b64: str
    public_pem: bytes


def generate_key_pair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # PKCS#1, like Mux
        serialization.NoEncryption(),
    )
    return KeyPair(
        private_key_b64=base64.b64encode(private_pem).decode("ascii"),
        public_pem=public_pem_from_private_b64(base64.b64encode(private_pem).decode("ascii")),
    )


_pool: list[KeyPair] = []
_pool_lock = threading.Lock()


def pooled_key_pair(index: int) -> KeyPair:
    """The index-th key of a process-wide pool: tests start many emulators, RSA generation is slow.

    Keys stay distinct within one emulator (index = its key counter); only separate emulator
    instances in one test process share them.
    """
    with _pool_lock:
        while len(_pool) <= index:
            _pool.append(generate_key_pair())
        return _pool[index]


def public_pem_from_private_b64(private_key_b64: str) -> bytes:
    private = serialization.load_pem_private_key(base64.b64decode(private_key_b64), password=None)
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class TokenRejected(Exception):
    """Why a playback token was refused (for the emulator's log; clients only see 403)."""


def verify_playback_token(
    token: str | None, *, playback_id: str, audience: str, public_keys: dict[str, bytes]
) -> dict[str, Any]:
    if not token:
        raise TokenRejected("missing token")
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise TokenRejected(f"malformed token: {exc}") from exc
    if header.get("alg") != "RS256":
        raise TokenRejected("alg must be RS256")
    kid = header.get("kid") or unverified.get("kid")
    public_pem = public_keys.get(kid) if isinstance(kid, str) else None
    if public_pem is None:
        raise TokenRejected("unknown signing key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            public_pem,
            algorithms=["RS256"],
            audience=audience,
            options={"require": ["exp", "sub", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise TokenRejected(str(exc)) from exc
    if claims.get("sub") != playback_id:
        raise TokenRejected("sub does not match the playback id")
    return claims
