"""Catalog, enrollment, progress and analytics endpoints: parse with a serializer, call one service or
selector, render. Object-level access goes through `catalog.permissions` (the same classes for JWT and
for the browsable API's session login)."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import analytics, selectors, services
from catalog.pagination import SelectorPagination
from catalog.permissions import (
    CourseAuthorOrReadOnly,
    CourseEditable,
    CourseReadable,
    is_admin,
    user_id_of,
)
from catalog.serializers import (
    DEFAULT_COURSE_ORDERING,
    CourseAnalyticsSerializer,
    CourseListQuerySerializer,
    CourseProgressRowSerializer,
    CourseProgressSerializer,
    CourseSerializer,
    CourseWriteSerializer,
    EnrollmentListQuerySerializer,
    EnrollmentSerializer,
    LessonSerializer,
    LessonWriteSerializer,
    OverviewSerializer,
    ProgressInputSerializer,
    ProgressSerializer,
    ReorderSerializer,
    StudentSerializer,
)
from catalog.types import Course
from catalog.validation import reject_operator_keys
from learnstream.errors import NotFound
from learnstream.openapi import error_responses
from learnstream.permissions import IsAdminRole

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


class EnrollmentCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    course_id = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class ReorderResultSerializer(serializers.Serializer):
    lesson_ids = serializers.ListField(child=serializers.CharField(), help_text="The new order.")


class CatalogViewSet(viewsets.ViewSet):
    """Shared plumbing: per-action serializers and permissions, selector pagination, and the T49 guard
    (no `$`-prefixed or dotted key in a query string or body ever reaches a store)."""

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

    def load_course(self, course_id: str) -> Course:
        """The stored course, with this action's object permissions applied (404 if invisible)."""
        course = selectors.course_get(course_id=course_id)
        if course is None:
            raise NotFound()
        self.check_object_permissions(self.request, course)
        return course


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


def _detail_response(detail: Any, *, status_code: int = 200, stale: bool = False) -> Response:
    data = CourseSerializer(detail).data
    # A plain dict after a create: the browsable API then shows a fresh create form, not the new object.
    response = Response(dict(data) if status_code == status.HTTP_201_CREATED else data, status=status_code)
    if stale:
        response["X-Catalog-Stale"] = "1"
    return response


def _lesson_instance(lesson_view: Any, course: Course) -> dict[str, Any]:
    # The course's owner and status ride along so the browsable API's form check can run the course's
    # object permission on this instance; the serializer ignores them.
    return {**lesson_view, "owner_id": course["owner_id"], "status": course["status"]}


