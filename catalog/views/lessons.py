"""Lesson endpoints: a course's lessons (list, add, reorder) and a lesson's own (detail, update, delete,
progress). Thin: parse, call one selector or service, render."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import cache as catalog_cache
from catalog import services
from catalog.permissions import CourseEditable, CourseReadable
from catalog.selectors.courses import course_get
from catalog.selectors.lessons import (
    LessonView,
    course_lessons_compute,
    course_order,
    lesson_detail_get,
    lesson_view_in,
)
from catalog.selectors.metrics import ProgressView
from catalog.serializers import (
    LessonSerializer,
    LessonWriteSerializer,
    ProgressInputSerializer,
    ProgressSerializer,
    ReorderSerializer,
)
from catalog.types import Course, Lesson
from catalog.views.base import ID_PARAM, STALE_HEADER, CatalogViewSet, RenderedPage, rendered_page
from learnstream.errors import NotFound
from learnstream.openapi import error_responses
from learnstream.timestamps import iso_time


class ReorderResultSerializer(serializers.Serializer):
    lesson_ids = serializers.ListField(child=serializers.CharField(), help_text="The new order.")


def progress_body(view: ProgressView) -> dict[str, Any]:
    """The wire form `ProgressSerializer` documents, built directly: the heartbeat is a hot path and
    DRF copies a serializer's fields on every instance; a test holds the two equal."""
    return {
        "lesson_id": str(view["lesson_id"]),
        "position": float(view["position"]),
        "max_position": float(view["max_position"]),
        "watched_seconds": float(view["watched_seconds"]),
        "coverage": float(view["coverage"]),
        "percent": float(view["percent"]),
        "completed": bool(view["completed"]),
        "completed_at": iso_time(view["completed_at"]),
        "updated_at": iso_time(view["updated_at"]),
    }


def lesson_instance(view: LessonView, course: Course) -> dict[str, Any]:
    """The course's owner and status ride along so the browsable API's form check can run the course's
    object permission on this instance; the serializer ignores them."""
    return {**view, "owner_id": course["owner_id"], "status": course["status"]}


def course_lessons_page_compute(
    *, course_id: str, offset: int, limit: int
) -> tuple[RenderedPage | None, bool]:
    """For the page cache: one page of the course's lessons in wire form (None when the course is
    missing), and whether every viewer may share it."""
    lessons, cacheable = course_lessons_compute(course_id=course_id, offset=offset, limit=limit)
    if lessons is None:
        return None, False
    items = LessonSerializer(lessons["items"], many=True).data
    page = rendered_page(
        owner_id=lessons["owner_id"],
        status=lessons["status"],
        data={"total": lessons["total"], "items": items},
        with_body=False,  # answered inside the paginated envelope, whose links depend on the request
    )
    return page, cacheable


