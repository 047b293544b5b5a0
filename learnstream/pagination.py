from typing import Any

from rest_framework.pagination import PageNumberPagination as DRFPageNumberPagination
from rest_framework.request import Request

from learnstream.errors import ValidationFailed

MAX_PAGE_SIZE = 100


def positive_int_param(raw: str, field: str) -> int:
    """A paging parameter as the schema documents it: ASCII digits only (Python's int() also takes other
    scripts' digits, e.g. U+114D4, which no client means), at least 1; else 400 with `details[field]`."""
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise ValidationFailed(details={field: ["A positive integer is required."]})
    return int(raw)


class PageNumberPagination(DRFPageNumberPagination):
    """`?page=N&page_size=M`; M is capped at 100 so no client can ask for an unbounded result set. A
    `page` or `page_size` that is not a positive integer is a 400 (DRF would fall back silently)."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        for field in (self.page_query_param, self.page_size_query_param):
            raw = request.query_params.get(field or "")
            if raw is not None:
                positive_int_param(raw, field or "")
        return super().paginate_queryset(queryset, request, view)
