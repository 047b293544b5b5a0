"""`POST /webhooks/mux` and `POST /webhooks/stripe`: verify the signature over the raw body, store once
in the one inbox, acknowledge.

Authenticated only by the signature (no session, no JWT, no CSRF). Order matters: the body is read as
raw bytes before anything could parse it (re-serialised JSON never verifies), and 200 is answered only
after the inbox row is committed; a database failure propagates to the exception handler as 503, so
the provider redelivers.
"""

import json
import logging
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.stripe_api import SignatureInvalid, event_verify
from learnstream.errors import ValidationFailed
from learnstream.net import client_ip
from learnstream.openapi import error_responses
from webhooks.models import WebhookSource
from webhooks.services import webhook_event_receive
from webhooks.verification import SignatureError, signature_verify

logger = logging.getLogger(__name__)


class InvalidSignature(ValidationFailed):
    code = "invalid_signature"
    default_message = "The webhook signature is missing, invalid or expired."


class InvalidPayload(ValidationFailed):
    code = "invalid_payload"
    default_message = "The webhook body is not a usable event."


class WebhookAckSerializer(serializers.Serializer):
    received = serializers.BooleanField()
    duplicate = serializers.BooleanField(help_text="True when this event id was already stored.")


def _receiver_schema(*, provider: str, header: str, description: str) -> Any:
    """The OpenAPI description both receivers share: no auth, the signature header, the ack."""
    return extend_schema(
        operation_id=f"webhooks_{provider.lower()}",
        summary=f"{provider} webhook receiver",
        description=description,
        auth=[],
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                header,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="`t=<unix seconds>,v1=<hex hmac>[,v1=...]`",
            )
        ],
        responses={200: WebhookAckSerializer, **error_responses(400, 413, 503)},
        examples=[OpenApiExample("ack", value={"received": True, "duplicate": False}, response_only=True)],
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-JSON constant {name}")


def _parse_event(raw: bytes) -> dict[str, Any]:
    # PostgreSQL text/jsonb cannot hold NUL; refuse it here rather than fail the insert (→ endless 503s).
    if b"\x00" in raw or b"\\u0000" in raw:
        raise InvalidPayload()
    try:
        payload = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidPayload() from exc
    if not isinstance(payload, dict):
        raise InvalidPayload()
    event_id, event_type = payload.get("id"), payload.get("type")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise InvalidPayload("The webhook event has no usable id.")
    if not isinstance(event_type, str) or not event_type:
        raise InvalidPayload("The webhook event has no type.")
    return payload


class WebhookReceiverView(APIView):
    """One receiver per provider, one way to receive: verify the signature over the raw body (the
    provider's `verify`), parse, store once in the inbox under the provider's `source`, acknowledge."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    parser_classes = [JSONParser]  # documented content type only; the view reads request.body itself
    renderer_classes = [JSONRenderer]
    source: WebhookSource

    def verify(self, *, request: Request, raw: bytes) -> None:
        """Raise InvalidSignature unless the provider signed `raw`."""
        raise NotImplementedError

    def receive(self, request: Request) -> Response:
        raw: bytes = request.body
        self.verify(request=request, raw=raw)
        payload = _parse_event(raw)
        event, created = webhook_event_receive(raw_body=raw, payload=payload, source=self.source)
        if not created:
            logger.info(
                "duplicate %s webhook %s (%s) acknowledged", self.source.label, event.event_id, event.type
            )
        return Response({"received": True, "duplicate": not created})

    def rejected(self, request: Request, exc: Exception) -> InvalidSignature:
        # The reason and the peer only: never the header, the body or a secret.
        logger.warning("rejected %s webhook from %s: %s", self.source.label, client_ip(request), exc)
        return InvalidSignature()


class MuxWebhookView(WebhookReceiverView):
    source = WebhookSource.MUX

    @_receiver_schema(
        provider="Mux",
        header="Mux-Signature",
        description=(
            "Mux only. Verifies `Mux-Signature` (HMAC-SHA256 over `t.` + raw body, 300 s tolerance, any "
            "configured secret), stores the event once by its id and acknowledges. Processing is "
            "asynchronous."
        ),
    )
    def post(self, request: Request) -> Response:
        return self.receive(request)

    def verify(self, *, request: Request, raw: bytes) -> None:
        try:
            signature_verify(
                header=request.headers.get("Mux-Signature"),
                body=raw,
                secrets=settings.MUX_WEBHOOK_SECRETS,
                tolerance_seconds=settings.MUX_WEBHOOK_TOLERANCE_SECONDS,
            )
        except SignatureError as exc:
            raise self.rejected(request, exc) from exc


class StripeWebhookView(WebhookReceiverView):
    source = WebhookSource.STRIPE

    @_receiver_schema(
        provider="Stripe",
        header="Stripe-Signature",
        description=(
            "Stripe only. Verifies `Stripe-Signature` with the Stripe SDK's verifier (HMAC-SHA256 over "
            "`t.` + raw body, 300 s tolerance, any configured `STRIPE_WEBHOOK_SECRET`), stores the event "
            "once by its id in the webhook inbox and acknowledges. Processing is asynchronous."
        ),
    )
    def post(self, request: Request) -> Response:
        return self.receive(request)

    def verify(self, *, request: Request, raw: bytes) -> None:
        try:
            event_verify(
                payload=raw,
                header=request.headers.get("Stripe-Signature"),
                secrets=settings.STRIPE_WEBHOOK_SECRETS,
                tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
            )
        except SignatureInvalid as exc:
            raise self.rejected(request, exc) from exc
