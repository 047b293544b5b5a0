from rest_framework.pagination import PageNumberPagination as DRFPageNumberPagination

MAX_PAGE_SIZE = 100


class PageNumberPagination(DRFPageNumberPagination):
    """`?page=N&page_size=M`; M is capped at 100 so no client can ask for an unbounded result set."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
