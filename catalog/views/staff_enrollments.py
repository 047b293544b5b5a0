"""Staff enrollment: `POST courses/{id}/enrollments/` (a JSON list or a CSV upload) and
`DELETE courses/{id}/enrollments/{user_id}` (mixed into `CourseViewSet`). Thin: parse the roster
(catalog/roster.py), call the service (catalog/services/staff_enrollments.py), render the report."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.permissions import CourseEditable
from catalog.roster import roster_from_csv, roster_from_list
from catalog.serializers import (
    StaffEnrollmentFileSerializer,
    StaffEnrollmentJsonSerializer,
    StaffEnrollmentReportSerializer,
)
from catalog.services.common import archived
from catalog.services.staff_enrollments import staff_enroll, staff_unenroll
from catalog.views.base import ID_PARAM, CatalogViewSet
from learnstream.errors import Conflict, ValidationFailed
from learnstream.openapi import error_responses

USER_ID_PARAM = OpenApiParameter(
    "user_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The learner's user id."
)


class CourseStaffEnrollmentActions(CatalogViewSet):
    staff_permission_map: dict[str, list[type[BasePermission]]] = {
        "staff_enroll": [CourseEditable],
        "staff_unenroll": [CourseEditable],
    }

    @extend_schema(
        summary="Enroll learners (staff)",
        description="Owner or admin. JSON `{emails: [...]}` or a multipart CSV `file` with an `email` "
        "column (≤ 10 000 rows; UTF-8). Ignores `invite_only` and the enrollment window, not `capacity`: "
        "enrolls in roster order while seats last, the rest are `invalid` with `course_full`. An expired "
        "or cancelled enrollment starts again (a new access period). Every address lands in exactly one "
        "list; `row` is its 1-based position (CSV: data rows, header excluded). A roster-wide problem "
        "(no `email` column, not UTF-8, not CSV, too many rows) is a 400 and nothing is written. Echoed "
        "values that a spreadsheet would run as a formula are prefixed with `'`.",
        parameters=[ID_PARAM],
        request={
            "application/json": StaffEnrollmentJsonSerializer,
            "multipart/form-data": StaffEnrollmentFileSerializer,
        },
        responses={
            200: StaffEnrollmentReportSerializer,
            **error_responses(400, 401, 403, 404, 409, 413, 503),
        },
    )
    @action(detail=True, methods=["post"], url_path="enrollments")
    def staff_enroll(self, request: Request, id: str) -> Response:
        course = self.load_course(id)
        if course["status"] == "archived":
            raise archived()
        if course["status"] != "published":
            raise Conflict(
                "Only published courses accept enrollments.", details={"status": [course["status"]]}
            )
        upload = request.FILES.get("file")
        if upload is not None:
            roster = roster_from_csv(upload)
        elif "emails" in request.data:
            roster = roster_from_list(self.parse(StaffEnrollmentJsonSerializer, request.data)["emails"])
        else:
            raise ValidationFailed(
                details={"emails": ["Send `emails` (JSON) or a CSV `file` (multipart/form-data)."]}
            )
        report = staff_enroll(actor=self.actor, course=course, roster=roster)
        return Response(StaffEnrollmentReportSerializer(report).data)

    @extend_schema(
        summary="Unenroll a learner (staff)",
        description="Owner or admin. Cancels the learner's active enrollment (204); playback and progress "
        "are refused from the next request. 404 when the learner is not actively enrolled.",
        parameters=[ID_PARAM, USER_ID_PARAM],
        request=None,
        responses={204: None, **error_responses(400, 401, 403, 404, 503)},
    )
    @action(detail=True, methods=["delete"], url_path=r"enrollments/(?P<user_id>[0-9]{1,18})")
    def staff_unenroll(self, request: Request, id: str, user_id: str) -> Response:
        staff_unenroll(course=self.load_course(id), user_id=int(user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