class CourseLessonActions(CatalogViewSet):
    """`courses/{id}/lessons/` and `courses/{id}/lessons/reorder` (mixed into `CourseViewSet`)."""

    lesson_serializer_classes: dict[str, type[serializers.BaseSerializer]] = {
        "lesson_create": LessonWriteSerializer,
        "reorder": ReorderSerializer,
    }
    lesson_permission_map: dict[str, list[type[BasePermission]]] = {
        "lessons": [AllowAny, CourseReadable],
        "lesson_create": [CourseEditable],
        "reorder": [CourseEditable],
    }

    @extend_schema(
        summary="List a course's lessons",
        description="Ordered by position. Visibility as the course. Never exposes video/playback ids.",
        parameters=[ID_PARAM, STALE_HEADER],
        responses={200: LessonSerializer(many=True), **error_responses(400, 401, 404, 503)},
    )
    @action(detail=True, methods=["get"], url_path="lessons")
    def lessons(self, request: Request, id: str) -> Response:
        window = self.paginator.window(request)
        read = catalog_cache.cached_read(
            catalog_cache.course_lessons_key(course_id=id, offset=window.offset, limit=window.limit),
            lambda: course_lessons_page_compute(course_id=id, offset=window.offset, limit=window.limit),
        )
        page: RenderedPage | None = read.value
        if page is None:
            raise NotFound()
        self.check_object_permissions(request, page)
        return self.paginator.page_response(
            request, window, total=page["data"]["total"], data=page["data"]["items"], stale=read.stale
        )

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
            section_id=data.get("section_id"),
            available_after_days=data.get("available_after_days"),
        )
        current = course_get(course_id=id) or course
        view = lesson_view_in(lesson=lesson, course=current)
        # A plain dict so the browsable API offers a fresh create form for the next lesson.
        return Response(
            dict(LessonSerializer(lesson_instance(view, current)).data), status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Reorder lessons",
        description="`lesson_ids` must be a permutation of the course's lessons; `placement` optionally "
        "moves lessons across sections in the same step. Sections and order live on the course and are "
        "replaced in a single atomic compare-and-set (readers never see duplicate positions); a "
        "concurrent reorder or add/remove makes this 409 instead of being lost. Answers the new "
        "curriculum order.",
        parameters=[ID_PARAM],
        request=ReorderSerializer,
        responses={200: ReorderResultSerializer, **error_responses(400, 401, 403, 404, 409, 503)},
    )
    @action(detail=True, methods=["post"], url_path="lessons/reorder")
    def reorder(self, request: Request, id: str) -> Response:
        course = self.load_course(id)
        data = self.parse(ReorderSerializer, request.data)
        updated = services.lesson_reorder(
            course=course, lesson_ids=data["lesson_ids"], placement=data.get("placement")
        )
        return Response({"lesson_ids": course_order(updated)})


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

    def load(self, lesson_id: str) -> tuple[Lesson, Course]:
        lesson, course = lesson_detail_get(actor=self.actor, lesson_id=lesson_id)
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
        view = lesson_view_in(lesson=lesson, course=course)
        return Response(LessonSerializer(lesson_instance(view, course)).data)

    def _update(self, request: Request, id: str, *, partial: bool) -> Response:
        lesson, course = self.load(id)
        data = self.parse(LessonWriteSerializer, request.data, partial=partial)
        if data.get("position") is None:
            data.pop("position", None)
        updated, course = services.lesson_update(lesson=lesson, course=course, fields=data)
        view = lesson_view_in(lesson=updated, course=course)
        return Response(LessonSerializer(lesson_instance(view, course)).data)

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
        "always comes from the token. Idempotent; `max_position` never decreases. `segments` are merged "
        "into the union of watched intervals (replays and duplicates add nothing); `watched_seconds` and "
        "`coverage` come from that union, and `completed` becomes true once coverage reaches "
        "`COMPLETION_COVERAGE` (default 0.9) and never reverts. The position alone never completes a lesson.",
        parameters=[ID_PARAM],
        request=ProgressInputSerializer,
        responses={200: ProgressSerializer, **error_responses(400, 401, 403, 404, 503)},
    )
    @action(detail=True, methods=["put"])
    def progress(self, request: Request, id: str) -> Response:
        data = self.parse(ProgressInputSerializer, request.data)
        result = services.progress_record(
            actor=self.actor, lesson_id=id, position=data["position"], segments=data["segments"]
        )
        return Response(progress_body(result))

    @extend_schema(
        summary="Mark a lesson completed",
        description="Completes a lesson without a video. A lesson with a video completes through watched "
        "coverage: until it reaches `COMPLETION_COVERAGE` this answers 409 `not_watched_enough` (details: "
        "`coverage`, `required`) and records nothing. Idempotent once completed.",
        parameters=[ID_PARAM],
        request=None,
        responses={200: ProgressSerializer, **error_responses(400, 401, 403, 404, 409, 503)},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, id: str) -> Response:
        return Response(progress_body(services.progress_complete(actor=self.actor, lesson_id=id)))
