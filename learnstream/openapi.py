"""Reusable OpenAPI pieces for drf-spectacular: the error envelope every 4xx/5xx uses (docs/api.md)."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorEnvelopeSerializer, description=description)


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """`{status: envelope}` for `@extend_schema(responses=...)`, with the conventional descriptions."""
    return {status: error_response(ERROR_DESCRIPTIONS.get(status, "Error")) for status in statuses}


ERROR_DESCRIPTIONS = {
    400: "Invalid request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Request too large",
    414: "Request line (path and query string) over 8190 bytes",
    402: "Payment required (a paid course: buy it through checkout)",
    429: "Rate limited (see Retry-After)",
    431: "Request headers too large (a field over 8190 bytes or more than 100 fields)",
    502: "Upstream service (Mux, Stripe) failed",
    504: "Upstream service (Stripe) did not answer in time",
    503: "A backing store is unavailable",
}


UNSAFE_METHODS = frozenset({"post", "put", "patch", "delete"})


def document_body_limit(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: every operation of an unsafe method can answer 413 (learnstream/body_limit.py
    refuses any body over DATA_UPLOAD_MAX_MEMORY_SIZE, even where the operation documents none; safe
    methods never read a body).

    One place instead of a `413` in each view's `error_responses(...)`, so a new write endpoint cannot
    forget it.
    """
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if isinstance(operation, dict) and (method in UNSAFE_METHODS or "requestBody" in operation):
                operation.setdefault("responses", {}).setdefault(
                    "413",
                    {
                        "content": {"application/json": {"schema": envelope}},
                        "description": ERROR_DESCRIPTIONS[413],
                    },
                )
    return result


def document_server_limits(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: every operation can answer 414 and 431, with the envelope.

    gunicorn refuses an over-long request line or oversized headers before Django runs
    (`limit_request_*` in gunicorn.conf.py, whose worker answers them with the same envelope), so no
    view can declare them.
    """
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status in (414, 431):
                operation["responses"].setdefault(
                    str(status),
                    {
                        "content": {"application/json": {"schema": envelope}},
                        "description": ERROR_DESCRIPTIONS[status],
                    },
                )
    return result
