"""The Stripe emulator against the unmodified SDK: signatures checked by the SDK's own verifier, the API
the app uses, idempotency, auth, and the hosted checkout page a browser pays on."""

import time
import urllib.error
import urllib.request

import pytest
import stripe

from commerce.emulator import sign, signature_header


def test_signatures_are_stripes_scheme_checked_by_the_sdk_verifier():
    payload = '{"id": "evt_1", "object": "event"}'
    now = int(time.time())

    header = signature_header(secrets=["whsec_a"], payload=payload, timestamp=now)

    # Byte for byte what the SDK itself would generate for that timestamp, and accepted by its verifier.
    assert header == stripe.WebhookSignature.generate_signature_header(payload, "whsec_a", timestamp=now)
    assert stripe.WebhookSignature.verify_header(payload, header, "whsec_a", 300) is True
    rotated = signature_header(secrets=["whsec_old", "whsec_new"], payload=payload, timestamp=now)
    assert stripe.WebhookSignature.verify_header(payload, rotated, "whsec_new", 300) is True
    assert stripe.WebhookSignature.verify_header(payload, rotated, "whsec_old", 300) is True
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(payload, header, "whsec_other", 300)
    stale = signature_header(secrets=["whsec_a"], payload=payload, timestamp=now - 301)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(payload, stale, "whsec_a", 300)
    assert sign(secret="whsec_a", timestamp=now, payload=payload) == header.split("v1=")[1]


@pytest.fixture
def sdk(stripe_emulator):
    return stripe.StripeClient(
        stripe_emulator.api_key, base_addresses={"api": stripe_emulator.url}, max_network_retries=0
    )


PARAMS = {
    "mode": "payment",
    "success_url": "https://learn.example.com/ok?s={CHECKOUT_SESSION_ID}",
    "cancel_url": "https://learn.example.com/no",
    "client_reference_id": "order-1",
    "metadata": {"order_id": "order-1"},
    "payment_intent_data": {"metadata": {"order_id": "order-1"}},
    "line_items": [
        {"quantity": 1, "price_data": {"currency": "eur", "unit_amount": 1250, "product_data": {"name": "C"}}}
    ],
}


def test_checkout_session_lifecycle_through_the_sdk(stripe_emulator, sdk):
    session = sdk.v1.checkout.sessions.create(params=PARAMS)

    assert session.object == "checkout.session"
    assert (session.amount_total, session.currency, session.status, session.payment_status) == (
        1250, "eur", "open", "unpaid",
    )  # fmt: skip
    assert session.url == f"{stripe_emulator.url}/c/pay/{session.id}"
    assert sdk.v1.checkout.sessions.retrieve(session.id).client_reference_id == "order-1"

    paid = stripe_emulator.pay(session.id)

    intent = sdk.v1.payment_intents.retrieve(paid["payment_intent"])
    assert (intent.amount, intent.currency, intent.status) == (1250, "eur", "succeeded")
    assert intent.metadata.to_dict() == {"order_id": "order-1"}
    assert [e["type"] for e in stripe_emulator.events()] == [
        "charge.succeeded", "payment_intent.succeeded", "checkout.session.completed",
    ]  # fmt: skip
    refund = sdk.v1.refunds.create(params={"payment_intent": intent.id})
    assert (refund.amount, refund.status) == (1250, "succeeded")
    charge = stripe_emulator.event("charge.refunded")
    assert '"refunded": true' in charge["payload"]
    with pytest.raises(stripe.InvalidRequestError) as again:
        sdk.v1.refunds.create(params={"payment_intent": intent.id})
    assert again.value.code == "charge_already_refunded"
    with pytest.raises(stripe.InvalidRequestError):
        sdk.v1.checkout.sessions.expire(session.id)  # complete sessions cannot expire


def test_idempotency_keys_replay_and_refuse_other_parameters(stripe_emulator, sdk):
    first = sdk.v1.checkout.sessions.create(params=PARAMS, options={"idempotency_key": "k1"})
    again = sdk.v1.checkout.sessions.create(params=PARAMS, options={"idempotency_key": "k1"})

    assert again.id == first.id
    assert len(stripe_emulator.sessions()) == 1
    with pytest.raises(stripe.IdempotencyError):
        sdk.v1.checkout.sessions.create(
            params={**PARAMS, "client_reference_id": "other"}, options={"idempotency_key": "k1"}
        )


def test_bad_keys_unknown_objects_and_bad_params_get_stripes_errors(stripe_emulator, sdk):
    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient(
            "sk_test_wrong", base_addresses={"api": stripe_emulator.url}
        ).v1.checkout.sessions.create(params=PARAMS)
    with pytest.raises(stripe.InvalidRequestError) as missing:
        sdk.v1.checkout.sessions.retrieve("cs_test_nope")
    assert missing.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as bad:
        sdk.v1.checkout.sessions.create(params={**PARAMS, "line_items": []})
    assert bad.value.param == "line_items"
    assert stripe_emulator.sessions() == []


def test_the_hosted_page_pays_and_redirects_to_the_success_url(stripe_emulator, sdk):
    session = sdk.v1.checkout.sessions.create(params=PARAMS)

    with urllib.request.urlopen(session.url, timeout=10) as page:  # noqa: S310
        html = page.read().decode()
    assert "12.50 EUR" in html
    assert 'id="pay"' in html

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(urllib.request.Request(session.url, data=b"", method="POST"), timeout=10)  # noqa: S310
    assert answer.value.code == 303
    assert answer.value.headers["Location"] == f"https://learn.example.com/ok?s={session.id}"
    assert sdk.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"
    assert [e["type"] for e in stripe_emulator.events("checkout.session.completed")] == [
        "checkout.session.completed"
    ]
