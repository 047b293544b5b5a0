import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from learnstream.logging import client_ip_var, request_id_var, user_id_var
from learnstream.net import client_ip

logger = logging.getLogger("learnstream.request")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _user_id(request: HttpRequest) -> str:
    """The id of the user the request was served for, without resolving a user nobody asked for.

    DRF replaces `request.user` with the authenticated user; Django's lazy session user is only
    looked up if the view used it. Resolving it here would load the session (and add `Vary: Cookie`)
    on every anonymous request, /healthz included, just for this log line.
    """
    user = request.__dict__.get("user")
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        return user_id_var.get()
    return str(user.pk) if user.is_authenticated else user_id_var.get()


class RequestLogMiddleware:
    """Assigns a request id and writes one log line per request (method, path, status, duration, user,
    client ip). It replaces gunicorn's access log (off by default in gunicorn.conf.py).

    Only the path is logged, never the query string or headers, so tokens and secrets stay out of logs.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID_RE.fullmatch(incoming) else uuid.uuid4().hex
        ip = client_ip(request)
        request_token = request_id_var.set(request_id)
        user_token = user_id_var.set("-")
        ip_token = client_ip_var.set(ip)  # for security events (rate-limit key's peer)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            if logger.isEnabledFor(logging.INFO):
                logger.info(
                    "request",
                    extra={
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "user_id": _user_id(request),
                        "ip": ip,
                    },
                )
            return response
        finally:
            request_id_var.reset(request_token)
            user_id_var.reset(user_token)
            client_ip_var.reset(ip_token)
