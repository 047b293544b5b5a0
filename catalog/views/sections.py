"""Course structure endpoints: a course's sections (list, add, reorder), its curriculum, and a section's
own (rename/move, delete). Thin: parse, call one selector or service, render."""

import json
from typing import Any

from django.http import HttpResponseBase
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import cache as catalog_cache
from catalog import services
from catalog.permissions import CourseEditable, CourseReadable
from catalog.selectors.courses import course_get_by_section
from catalog.selectors.curriculum import CurriculumPage, curriculum_compute, curriculum_for, section_views
from catalog.serializers import (
    CurriculumSerializer,
    SectionReorderSerializer,
    SectionSerializer,
    SectionWriteSerializer,
)
from catalog.services.common import now
from catalog.types import Course
from catalog.views.base import ID_PARAM, STALE_HEADER, CatalogViewSet, json_body, mark_stale
from learnstream.errors import NotFound
from learnstream.openapi import error_responses


def curriculum_page_compute(course_id: str) -> tuple[CurriculumPage | None, bool]:
    """For the page cache: the curriculum rendered once (plain data), with the access-check fields."""
    curriculum, cacheable = curriculum_compute(course_id=course_id)
    if curriculum is None:
        return None, False
    rendered = json.loads(json.dumps(CurriculumSerializer(curriculum).data))
    sections, unsectioned = rendered["sections"], rendered["unsectioned"]
    page: CurriculumPage = {
        "course_id": curriculum["course_id"],
        "owner_id": curriculum["owner_id"],
        "status": curriculum["status"],
        "sequential": curriculum["sequential"],
        "sections": sections,
        "unsectioned": unsectioned,
        # What every caller who is not an enrolled learner gets, encoded once.
        "body": json_body({"sections": sections, "unsectioned": unsectioned}),
    }
    return page, cacheable


class SectionPatchSerializer(SectionWriteSerializer):
    # Required but parsed with partial=True: an absent title is fine, and a form's `title=` is a sent
    # empty value (400), which DRF would read as "not sent" for an optional field.
    title = serializers.CharField(max_length=200, help_text="New title.")
    position = serializers.IntegerField(
        required=False, min_value=1, allow_null=True, help_text="New 1-based position among the sections."
    )


def _section_body(course: Course, section_id: str) -> dict[str, Any]:
    for index, section in enumerate(course["sections"]):
        if section["id"] == section_id:
            return dict(
                SectionSerializer(
                    {"id": section["id"], "title": section["title"], "position": index + 1,
                     "lesson_ids": section["lesson_ids"]}
                ).data
            )  # fmt: skip
    raise NotFound("No such section.")


