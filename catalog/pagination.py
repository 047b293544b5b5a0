"""Page-number pagination over selector results (MongoDB reads and batched PostgreSQL reads).

Same query parameters, caps and envelope as `learnstream.pagination.PageNumberPagination`; the
selector receives `offset`/`limit` and returns a `Page` (total and items) so only one page is ever fetched.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.paginator import InvalidPage, Paginator
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from learnstream.pagination import PageNumberPagination, positive_int_param


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


@dataclass(frozen=True)
class PageWindow:
    """The requested page as a selector wants it."""

    number: int
    offset: int
    limit: int


class SelectorPagination(PageNumberPagination):
    """Stricter than DRF about its own parameters: a non-integer `page`/`page_size` is a 400 (DRF would
    silently fall back to defaults); a page past the end, or absurdly far, is the usual 404.

    A view asks for the `window`, has its selector read just that page, and renders it with
    `page_response`."""

    def window(self, request: Request) -> PageWindow:
        raw_size = request.query_params.get(self.page_size_query_param or "page_size")
        size = (
            min(positive_int_param(raw_size, "page_size"), self.max_page_size)
            if raw_size is not None
            else self.page_size
        )
        raw_page = request.query_params.get(self.page_query_param)
        number = positive_int_param(raw_page, "page") if raw_page is not None else 1
        if number > MAX_PAGE_NUMBER:
            raise NotFound("Invalid page.")
        return PageWindow(number=number, offset=(number - 1) * size, limit=size)

    def page_response(
        self, request: Request, window: PageWindow, *, total: int, data: Any, stale: bool = False
    ) -> Response:
        """The paginated envelope for one page of already rendered items; 404 for a page past the end."""
        self.request = request
        paginator = Paginator(_PageSlice(total, window.offset, list(data)), window.limit)
        try:
            self.page = paginator.page(window.number)
        except InvalidPage as exc:
            raise NotFound("Invalid page.") from exc
        response = self.get_paginated_response(list(self.page))
        if stale:
            response["X-Catalog-Stale"] = "1"
        return response
