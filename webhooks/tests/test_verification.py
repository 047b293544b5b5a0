"""Signature verification at the unit level."""

import hmac

import pytest

from webhooks import verification
from webhooks.verification import SignatureError, signature_compute, signature_verify

# The official vector from the Mux Node SDK's webhook tests.
VECTOR_BODY = b'{"test":"body"}'
VECTOR_SECRET = "SuperSecret123"
VECTOR_TIMESTAMP = 1565125718
VECTOR_SIGNATURE = "854ece4c22acef7c66b57d4e504153bc512595e8e9c772ece2a68150548c19a7"


def verify(header, body=VECTOR_BODY, secrets=(VECTOR_SECRET,), now=VECTOR_TIMESTAMP + 10):
    return signature_verify(header=header, body=body, secrets=secrets, tolerance_seconds=300, now=now)


def test_official_vector_computes():
    assert signature_compute(secret=VECTOR_SECRET, timestamp=VECTOR_TIMESTAMP, body=VECTOR_BODY) == (
        VECTOR_SIGNATURE
    )


def test_official_vector_verifies():
    assert verify(f"t={VECTOR_TIMESTAMP},v1={VECTOR_SIGNATURE}") == VECTOR_TIMESTAMP


def test_any_of_several_v1_values_verifies():
    assert verify(f"t={VECTOR_TIMESTAMP},v1=invalid-sig,v1={VECTOR_SIGNATURE}") == VECTOR_TIMESTAMP


def test_any_of_several_secrets_verifies():
    assert verify(f"t={VECTOR_TIMESTAMP},v1={VECTOR_SIGNATURE}", secrets=("rotated-out", VECTOR_SECRET))


@pytest.mark.parametrize(
    ("header", "body", "secrets"),
    [
        (None, VECTOR_BODY, (VECTOR_SECRET,)),
        ("", VECTOR_BODY, (VECTOR_SECRET,)),
        (f"t={VECTOR_TIMESTAMP},v1={VECTOR_SIGNATURE}", VECTOR_BODY, ("wrong-secret",)),
        (f"t={VECTOR_TIMESTAMP},v1={VECTOR_SIGNATURE}", b'{"test":"bodz"}', (VECTOR_SECRET,)),
        (
            f"t={VECTOR_TIMESTAMP},v1={VECTOR_SIGNATURE}",
            b'{"test": "body"}',
            (VECTOR_SECRET,),
        ),  # re-serialised
        (f"t={VECTOR_TIMESTAMP},v2={VECTOR_SIGNATURE}", VECTOR_BODY, (VECTOR_SECRET,)),  # v2 only
        (f"t={VECTOR_TIMESTAMP + 1},v1={VECTOR_SIGNATURE}", VECTOR_BODY, (VECTOR_SECRET,)),  # t edited
        (f"v1={VECTOR_SIGNATURE}", VECTOR_BODY, (VECTOR_SECRET,)),  # no t
        (f"t=abc,v1={VECTOR_SIGNATURE}", VECTOR_BODY, (VECTOR_SECRET,)),
        (f"t={VECTOR_TIMESTAMP},v1={VECTOR_SIGNATURE[:-2]}", VECTOR_BODY, (VECTOR_SECRET,)),  # truncated
        (f"t={VECTOR_TIMESTAMP},v1={VECTOR_SIGNATURE}", VECTOR_BODY, ()),  # no secret configured: fail closed
        (f"t={VECTOR_TIMESTAMP},v1={VECTOR_SIGNATURE}", VECTOR_BODY, ("",)),
    ],
)
def test_bad_signatures_rejected(header, body, secrets):
    with pytest.raises(SignatureError):
        verify(header, body=body, secrets=secrets)


@pytest.mark.parametrize(
    ("offset", "ok"), [(-301, False), (301, False), (-300, True), (300, True), (-10, True)]
)
def test_tolerance_applies_to_past_and_future(offset, ok):
    body = b'{"id":"e1"}'
    t = 1_700_000_000 + offset
    header = f"t={t},v1={signature_compute(secret='s3cret', timestamp=t, body=body)}"
    if ok:
        assert signature_verify(
            header=header, body=body, secrets=["s3cret"], tolerance_seconds=300, now=1_700_000_000
        )
    else:
        with pytest.raises(SignatureError):
            signature_verify(
                header=header, body=body, secrets=["s3cret"], tolerance_seconds=300, now=1_700_000_000
            )


def test_compare_is_constant_time(monkeypatch):
    """every candidate is compared with hmac.compare_digest (once per secret x v1 value)."""
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(verification.hmac, "compare_digest", spy)
    verify(f"t={VECTOR_TIMESTAMP},v1=invalid-sig,v1={VECTOR_SIGNATURE}", secrets=("other", VECTOR_SECRET))
    assert len(calls) == 4


def test_no_plain_equality_on_signatures():
    """The constant-time rule: the verification module never compares signatures with == / !=."""
    import inspect

    source = inspect.getsource(verification)
    assert "compare_digest" in source
    for line in source.splitlines():
        if "signature" in line.lower() or "expected" in line or "candidate" in line:
            assert " == " not in line, line
            assert " != " not in line, line


def test_timestamp_too_large_for_a_float_is_rejected_not_an_error():
    with pytest.raises(SignatureError, match="outside tolerance"):
        verify(f"t={'9' * 400},v1={VECTOR_SIGNATURE}")
