"""Dispatch a stored Mux event to the app that owns what it is about. Unknown types are acknowledged
and ignored; a signed but unusable payload raises `MalformedPayload` (retrying cannot fix it)."""

from collections.abc import Mapping
from typing import Any

from catalog.video.events import video_event_handle
from streaming.payloads import MalformedPayload, video_event_from_payload

__all__ = ["MalformedPayload", "event_handle"]


def event_handle(*, payload: Mapping[str, Any]) -> str:
    """Apply one event; returns the outcome (for logs and the admin)."""
    event = video_event_from_payload(payload)
    if event is None:
        return "ignored_unhandled_type"
    return video_event_handle(event=event)