class CourseViewSet(CatalogViewSet):
    serializer_classes = {
        "create": CourseWriteSerializer,
        "update": CourseWriteSerializer,
        "partial_update": CourseWriteSerializer,
        "lesson_create": LessonWriteSerializer,
        "reorder": ReorderSerializer,
    }
    # AllowAny marks the public reads (and tells the OpenAPI schema that a token is optional there);
    # the object-level classes still decide what an anonymous caller may see.
    permission_map = {
        "list": [AllowAny],
        "create": [CourseAuthorOrReadOnly],
        "retrieve": [AllowAny, CourseReadable],
        "lessons": [AllowAny, CourseReadable],
        "update": [CourseEditable],
        "partial_update": [CourseEditable],
        "destroy": [CourseEditable],
        "publish": [CourseEditable],
        "unpublish": [CourseEditable],
        "lesson_create": [CourseEditable],
        "reorder": [CourseEditable],
        "students": [CourseEditable],
        "analytics": [CourseEditable],
        "enroll": [IsAuthenticated],
        "unenroll": [IsAuthenticated],
        "progress": [IsAuthenticated],
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
        query = course_list_query(request.query_params)
        params = selectors.CourseListParams(
            search=query.get("search") or None,
            tag=query.get("tag") or None,
            level=query.get("level"),
            instructor=query.get("instructor"),
            status=query.get("status"),
            ordering=query["ordering"],
        )
        stale = False

        def fetch(offset: int, limit: int) -> dict[str, Any]:
            nonlocal stale
            page, stale = selectors.course_list(
                user=request.user, params=params, offset=offset, limit=limit, render=course_rows
            )
            return dict(page)

        rows = self.paginator.paginate_selector(request, fetch)
        return self.paginator.response(rows, stale=stale)

    @extend_schema(
        summary="Create a course (draft)",
        request=CourseWriteSerializer,
        responses={201: CourseSerializer, **error_responses(400, 401, 403, 409, 503)},
    )
    def create(self, request: Request) -> Response:
        data = self.parse(CourseWriteSerializer, request.data)
        course = services.course_create(
            owner_id=user_id_of(request.user) or 0,
            title=data["title"],
            description=data["description"],
            tags=data["tags"],
            level=data["level"],
            slug=data.get("slug") or None,
        )
        return _detail_response(
            selectors.course_detail_of(course=course), status_code=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Course detail",
        parameters=[ID_PARAM, STALE_HEADER],
        responses={200: CourseSerializer, **error_responses(400, 401, 404, 503)},
    )
    def retrieve(self, request: Request, id: str) -> Response:
        detail, stale = selectors.course_detail_get(user=request.user, course_id=id)
        self.check_object_permissions(request, detail)
        return _detail_response(detail, stale=stale)

    def _update(self, request: Request, id: str, *, partial: bool) -> Response:
        course = self.load_course(id)
        data = self.parse(CourseWriteSerializer, request.data, partial=partial)
        if not data.get("slug"):
            data.pop("slug", None)  # blank = keep the current slug
        updated = services.course_update(course=course, fields=data)
        return _detail_response(selectors.course_detail_of(course=updated))

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
        return _detail_response(selectors.course_detail_of(course=course))

    @extend_schema(
        summary="Unpublish a course (back to draft)",
        parameters=[ID_PARAM],
        request=None,
        responses={200: CourseSerializer, **error_responses(400, 401, 403, 404, 409, 503)},
    )
    @action(detail=True, methods=["post"])
    def unpublish(self, request: Request, id: str) -> Response:
        course = services.course_unpublish(course=self.load_course(id))
        return _detail_response(selectors.course_detail_of(course=course))

    # --- lessons of a course ---
    @extend_schema(
        summary="List a course's lessons",
        description="Ordered by position. Visibility as the course. Never exposes video/playback ids.",
        parameters=[ID_PARAM, STALE_HEADER],
        responses={200: LessonSerializer(many=True), **error_responses(400, 401, 404, 503)},
    )
    @action(detail=True, methods=["get"], url_path="lessons")
    def lessons(self, request: Request, id: str) -> Response:
        stale = False

        def fetch(offset: int, limit: int) -> dict[str, Any]:
            nonlocal stale
            page, stale = selectors.course_lessons_list(
                user=request.user, course_id=id, offset=offset, limit=limit
            )
            return dict(page)

        items = self.paginator.paginate_selector(request, fetch)
        return self.paginator.response(LessonSerializer(items, many=True).data, stale=stale)

    @extend_schema(
        summary="Add a lesson",
        parameters=[ID_PARAM],
        request=LessonWriteSerializer,
        responses={201: LessonSerializer, **error_responses(400, 401, 403, 404, 409, 503)},
    )
    @lessons.mapping.post
    def lesson_create(self, request: Request, id: str) -> Response:
        course = self.load_course(id)
        data = self.parse(LessonWriteSerializer, request.data)
        lesson = services.lesson_create(
            course=course,
            title=data["title"],
            description=data["description"],
            position=data["position"],
            is_preview=data["is_preview"],
            duration=data["duration"],
        )
        current = selectors.course_get(course_id=id) or course
        view = selectors.lesson_view(
            lesson=lesson, position=selectors.lesson_position(course=current, lesson_id=lesson["id"])
        )
        # A plain dict so the browsable API offers a fresh create form for the next lesson.
        return Response(
            dict(LessonSerializer(_lesson_instance(view, current)).data), status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Reorder lessons",
        description="`lesson_ids` must be a permutation of the course's lessons. The order is one array "
        "on the course, replaced in a single atomic update (readers never see duplicate positions); a "
        "concurrent add/remove makes this 409 instead of being lost.",
        parameters=[ID_PARAM],
        request=ReorderSerializer,
        responses={200: ReorderResultSerializer, **error_responses(400, 401, 403, 404, 409, 503)},
    )
    @action(detail=True, methods=["post"], url_path="lessons/reorder")
    def reorder(self, request: Request, id: str) -> Response:
        course = self.load_course(id)
        data = self.parse(ReorderSerializer, request.data)
        updated = services.lesson_reorder(course=course, lesson_ids=data["lesson_ids"])
        return Response({"lesson_ids": updated["lesson_ids"]})

    # --- enrollment ---
    @extend_schema(
        summary="Enroll in a course",
        description="Published courses only (409 otherwise). 201 when the enrollment starts, 200 when it "
        "was already active; concurrent calls converge on one row.",
        parameters=[ID_PARAM],
        request=None,
        responses={
            201: EnrollmentCreatedSerializer,
            200: EnrollmentCreatedSerializer,
            **error_responses(400, 401, 404, 409, 503),
        },
    )
    @action(detail=True, methods=["post"])
    def enroll(self, request: Request, id: str) -> Response:
        enrollment, created = services.enrollment_create(user=request.user, course_id=id)
        body = EnrollmentCreatedSerializer(
            {
                "id": enrollment.pk,
                "user_id": enrollment.user_id,
                "course_id": enrollment.course_id,
                "status": enrollment.status,
                "created_at": enrollment.created_at,
            }
        ).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        summary="Unenroll",
        description="404 when you are not actively enrolled.",
        parameters=[ID_PARAM],
        request=None,
        responses={204: None, **error_responses(400, 401, 404, 503)},
    )
    @enroll.mapping.delete
    def unenroll(self, request: Request, id: str) -> Response:
        services.enrollment_cancel(user=request.user, course_id=id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Students of a course with their progress",
        parameters=[ID_PARAM],
        responses={200: StudentSerializer(many=True), **error_responses(400, 401, 403, 404, 503)},
    )
    @action(detail=True, methods=["get"])
    def students(self, request: Request, id: str) -> Response:
        course = self.load_course(id)
        items = self.paginator.paginate_selector(
            request,
            lambda offset, limit: dict(
                selectors.course_students_list(course=course, offset=offset, limit=limit)
            ),
        )
        return self.paginator.response(StudentSerializer(items, many=True).data)

    @extend_schema(
        summary="My progress in a course",
        description="Enrolled learners (and the owner/admins). Every lesson in order, the course percent "
        "(completed lessons / lessons * 100), `completed_lessons` and the resume point `last_lesson_id`.",
        parameters=[ID_PARAM],
        responses={200: CourseProgressSerializer, **error_responses(400, 401, 403, 404, 503)},
    )
    @action(detail=True, methods=["get"])
    def progress(self, request: Request, id: str) -> Response:
        progress = selectors.course_progress_for(user=request.user, course_id=id)
        return Response(CourseProgressSerializer(progress).data)

    @extend_schema(
        summary="Course analytics",
        description=analytics.course_metrics_description(),
        parameters=[ID_PARAM],
        responses={200: CourseAnalyticsSerializer, **error_responses(400, 401, 403, 404, 503)},
    )
    @action(detail=True, methods=["get"])
    def analytics(self, request: Request, id: str) -> Response:
        course = self.load_course(id)
        return Response(CourseAnalyticsSerializer(analytics.course_analytics_get(course=course)).data)


