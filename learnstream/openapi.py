"""Reusable OpenAPI pieces for drf-spectacular: the error envelope every 4xx/5xx uses (api.md)."""

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
    429: "Rate limited (see Retry-After)",
    502: "Upstream service (Mux) failed",
    503: "A backing store is unavailable",
}
