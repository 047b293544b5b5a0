"""A real (fast) Argon2 hasher that counts its calls, to prove the timing-equalising hash runs."""

from typing import ClassVar

from learnstream.hashers import FastArgon2PasswordHasher


class CountingArgon2PasswordHasher(FastArgon2PasswordHasher):
    calls: ClassVar[list[str]] = []

    def encode(self, password: str, salt: str) -> str:
        self.calls.append("encode")
        return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        self.calls.append("verify")
        return super().verify(password, encoded)