class LessonViewSet(CatalogViewSet):
    serializer_classes = {
        "update": LessonWriteSerializer,
        "partial_update": LessonWriteSerializer,
        "progress": ProgressInputSerializer,
    }
    permission_map = {
        "retrieve": [AllowAny, CourseReadable],
        "update": [CourseEditable],
        "partial_update": [CourseEditable],
        "destroy": [CourseEditable],
        "progress": [IsAuthenticated],
        "complete": [IsAuthenticated],
    }

    def load(self, lesson_id: str) -> tuple[Any, Course]:
        lesson, course = selectors.lesson_detail_get(user=self.request.user, lesson_id=lesson_id)
        self.check_object_permissions(self.request, course)
        return lesson, course

    @extend_schema(
        summary="Lesson detail",
        description="Visibility as the course. Never exposes video/playback ids, only `video_status`.",
        parameters=[ID_PARAM],
        responses={200: LessonSerializer, **error_responses(400, 401, 404, 503)},
    )
    def retrieve(self, request: Request, id: str) -> Response:
        lesson, course = self.load(id)
        view = selectors.lesson_view(
            lesson=lesson, position=selectors.lesson_position(course=course, lesson_id=id)
        )
        return Response(LessonSerializer(_lesson_instance(view, course)).data)

    def _update(self, request: Request, id: str, *, partial: bool) -> Response:
        lesson, course = self.load(id)
        data = self.parse(LessonWriteSerializer, request.data, partial=partial)
        if data.get("position") is None:
            data.pop("position", None)
        updated, course = services.lesson_update(lesson=lesson, course=course, fields=data)
        view = selectors.lesson_view(
            lesson=updated, position=selectors.lesson_position(course=course, lesson_id=id)
        )
        return Response(LessonSerializer(_lesson_instance(view, course)).data)

    @extend_schema(
        summary="Replace a lesson's editable fields",
        parameters=[ID_PARAM],
        request=LessonWriteSerializer,
        responses={200: LessonSerializer, **error_responses(400, 401, 403, 404, 409, 503)},
    )
    def update(self, request: Request, id: str) -> Response:
        return self._update(request, id, partial=False)

    @extend_schema(
        summary="Update a lesson",
        description="`position` moves the lesson (same atomic reorder as /lessons/reorder).",
        parameters=[ID_PARAM],
        request=LessonWriteSerializer,
        responses={200: LessonSerializer, **error_responses(400, 401, 403, 404, 409, 503)},
    )
    def partial_update(self, request: Request, id: str) -> Response:
        return self._update(request, id, partial=True)

    @extend_schema(
        summary="Delete a lesson and its video",
        description="Deletes the Mux asset first (502 and nothing deleted if Mux fails), then the lesson "
        "and its progress. The last lesson of a published course cannot be deleted (409).",
        parameters=[ID_PARAM],
        responses={204: None, **error_responses(400, 401, 403, 404, 409, 502, 503)},
    )
    def destroy(self, request: Request, id: str) -> Response:
        lesson, course = self.load(id)
        services.lesson_delete(lesson=lesson, course=course)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Record a progress heartbeat",
        description="Enrolled learners (owner/admin: preview progress, excluded from analytics). The user "
        "always comes from the token. Idempotent; `max_position` never decreases; `completed` becomes "
        "true at ≥ 90 % of the duration and never reverts.",
        parameters=[ID_PARAM],
        request=ProgressInputSerializer,
        responses={200: ProgressSerializer, **error_responses(400, 401, 403, 404, 503)},
    )
    @action(detail=True, methods=["put"])
    def progress(self, request: Request, id: str) -> Response:
        data = self.parse(ProgressInputSerializer, request.data)
        result = services.progress_record(
            user=request.user,
            lesson_id=id,
            position=data["position"],
            watched_seconds=data["watched_seconds"],
        )
        return Response(ProgressSerializer(result).data)

    @extend_schema(
        summary="Mark a lesson completed",
        parameters=[ID_PARAM],
        request=None,
        responses={200: ProgressSerializer, **error_responses(400, 401, 403, 404, 503)},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, id: str) -> Response:
        return Response(ProgressSerializer(services.progress_complete(user=request.user, lesson_id=id)).data)


