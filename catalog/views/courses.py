"""Course endpoints: list, create, detail, update, archive, publish. The course's lesson and learner
actions are mixed in from `lessons.py` and `learning.py`. Public pages are cached at one seam,
`catalog.cache.cached_read`, called here with the page's key."""

from typing import Any, TypedDict

from django.http import HttpResponseBase
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import cache as catalog_cache
from catalog import services
from catalog.permissions import CourseAuthorOrReadOnly, CourseEditable, CourseReadable
from catalog.selectors import courses as course_selectors
from catalog.selectors.courses import CourseListParams
from catalog.serializers import (
    DEFAULT_COURSE_ORDERING,
    CourseListQuerySerializer,
    CourseSerializer,
    CourseWriteSerializer,
    StaffEnrollmentJsonSerializer,
)
from catalog.types import ENROLLMENT_POLICY_FIELDS
from catalog.views.base import ID_PARAM, STALE_HEADER, RenderedPage, rendered_page
from catalog.views.learning import CourseLearnerActions
from catalog.views.lessons import CourseLessonActions
from catalog.views.sections import CourseSectionActions
from catalog.views.staff_enrollments import CourseStaffEnrollmentActions
from learnstream.errors import NotFound
from learnstream.openapi import error_responses


class CourseRowsPage(TypedDict):
    total: int
    items: list[dict[str, Any]]


def course_rows(details: list[Any]) -> list[dict[str, Any]]:
    """A page of courses in their wire form: plain dicts, so the public cache can keep exactly this and a
    hit goes straight to the response."""
    return [dict(row) for row in CourseSerializer(details, many=True).data]


# Query parameters that change the course list (anything else, e.g. `page`, is not its concern).
COURSE_LIST_QUERY_FIELDS = frozenset(CourseListQuerySerializer().fields)


