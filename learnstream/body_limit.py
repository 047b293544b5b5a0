"""One size cap for every request body, enforced before anything reads it.

Django checks `DATA_UPLOAD_MAX_MEMORY_SIZE` only for bodies it buffers whole; a multipart file part
bypasses it and is spooled to a temp file of any size. This middleware refuses a declared body over the
cap with 413 before a byte of it is read, and makes the body of a safe method (GET, HEAD, OPTIONS,
TRACE) empty, so no view or parser ever reads one.

A body without Content-Length (chunked) is never read by Django (`WSGIRequest` reads at most
Content-Length bytes, 0 when absent), and gunicorn drains at most 64 KiB of an unread body before it
closes the connection, so neither case can fill a disk or hold a worker.
"""

import io
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from learnstream.errors import body_too_large

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def declared_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0  # what WSGIRequest itself assumes: nothing will be read


class BodySizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in SAFE_METHODS:
            # Safe methods carry no meaning in a body: drop it unread (DRF and Django both see none).
            request.META["CONTENT_LENGTH"] = "0"
            request._stream = io.BytesIO()
            return self.get_response(request)
        if declared_length(request) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return JsonResponse(body_too_large(), status=413)
        return self.get_response(request)
