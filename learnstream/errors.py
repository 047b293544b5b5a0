"""The one place that turns exceptions into the API's error envelope.

`{"error": {"code": "machine_readable_code", "message": "Human sentence.", "details": {...}}}`
Domain code raises `ApplicationError` subclasses; DRF's and Django's own exceptions and store outages
are mapped here too, so nothing else formats errors and no client input ends in a 500.
"""

import logging
from typing import Any

import pymongo.errors
import redis.exceptions
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.defaults import bad_request, page_not_found, permission_denied, server_error
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from learnstream.logging import security_event

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    status_code = 400
    code = "bad_request"
    default_message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class ValidationFailed(ApplicationError):
    status_code = 400
    code = "validation_error"
    default_message = "The request is invalid."


class NotAuthenticated(ApplicationError):
    status_code = 401
    code = "not_authenticated"
    default_message = "Authentication credentials were not provided or are invalid."


class PermissionDenied(ApplicationError):
    status_code = 403
    code = "permission_denied"
    default_message = "You do not have permission to perform this action."


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class RateLimited(ApplicationError):
    status_code = 429
    code = "rate_limited"
    default_message = "Too many requests. Try again later."

    def __init__(self, message: str | None = None, *, retry_after: int = 60, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class IntegrationError(ApplicationError):
    status_code = 502
    code = "integration_error"
    default_message = "An upstream service failed. Try again later."


class ServiceUnavailable(ApplicationError):
    status_code = 503
    code = "service_unavailable"
    default_message = "A backing service is temporarily unavailable. Try again later."


RETRY_AFTER_UNAVAILABLE_SECONDS = 5

STORE_OUTAGES: tuple[type[BaseException], ...] = (
    pymongo.errors.ConnectionFailure,  # includes ServerSelectionTimeoutError, AutoReconnect, NetworkTimeout
    pymongo.errors.ExecutionTimeout,
    pymongo.errors.WTimeoutError,
    OperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def body_too_large() -> dict[str, Any]:
    """The 413 envelope, whether Django's own cap or the body-size middleware refused the body."""
    return envelope("request_too_large", "The request body is too large.")


def envelope(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _drf_details(exc: drf.APIException) -> Any:
    detail = exc.detail
    if isinstance(detail, dict):
        return detail
    if isinstance(detail, list):
        return {"non_field_errors": detail}
    return {}


def _message(exc: drf.APIException) -> str:
    detail = exc.detail
    if isinstance(detail, dict | list):
        return "The request is invalid." if isinstance(exc, drf.ValidationError) else str(exc.default_detail)
    return str(detail)


def _code(exc: drf.APIException) -> str:
    if isinstance(exc, drf.ValidationError):
        return "validation_error"
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return str(exc.default_code)


def to_response(exc: BaseException) -> Response | None:
    """Map any exception we know about to an enveloped Response; None means 'unexpected' (a 500)."""
    if isinstance(exc, ApplicationError):
        response = Response(envelope(exc.code, exc.message, exc.details), status=exc.status_code)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, ServiceUnavailable):
            response["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE_SECONDS)
        return response
    if isinstance(exc, Http404):
        return Response(envelope("not_found", "Not found."), status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return Response(envelope(PermissionDenied.code, PermissionDenied.default_message), status=403)
    if isinstance(exc, DjangoValidationError):
        details = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(envelope("validation_error", "The request is invalid.", details), status=400)
    if isinstance(exc, RequestDataTooBig):
        return Response(body_too_large(), status=413)
    if isinstance(exc, TooManyFieldsSent):
        return Response(envelope("request_too_large", "The request has too many fields."), status=400)
    if isinstance(exc, STORE_OUTAGES):
        logger.warning("store unavailable: %s", type(exc).__name__)
        response = Response(envelope(ServiceUnavailable.code, ServiceUnavailable.default_message), status=503)
        response["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE_SECONDS)
        return response
    if isinstance(exc, drf.APIException):
        response = Response(envelope(_code(exc), _message(exc), _drf_details(exc)), status=exc.status_code)
        wait = getattr(exc, "wait", None)
        if isinstance(exc, drf.Throttled) and wait is not None:
            response["Retry-After"] = str(int(wait))
        return response
    if isinstance(exc, DatabaseError):
        # Any other database failure (e.g. a broken connection mid-transaction) is an outage, not a bug
        # the client can fix; say so rather than 500.
        logger.exception("database error")
        return Response(envelope(ServiceUnavailable.code, ServiceUnavailable.default_message), status=503)
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = to_response(exc)
    if response is not None:
        set_rollback()
        if response.status_code == 401:
            # RFC 9110: every 401 names a scheme (the failing authenticator's own, else our Bearer).
            request = context.get("request")
            authenticator = getattr(request, "_authenticator", None)
            header = authenticator.authenticate_header(request) if authenticator else None
            response["WWW-Authenticate"] = header or 'Bearer realm="api"'
        _log_security_event(exc, response, context.get("request"))
    return response


def _log_security_event(exc: Exception, response: Response, request: Any) -> None:
    """ASVS 16.3: bad tokens, authorization failures and rate limiting, one structured record each."""
    status = response.status_code
    if status == 401 and isinstance(exc, drf.AuthenticationFailed):
        event = "authentication_failed"  # a bad/revoked token; missing credentials are not an event
    elif status == 403:
        event = "permission_denied"
    elif status == 429:
        event = "rate_limited"
    else:
        return
    user = getattr(request, "user", None) if status != 401 else None
    security_event(
        event,
        level=logging.WARNING,
        code=response.data["error"]["code"] if isinstance(response.data, dict) else "",
        method=getattr(request, "method", ""),
        path=getattr(request, "path", ""),
        user_id=getattr(user, "pk", None) if user is not None and user.is_authenticated else None,
    )


def _json_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(envelope(code, message), status=status)


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/webhooks/"))


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_json(request):
        return _json_error(404, "not_found", "Not found.")
    return page_not_found(request, exception or Http404())


def handler500(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        return _json_error(500, "server_error", "An unexpected error occurred.")
    return server_error(request)


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_json(request):
        return _json_error(403, "permission_denied", "You do not have permission to perform this action.")
    return permission_denied(request, exception or DjangoPermissionDenied())


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_json(request):
        return _json_error(400, "bad_request", "The request could not be processed.")
    return bad_request(request, exception or Exception())


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if wants_json(request):
        return _json_error(403, "csrf_failed", "CSRF verification failed.")
    return django_csrf_failure(request, reason)
