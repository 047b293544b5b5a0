"""Page-number pagination over selector results (MongoDB reads and batched PostgreSQL reads).

Same query parameters, caps and envelope as `learnstream.pagination.PageNumberPagination`; the
selector receives `offset`/`limit` and returns `{"total", "items"}` so only one page is ever fetched.
"""

from collections.abc import Callable, Sequence
from typing import Any

from django.core.paginator import InvalidPage, Paginator
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from learnstream.errors import ValidationFailed
from learnstream.pagination import PageNumberPagination


class _PageSlice(Sequence[Any]):
    """Looks like the full list to Django's Paginator while holding only the requested page."""

    def __init__(self, total: int, offset: int, items: list[Any]) -> None:
        self.total, self.offset, self.items = total, offset, items

    def count(self, value: Any = None) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start = (index.start or 0) - self.offset
            stop = (index.stop if index.stop is not None else self.total) - self.offset
            return self.items[max(start, 0) : max(stop, 0)]
        return self.items[index - self.offset]


MAX_PAGE_NUMBER = 100_000  # with page_size <= 100: ten million rows, beyond any list we serve


def _positive_int(raw: str, field: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValidationFailed(details={field: ["A positive integer is required."]})
    return value


class SelectorPagination(PageNumberPagination):
    """Stricter than DRF about its own parameters: a non-integer `page`/`page_size` is a 400 (DRF would
    silently fall back to defaults); a page past the end, or absurdly far, is the usual 404."""

    def paginate_selector(self, request: Request, fetch: Callable[[int, int], dict[str, Any]]) -> list[Any]:
        """Call `fetch(offset, limit)` for the requested page and return that page's items."""
        raw_size = request.query_params.get(self.page_size_query_param or "page_size")
        size = (
            min(_positive_int(raw_size, "page_size"), self.max_page_size)
            if raw_size is not None
            else self.page_size
        )
        raw_page = request.query_params.get(self.page_query_param)
        number = _positive_int(raw_page, "page") if raw_page is not None else 1
        if number > MAX_PAGE_NUMBER:
            raise NotFound("Invalid page.")
        offset = (number - 1) * size
        result = fetch(offset, size)
        self.request = request
        paginator = Paginator(_PageSlice(result["total"], offset, result["items"]), size)
        try:
            self.page = paginator.page(number)
        except InvalidPage as exc:
            raise NotFound("Invalid page.") from exc
        return list(self.page)

    def response(self, data: Any, *, stale: bool = False) -> Response:
        response = self.get_paginated_response(data)
        if stale:
            response["X-Catalog-Stale"] = "1"
        return response