class CourseSectionActions(CatalogViewSet):
    """`courses/{id}/sections/`, `courses/{id}/sections/reorder`, `courses/{id}/curriculum` (mixed into
    `CourseViewSet`)."""

    section_serializer_classes: dict[str, type[serializers.BaseSerializer]] = {
        "section_create": SectionWriteSerializer,
        "sections_reorder": SectionReorderSerializer,
    }
    section_permission_map: dict[str, list[type[BasePermission]]] = {
        "sections": [AllowAny, CourseReadable],
        "curriculum": [AllowAny, CourseReadable],
        "section_create": [CourseEditable],
        "sections_reorder": [CourseEditable],
    }

    def _curriculum(self, request: Request, course_id: str) -> tuple[CurriculumPage, bool]:
        read = catalog_cache.cached_read(
            catalog_cache.curriculum_key(course_id), lambda: curriculum_page_compute(course_id)
        )
        page: CurriculumPage | None = read.value
        if page is None:
            raise NotFound()
        self.check_object_permissions(request, page)
        return page, read.stale

    @extend_schema(
        summary="List a course's sections",
        description="In order, each with its lessons' ids in order: a bare array. Visibility as the course.",
        parameters=[ID_PARAM, STALE_HEADER],
        responses={200: SectionSerializer(many=True), **error_responses(400, 401, 404, 503)},
    )
    @action(detail=True, methods=["get"], url_path="sections", pagination_class=None)
    def sections(self, request: Request, id: str) -> Response:
        curriculum, stale = self._curriculum(request, id)
        return mark_stale(Response(SectionSerializer(section_views(curriculum), many=True).data), stale)

    @extend_schema(
        summary="Add a section",
        description="Appended unless `position` is given. Archived course → 409.",
        parameters=[ID_PARAM],
        request=SectionWriteSerializer,
        responses={201: SectionSerializer, **error_responses(400, 401, 403, 404, 409, 503)},
    )
    @sections.mapping.post
    def section_create(self, request: Request, id: str) -> Response:
        course = self.load_course(id)
        data = self.parse(SectionWriteSerializer, request.data)
        updated, section = services.section_create(
            course=course, title=data["title"], position=data["position"]
        )
        return Response(_section_body(updated, section["id"]), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Reorder sections",
        description="`section_ids` must be a permutation of the course's sections. One atomic "
        "compare-and-set on the course's structure: a concurrent structure change makes this 409.",
        parameters=[ID_PARAM],
        request=SectionReorderSerializer,
        responses={200: SectionSerializer(many=True), **error_responses(400, 401, 403, 404, 409, 503)},
    )
    @action(detail=True, methods=["post"], url_path="sections/reorder", pagination_class=None)
    def sections_reorder(self, request: Request, id: str) -> Response:
        course = self.load_course(id)
        data = self.parse(SectionReorderSerializer, request.data)
        updated = services.sections_reorder(course=course, section_ids=data["section_ids"])
        return Response([_section_body(updated, s["id"]) for s in updated["sections"]])

    @extend_schema(
        summary="A course's curriculum",
        description="Sections in order with their lessons, then the unsectioned lessons; one read, cached "
        "like the course page. For an actively enrolled learner every lesson also has `completed`, "
        "`locked` and `available_at` (release rules; null when open or locked by the sequence).",
        parameters=[ID_PARAM, STALE_HEADER],
        responses={200: CurriculumSerializer, **error_responses(400, 401, 404, 503)},
    )
    @action(detail=True, methods=["get"])
    def curriculum(self, request: Request, id: str) -> HttpResponseBase:
        curriculum, stale = self._curriculum(request, id)
        seen = curriculum_for(actor=self.actor, page=curriculum, now=now())
        data = {"sections": seen["sections"], "unsectioned": seen["unsectioned"]}
        return self.page_response(
            request, data=data, body=curriculum.get("body") if seen is curriculum else None, stale=stale
        )


class SectionViewSet(CatalogViewSet):
    """`sections/{id}`: rename/move (PATCH) and delete (DELETE) a section; owner or admin."""

    serializer_classes = {"partial_update": SectionPatchSerializer}
    permission_map: dict[str, list[type[BasePermission]]] = {
        "partial_update": [CourseEditable],
        "destroy": [CourseEditable],
    }

    def load_section_course(self, section_id: str) -> Course:
        course = course_get_by_section(section_id=section_id)
        if course is None:
            raise NotFound("No such section.")
        self.check_object_permissions(self.request, course)
        return course

    @extend_schema(
        summary="Rename or move a section",
        parameters=[ID_PARAM],
        request=SectionPatchSerializer,
        responses={200: SectionSerializer, **error_responses(400, 401, 403, 404, 409, 503)},
    )
    def partial_update(self, request: Request, id: str) -> Response:
        course = self.load_section_course(id)
        data = self.parse(SectionPatchSerializer, request.data, partial=True)
        updated = services.section_update(
            course=course, section_id=id, title=data.get("title"), position=data.get("position")
        )
        return Response(_section_body(updated, id))

    @extend_schema(
        summary="Delete a section",
        description="Only an empty section: one that still has lessons → 409 `section_not_empty`.",
        parameters=[ID_PARAM],
        responses={204: None, **error_responses(400, 401, 403, 404, 409, 503)},
    )
    def destroy(self, request: Request, id: str) -> Response:
        course = self.load_section_course(id)
        services.section_delete(course=course, section_id=id)
        return Response(status=status.HTTP_204_NO_CONTENT)
