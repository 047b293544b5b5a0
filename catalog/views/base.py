"""What every catalog view shares: per-action serializers and permissions, selector pagination, the
operator-key guard, the stale-cache header and loading a course with its object permission."""

import json
from typing import Any, NotRequired, TypedDict, TypeVar

from django.http import HttpResponse, HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers, viewsets
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.pagination import SelectorPagination
from catalog.selectors.courses import course_get
from catalog.types import Course
from catalog.validation import reject_operator_keys
from learnstream.errors import NotFound
from learnstream.permissions import Actor

ID_PARAM = OpenApiParameter(
    "id", OpenApiTypes.STR, OpenApiParameter.PATH, description="24-hex id (malformed ids are 404)."
)
STALE_HEADER = OpenApiParameter(
    "X-Catalog-Stale",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=True,
    description="`1` when MongoDB was unreachable and this page came from the cache's last copy.",
)


_R = TypeVar("_R", bound=HttpResponseBase)


def mark_stale(response: _R, stale: bool) -> _R:
    """Flag a page served from the cache's last copy while MongoDB was unreachable (`STALE_HEADER`)."""
    if stale:
        response["X-Catalog-Stale"] = "1"
    return response


class RenderedPage(TypedDict):
    """A public page as the cache keeps it: its wire form, rendered once per cache fill, and the two
    fields its object permission needs. A hit goes straight to the response, with no serializer run;
    `body` is `data` already encoded as the JSON renderer writes it (what a JSON client gets)."""

    owner_id: int
    status: str
    data: Any  # plain JSON data (dicts, lists, str, numbers)
    body: NotRequired[bytes]  # NotRequired: entries stored before it existed lack it


def json_body(data: Any) -> bytes:
    """`data` encoded exactly as DRF's JSON renderer answers it."""
    return JSONRenderer().render(data)


def rendered_page(*, owner_id: int, status: str, data: Any, with_body: bool = True) -> RenderedPage:
    """`data` (a serializer's output) reduced to plain JSON data, so it pickles small and renders fast,
    and (`with_body`: pages answered as they are, not wrapped in a paginated envelope) its encoding."""
    body = json_body(data)
    page: RenderedPage = {"owner_id": owner_id, "status": status, "data": json.loads(body)}
    if with_body:
        page["body"] = body
    return page


class CatalogViewSet(viewsets.ViewSet):
    """Shared plumbing: per-action serializers and permissions, selector pagination, and the operator-key
    guard (no `$`-prefixed or dotted key in a query string or body ever reaches a store)."""

    lookup_url_kwarg = "id"
    pagination_class = SelectorPagination
    serializer_classes: dict[str, type[serializers.BaseSerializer]] = {}
    permission_map: dict[str, list[type[BasePermission]]] = {}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        reject_operator_keys(query_keys=list(request.query_params.keys()), body=request.data)

    def get_permissions(self) -> list[BasePermission]:
        classes = self.permission_map.get(str(self.action), [IsAuthenticated])
        return [cls() for cls in classes]

    # The browsable API builds its forms from these two.
    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return self.serializer_classes.get(str(self.action), serializers.Serializer)

    def get_serializer(self, *args: Any, **kwargs: Any) -> serializers.BaseSerializer:
        kwargs.setdefault("context", {"request": self.request, "view": self})
        return self.get_serializer_class()(*args, **kwargs)

    @staticmethod
    def page_response(request: Request, *, data: Any, body: bytes | None, stale: bool) -> HttpResponseBase:
        """A cached page's response. A JSON client gets the body encoded when the page was cached
        (renderer skipped); the browsable API renders `data`."""
        if body is not None and getattr(request.accepted_renderer, "format", None) == "json":
            return mark_stale(HttpResponse(body, content_type=JSONRenderer.media_type), stale)
        return mark_stale(Response(data), stale)

    @staticmethod
    def renders_forms(request: Request) -> bool:
        """Whether this response goes to the browsable API (which builds forms from serializers)."""
        return getattr(request.accepted_renderer, "format", None) == "api"

    @property
    def paginator(self) -> SelectorPagination:
        if not hasattr(self, "_paginator"):
            self._paginator = SelectorPagination()
        return self._paginator

    def parse(
        self, serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any
    ) -> dict[str, Any]:
        serializer = serializer_class(data=data, context={"request": self.request, "view": self}, **kwargs)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @property
    def actor(self) -> Actor:
        return Actor.of(self.request.user)

    def load_course(self, course_id: str) -> Course:
        """The stored course, with this action's object permissions applied (404 if invisible)."""
        course = course_get(course_id=course_id)
        if course is None:
            raise NotFound()
        self.check_object_permissions(self.request, course)
        return course
