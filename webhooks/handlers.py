"""Dispatch a stored event to the app that owns what it is about: Mux events to the catalog's video
lifecycle, Stripe events to commerce. Unknown types are acknowledged and ignored; a signed but unusable
payload raises `MalformedPayload` (retrying cannot fix it: the row stays failed for review)."""

from collections.abc import Mapping
from typing import Any

from catalog.video.events import video_event_handle
from commerce.events import MalformedEvent, stripe_event_handle
from streaming.payloads import MalformedPayload, video_event_from_payload
from webhooks.models import WebhookSource

__all__ = ["MalformedPayload", "event_handle"]


def event_handle(*, payload: Mapping[str, Any], source: str = WebhookSource.MUX) -> str:
    """Apply one event; returns the outcome (for logs and the admin)."""
    if source == WebhookSource.STRIPE:
        try:
            return stripe_event_handle(payload=payload)
        except MalformedEvent as exc:
            raise MalformedPayload(str(exc)) from exc
    event = video_event_from_payload(payload)
    if event is None:
        return "ignored_unhandled_type"
    return video_event_handle(event=event)