class EnrollmentViewSet(CatalogViewSet):
    permission_map = {"list": [IsAuthenticated]}

    @extend_schema(
        summary="Enrollments",
        description="Your active enrollments with course title and progress percent. Admins see every "
        "enrollment (any status) and may filter `?user=` and `?course=`; for others `?user=` is ignored.",
        parameters=[EnrollmentListQuerySerializer],
        responses={200: EnrollmentSerializer(many=True), **error_responses(400, 401, 404, 503)},
    )
    def list(self, request: Request) -> Response:
        query = self.parse(EnrollmentListQuerySerializer, request.query_params)
        user_filter = query.get("user") if is_admin(request.user) else None
        items = self.paginator.paginate_selector(
            request,
            lambda offset, limit: dict(
                selectors.enrollment_list(
                    user=request.user,
                    user_filter=user_filter,
                    course_filter=query.get("course"),
                    offset=offset,
                    limit=limit,
                )
            ),
        )
        return self.paginator.response(EnrollmentSerializer(items, many=True).data)


class MyProgressViewSet(CatalogViewSet):
    permission_map = {"list": [IsAuthenticated]}

    @extend_schema(
        summary="My progress, one row per enrolled course",
        responses={200: CourseProgressRowSerializer(many=True), **error_responses(400, 401, 404, 503)},
    )
    def list(self, request: Request) -> Response:
        user_id = user_id_of(request.user) or 0
        items = self.paginator.paginate_selector(
            request,
            lambda offset, limit: dict(
                selectors.my_progress_list(user_id=user_id, offset=offset, limit=limit)
            ),
        )
        return self.paginator.response(CourseProgressRowSerializer(items, many=True).data)


class AnalyticsViewSet(CatalogViewSet):
    permission_map = {"overview": [IsAdminRole]}

    @extend_schema(
        summary="Platform analytics (admin)",
        description="`users_by_role`: accounts per role; `courses_by_status`: courses per status; "
        "`enrollments`: active enrollments; `lessons_watched_7d`: (learner, lesson) pairs with progress "
        "activity in the last 7 days, previews excluded.",
        responses={200: OverviewSerializer, **error_responses(400, 401, 403, 503)},
    )
    @action(detail=False, methods=["get"])
    def overview(self, request: Request) -> Response:
        return Response(OverviewSerializer(analytics.analytics_overview()).data)