def course_list_query(query_params: Any) -> dict[str, Any]:
    """The validated course list query. The usual request (no filter, no ordering: at most `?page=`)
    has nothing to validate and gets the serializer's defaults without running it."""
    if COURSE_LIST_QUERY_FIELDS.isdisjoint(query_params.keys()):
        return {"ordering": DEFAULT_COURSE_ORDERING}
    serializer = CourseListQuerySerializer(data=query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def course_detail_page_compute(course_id: str) -> tuple[RenderedPage | None, bool]:
    """For the page cache: the course detail in its wire form (None when missing), and whether every
    viewer may share it (published courses)."""
    detail, cacheable = course_selectors.course_detail_compute(course_id=course_id)
    if detail is None:
        return None, False
    page = rendered_page(
        owner_id=detail["owner_id"], status=detail["status"], data=CourseSerializer(detail).data
    )
    return page, cacheable


def _detail_response(detail: Any, *, status_code: int = 200) -> Response:
    data = CourseSerializer(detail).data
    # A plain dict after a create: the browsable API then shows a fresh create form, not the new object.
    return Response(dict(data) if status_code == status.HTTP_201_CREATED else data, status=status_code)


class CourseViewSet(
    CourseLessonActions, CourseSectionActions, CourseLearnerActions, CourseStaffEnrollmentActions
):
    serializer_classes = {
        "create": CourseWriteSerializer,
        "update": CourseWriteSerializer,
        "partial_update": CourseWriteSerializer,
        **CourseLessonActions.lesson_serializer_classes,
        **CourseSectionActions.section_serializer_classes,
        "staff_enroll": StaffEnrollmentJsonSerializer,
    }
    # AllowAny marks the public reads (and tells the OpenAPI schema that a token is optional there);
    # the object-level classes still decide what an anonymous caller may see.
    permission_map: dict[str, list[type[BasePermission]]] = {
        "list": [AllowAny],
        "create": [CourseAuthorOrReadOnly],
        "retrieve": [AllowAny, CourseReadable],
        "update": [CourseEditable],
        "partial_update": [CourseEditable],
        "destroy": [CourseEditable],
        "publish": [CourseEditable],
        "unpublish": [CourseEditable],
        **CourseLessonActions.lesson_permission_map,
        **CourseSectionActions.section_permission_map,
        **CourseLearnerActions.learner_permission_map,
        **CourseStaffEnrollmentActions.staff_permission_map,
    }

    @extend_schema(
        summary="List courses",
        description="Published courses for everyone; instructors also see their own drafts, admins every "
        "draft. Archived courses only appear with `?status=archived` (owner: own; admin: all). The public "
        "listing is cached (≤ 60 s, invalidated by every write).",
        parameters=[CourseListQuerySerializer, STALE_HEADER],
        responses={200: CourseSerializer(many=True), **error_responses(400, 401, 404, 503)},
    )
    def list(self, request: Request) -> Response:
        data = course_list_query(request.query_params)
        params = CourseListParams(
            search=data.get("search") or None,
            tag=data.get("tag") or None,
            level=data.get("level"),
            instructor=data.get("instructor"),
            status=data.get("status"),
            ordering=data["ordering"],
        )
        window = self.paginator.window(request)
        query = course_selectors.course_list_query(actor=self.actor, params=params)

        def compute() -> tuple[CourseRowsPage, bool]:
            page = course_selectors.course_page(query=query, offset=window.offset, limit=window.limit)
            return {"total": page.total, "items": course_rows(page.items)}, True

        if query.public:  # the same for every viewer: kept in its final, rendered form
            key = catalog_cache.course_list_key(
                query_parts=params.cache_parts(), offset=window.offset, limit=window.limit
            )
            read = catalog_cache.cached_read(key, compute)
            rows_page: CourseRowsPage = read.value
            stale = read.stale
        else:
            rows_page, stale = compute()[0], False
        return self.paginator.page_response(
            request, window, total=rows_page["total"], data=rows_page["items"], stale=stale
        )

    @extend_schema(
        summary="Create a course (draft)",
        request=CourseWriteSerializer,
        responses={201: CourseSerializer, **error_responses(400, 401, 403, 409, 503)},
    )
    def create(self, request: Request) -> Response:
        data = self.parse(CourseWriteSerializer, request.data)
        course = services.course_create(
            owner_id=self.actor.id or 0,
            title=data["title"],
            description=data["description"],
            tags=data["tags"],
            level=data["level"],
            slug=data.get("slug") or None,
            sequential=data["sequential"],
            prerequisites=data["prerequisites"],
            price=data.get("price"),
            downloadable=data["downloadable"],
            enrollment_policy={k: data[k] for k in ENROLLMENT_POLICY_FIELDS if k in data},
        )
        return _detail_response(
            course_selectors.course_detail_of(course=course), status_code=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Course detail",
        parameters=[ID_PARAM, STALE_HEADER],
        responses={200: CourseSerializer, **error_responses(400, 401, 404, 503)},
    )
    def retrieve(self, request: Request, id: str) -> HttpResponseBase:
        read = catalog_cache.cached_read(
            catalog_cache.course_detail_key(id), lambda: course_detail_page_compute(id)
        )
        page: RenderedPage | None = read.value
        if page is None:
            raise NotFound()
        self.check_object_permissions(request, page)
        if self.renders_forms(request):
            # The browsable API builds its edit form from the serializer's instance: render from the
            # stored course (an editor's page, not the hot path).
            detail = course_selectors.course_detail_compute(course_id=id)[0]
            if detail is not None:
                return _detail_response(detail)
        return self.page_response(request, data=page["data"], body=page.get("body"), stale=read.stale)

    def _update(self, request: Request, id: str, *, partial: bool) -> Response:
        course = self.load_course(id)
        data = self.parse(CourseWriteSerializer, request.data, partial=partial)
        if not data.get("slug"):
            data.pop("slug", None)  # blank = keep the current slug
        updated = services.course_update(course=course, fields=data)
        return _detail_response(course_selectors.course_detail_of(course=updated))

    @extend_schema(
        summary="Replace a course's editable fields",
        parameters=[ID_PARAM],
        request=CourseWriteSerializer,
        responses={200: CourseSerializer, **error_responses(400, 401, 403, 404, 409, 503)},
    )
    def update(self, request: Request, id: str) -> Response:
        return self._update(request, id, partial=False)

    @extend_schema(
        summary="Update a course",
        parameters=[ID_PARAM],
        request=CourseWriteSerializer,
        responses={200: CourseSerializer, **error_responses(400, 401, 403, 404, 409, 503)},
    )
    def partial_update(self, request: Request, id: str) -> Response:
        return self._update(request, id, partial=True)

    @extend_schema(
        summary="Archive a course (soft delete)",
        parameters=[ID_PARAM],
        responses={204: None, **error_responses(400, 401, 403, 404, 503)},
    )
    def destroy(self, request: Request, id: str) -> Response:
        services.course_archive(course=self.load_course(id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Publish a course",
        description="Needs at least one lesson (409 otherwise). Idempotent.",
        parameters=[ID_PARAM],
        request=None,
        responses={200: CourseSerializer, **error_responses(400, 401, 403, 404, 409, 503)},
    )
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, id: str) -> Response:
        course = services.course_publish(course=self.load_course(id))
        return _detail_response(course_selectors.course_detail_of(course=course))

    @extend_schema(
        summary="Unpublish a course (back to draft)",
        parameters=[ID_PARAM],
        request=None,
        responses={200: CourseSerializer, **error_responses(400, 401, 403, 404, 409, 503)},
    )
    @action(detail=True, methods=["post"])
    def unpublish(self, request: Request, id: str) -> Response:
        course = services.course_unpublish(course=self.load_course(id))
        return _detail_response(course_selectors.course_detail_of(course=course))
