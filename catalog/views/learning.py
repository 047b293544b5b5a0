"""Learning endpoints: enroll/unenroll, a course's students, progress and analytics, the learner's
enrollments and progress, and the platform overview. Thin: parse, call one selector or service, render."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import analytics, services
from catalog.models import Enrollment
from catalog.permissions import CourseEditable
from catalog.selectors.enrollments import course_students_list, enrollment_list
from catalog.selectors.progress import course_progress_for, my_progress_list
from catalog.serializers import (
    CourseAnalyticsSerializer,
    CourseProgressRowSerializer,
    CourseProgressSerializer,
    EnrollmentListQuerySerializer,
    EnrollmentSerializer,
    OverviewSerializer,
    StudentSerializer,
)
from catalog.views.base import ID_PARAM, CatalogViewSet
from learnstream.openapi import error_responses
from learnstream.permissions import IsAdminRole
from learnstream.timestamps import iso_time


class EnrollmentCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    course_id = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


def enrollment_body(enrollment: Enrollment) -> dict[str, Any]:
    """The wire form `EnrollmentCreatedSerializer` documents, built directly (enrolling again is a hot
    path; a test holds the two equal)."""
    return {
        "id": enrollment.pk,
        "user_id": enrollment.user_id,
        "course_id": enrollment.course_id,
        "status": enrollment.status,
        "created_at": iso_time(enrollment.created_at),
    }


class CourseLearnerActions(CatalogViewSet):
    """`courses/{id}/enroll`, `students`, `progress`, `analytics` (mixed into `CourseViewSet`)."""

    learner_permission_map: dict[str, list[type[BasePermission]]] = {
        "students": [CourseEditable],
        "analytics": [CourseEditable],
        "enroll": [IsAuthenticated],
        "unenroll": [IsAuthenticated],
        "progress": [IsAuthenticated],
    }

    @extend_schema(
        summary="Enroll in a course",
        description="Published courses only (409 otherwise). 201 when the enrollment starts, 200 when it "
        "was already active; concurrent calls converge on one row. A paid course answers 402 "
        "`payment_required` unless the caller bought it (checkout). The course's policy: invite-only → 403 "
        "`invite_only`; outside the enrollment window → 409 `enrollment_closed`; no seat left → 409 "
        "`course_full` (exact under concurrency); an expired enrollment → 403 `enrollment_expired` (only "
        "staff enrollment renews it; unenrolling and enrolling again keeps the original expiry).",
        parameters=[ID_PARAM],
        request=None,
        responses={
            201: EnrollmentCreatedSerializer,
            200: EnrollmentCreatedSerializer,
            **error_responses(400, 401, 402, 403, 404, 409, 503),
        },
    )
    @action(detail=True, methods=["post"])
    def enroll(self, request: Request, id: str) -> Response:
        enrollment, created = services.enrollment_create(actor=self.actor, course_id=id)
        return Response(
            enrollment_body(enrollment), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        summary="Unenroll",
        description="404 when you are not actively enrolled.",
        parameters=[ID_PARAM],
        request=None,
        responses={204: None, **error_responses(400, 401, 404, 503)},
    )
    @enroll.mapping.delete
    def unenroll(self, request: Request, id: str) -> Response:
        services.enrollment_cancel(actor=self.actor, course_id=id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Students of a course with their progress",
        parameters=[ID_PARAM],
        responses={200: StudentSerializer(many=True), **error_responses(400, 401, 403, 404, 503)},
    )
    @action(detail=True, methods=["get"])
    def students(self, request: Request, id: str) -> Response:
        course = self.load_course(id)
        window = self.paginator.window(request)
        page = course_students_list(course=course, offset=window.offset, limit=window.limit)
        return self.paginator.page_response(
            request, window, total=page.total, data=StudentSerializer(page.items, many=True).data
        )

    @extend_schema(
        summary="My progress in a course",
        description="Enrolled learners (and the owner/admins). Every lesson in order, the course percent "
        "(completed lessons / lessons * 100), `completed_lessons` and the resume point `last_lesson_id`.",
        parameters=[ID_PARAM],
        responses={200: CourseProgressSerializer, **error_responses(400, 401, 403, 404, 503)},
    )
    @action(detail=True, methods=["get"])
    def progress(self, request: Request, id: str) -> Response:
        progress = course_progress_for(actor=self.actor, course_id=id)
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
        window = self.paginator.window(request)
        page = enrollment_list(
            actor=self.actor,
            user_filter=query.get("user") if self.actor.is_admin else None,
            course_filter=query.get("course"),
            offset=window.offset,
            limit=window.limit,
        )
        return self.paginator.page_response(
            request, window, total=page.total, data=EnrollmentSerializer(page.items, many=True).data
        )


class MyProgressViewSet(CatalogViewSet):
    permission_map = {"list": [IsAuthenticated]}

    @extend_schema(
        summary="My progress, one row per enrolled course",
        responses={200: CourseProgressRowSerializer(many=True), **error_responses(400, 401, 404, 503)},
    )
    def list(self, request: Request) -> Response:
        window = self.paginator.window(request)
        page = my_progress_list(user_id=self.actor.id or 0, offset=window.offset, limit=window.limit)
        return self.paginator.page_response(
            request, window, total=page.total, data=CourseProgressRowSerializer(page.items, many=True).data
        )


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
