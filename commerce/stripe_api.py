"""The Stripe integration: the only importer of the official `stripe` SDK (an import-linter contract
keeps it so).

Callers get plain dataclasses and three failures: `StripeUnavailable` (502: Stripe refused or could not
be reached), `StripeTimeout` (504: no answer within `STRIPE_REQUEST_TIMEOUT_SECONDS`) and
`SignatureInvalid` (a webhook that is not Stripe's). Stripe's error bodies are logged, never shown.
`STRIPE_API_BASE` points the unmodified SDK at the local emulator.
"""

import functools
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings

from learnstream.errors import ApplicationError, IntegrationError, ServiceUnavailable

logger = logging.getLogger(__name__)


class StripeUnavailable(IntegrationError):
    code = "payment_provider_error"
    default_message = "The payment provider did not accept the request. Try again later."


class StripeTimeout(ApplicationError):
    status_code = 504
    code = "payment_provider_timeout"
    default_message = "The payment provider did not answer in time. Try again later."


class PaymentsDisabled(ServiceUnavailable):
    code = "payments_unavailable"
    default_message = "Payments are not configured on this server."


class SignatureInvalid(Exception):
    """The `Stripe-Signature` header is missing, malformed, stale, or matches no configured secret."""


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str
    status: str


@functools.lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, timeout: float, retries: int) -> stripe.StripeClient:
    # One client (and its connection pool) per configuration; the SDK retries connection errors, 409s
    # and 5xx with backoff, safely because every POST carries an idempotency key.
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise PaymentsDisabled()
    return _client(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE.rstrip("/"),
        float(settings.STRIPE_REQUEST_TIMEOUT_SECONDS),
        int(settings.STRIPE_MAX_NETWORK_RETRIES),
    )


def _translate(operation: str, exc: stripe.StripeError) -> ApplicationError:
    if isinstance(exc, stripe.APIConnectionError):
        cause = exc.__cause__
        # The SDK wraps its HTTP library's error; a read/connect timeout is a 504, anything else a 502.
        if cause is not None and "Timeout" in type(cause).__name__:
            logger.warning("stripe %s timed out", operation)
            return StripeTimeout()
        logger.warning("stripe %s: connection failed (%s)", operation, type(cause).__name__)
        return StripeUnavailable()
    logger.warning(
        "stripe %s failed: HTTP %s %s %s",
        operation,
        exc.http_status,
        type(exc).__name__,
        getattr(exc, "code", "") or "",
    )
    return StripeUnavailable()


def checkout_session_create(
    *,
    order_id: str,
    amount: int,
    currency: str,
    product_name: str,
    success_url: str,
    cancel_url: str,
    customer_email: str,
    idempotency_key: str,
) -> CheckoutSession:
    """A hosted Checkout Session for one course. The order id travels as `client_reference_id` and in
    the session's and the PaymentIntent's metadata, so every later event finds its order."""
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency,
                    "unit_amount": amount,
                    "product_data": {"name": product_name[:250] or "Course"},
                },
            }
        ],
        "client_reference_id": order_id,
        "metadata": {"order_id": order_id},
        "payment_intent_data": {"metadata": {"order_id": order_id}},
        "customer_email": customer_email,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    try:
        session = client().v1.checkout.sessions.create(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        raise _translate("checkout.sessions.create", exc) from exc
    return CheckoutSession(id=str(session.id), url=str(session.url or ""), status=str(session.status))


def payment_intent_order_id(*, payment_intent_id: str) -> str | None:
    """The order id a PaymentIntent carries in its metadata (for charge events, which do not)."""
    try:
        intent = client().v1.payment_intents.retrieve(payment_intent_id)
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404:
            return None
        raise _translate("payment_intents.retrieve", exc) from exc
    except stripe.StripeError as exc:
        raise _translate("payment_intents.retrieve", exc) from exc
    metadata: dict[str, Any] = intent.to_dict().get("metadata") or {}
    value = metadata.get("order_id")
    return str(value) if value else None


def refund_create(*, payment_intent_id: str, order_id: str, idempotency_key: str) -> str:
    """Refund the whole payment; returns the refund id. `charge.refunded` then reports it."""
    try:
        refund = client().v1.refunds.create(
            params={"payment_intent": payment_intent_id, "metadata": {"order_id": order_id}},
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        raise _translate("refunds.create", exc) from exc
    return str(refund.id)


def event_verify(*, payload: bytes, header: str | None, secrets: Iterable[str], tolerance: int) -> None:
    """Stripe's own verifier, tried with each configured secret (rotation). Fails closed without one."""
    for secret in secrets:
        if not secret:
            continue
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, tolerance)
        except stripe.SignatureVerificationError:
            continue
        except UnicodeDecodeError as exc:
            raise SignatureInvalid("body is not UTF-8") from exc
        # The SDK refuses stale timestamps only; refuse the far future too, so a captured request cannot
        # be made replayable later.
        found = re.search(r"(?:^|,)t=(\d{1,12})(?:,|$)", header or "")
        if found is None or int(found.group(1)) > time.time() + tolerance:
            raise SignatureInvalid("timestamp outside tolerance")
        return
    raise SignatureInvalid("no configured secret verifies the signature")
