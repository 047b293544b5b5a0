"""A loopback emulator of the part of Stripe's API LearnStream uses (see docs/commerce.md).

Framework-free (stdlib only) and imports no app, so the unmodified `stripe` SDK can be pointed at it from
tests (as a separate process), from `manage.py stripe_emulator` under `make run`, or from
`python -m commerce.emulator`.
"""

from commerce.emulator.server import StripeEmulator, is_loopback
from commerce.emulator.signing import sign, signature_header

__all__ = ["StripeEmulator", "is_loopback", "sign", "signature_header"]
