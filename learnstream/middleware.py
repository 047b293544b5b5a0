import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from learnstream.logging import client_ip_var, request_id_var, user_id_var
from learnstream.net import client_ip

logger = logging.getLogger("learnstream.request")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestLogMiddleware:
    """Assigns a request id and writes one log line per request (method, path, status, duration, user).

    Only the path is logged, never the query string or headers, so tokens and secrets stay out of logs.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_RE.fullmatch(incoming) else uuid.uuid4().hex
        request_token = request_id_var.set(request_id)
        user_token = user_id_var.set("-")
        ip_token = client_ip_var.set(client_ip(request))  # for security events (rate-limit key's peer)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            user = getattr(request, "user", None)
            user_id = str(user.pk) if user is not None and user.is_authenticated else user_id_var.get()
            logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "user_id": user_id,
                },
            )
            return response
        finally:
            request_id_var.reset(request_token)
            user_id_var.reset(user_token)
            client_ip_var.reset(ip_token)
