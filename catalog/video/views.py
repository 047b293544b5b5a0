"""Video endpoints: upload URL, signed playback, video deletion (thin: one service call each)."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.video.deletion import video_delete_request
from catalog.video.playback import LessonPlayback, playback_for_lesson
from catalog.video.serializers import (
    AdminUploadInputSerializer,
    AdminUploadSerializer,
    NoInputSerializer,
    PlaybackSerializer,
    UploadRequestSerializer,
    UploadTicketSerializer,
)
from catalog.video.uploads import UploadTicket, admin_upload_request, video_upload_request
from learnstream.openapi import error_responses
from learnstream.permissions import Actor, IsAdminRole, IsInstructorOrAdmin
from streaming import mux

LESSON_ID = OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Lesson id (24 hex).")


def _ticket_data(ticket: UploadTicket) -> dict[str, Any]:
    return {"upload_id": ticket.upload_id, "upload_url": ticket.upload_url, "expires_at": ticket.expires_at}


def _playback_data(playback: LessonPlayback) -> dict[str, Any]:
    grant = playback.grant
    return {
        "playback_id": grant.playback_id,
        "stream_url": grant.stream_url,
        "thumbnail_url": grant.thumbnail_url,
        "storyboard_url": grant.storyboard_url,
        "expires_at": grant.expires_at,
        "tracks": [vars(t) for t in playback.tracks],
        "download_url": playback.download_url,
    }


class LessonVideoViewSet(viewsets.GenericViewSet):
    """`lessons/{id}/upload`, `lessons/{id}/playback`, `lessons/{id}/video`."""

    lookup_value_regex = "[^/]+"

    def get_serializer_class(self) -> type[serializers.Serializer]:
        # Only the browsable API asks: it renders a form (here: a bare button) for the allowed methods.
        if self.action == "playback":
            return PlaybackSerializer
        return UploadRequestSerializer if self.action == "upload" else NoInputSerializer

    @extend_schema(
        operation_id="lessons_upload_create",
        summary="Get a direct-upload URL for the lesson's video",
        description=(
            "Owner or admin. PUT the file to `upload_url`; the lesson becomes ready when Mux has processed "
            "it. A previous video stays playable until the new one is ready. Limited per user per hour. "
            "`generated_subtitles` asks Mux for auto captions (one track per language); a downloadable "
            "course's video also gets a static MP4."
        ),
        parameters=[LESSON_ID],
        request=UploadRequestSerializer,
        responses={201: UploadTicketSerializer, **error_responses(400, 401, 403, 404, 409, 429, 502, 503)},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsInstructorOrAdmin])
    def upload(self, request: Request, pk: str) -> Response:
        serializer = UploadRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        generated = [
            mux.GeneratedSubtitles(language_code=g["language_code"], name=g.get("name"))
            for g in serializer.validated_data.get("generated_subtitles", [])
        ]
        ticket = video_upload_request(
            actor=Actor.of(request.user), lesson_id=pk, generated_subtitles=generated
        )
        return Response(UploadTicketSerializer(_ticket_data(ticket)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="lessons_playback_retrieve",
        summary="Signed playback URLs for the lesson's video",
        description=(
            "Enrolled students, the owner and admins; anyone for preview lessons of published courses. "
            "409 while the video is not ready."
        ),
        parameters=[LESSON_ID],
        responses={200: PlaybackSerializer, **error_responses(401, 403, 404, 409, 503)},
    )
    @action(detail=True, methods=["get"], permission_classes=[AllowAny])
    def playback(self, request: Request, pk: str) -> Response:
        playback = playback_for_lesson(actor=Actor.of(request.user), lesson_id=pk)
        return Response(PlaybackSerializer(_playback_data(playback)).data)

    @extend_schema(
        operation_id="lessons_video_destroy",
        summary="Delete the lesson's video",
        description="Owner or admin. Deletes the Mux asset(s); the lesson's video status becomes `none`.",
        parameters=[LESSON_ID],
        request=None,
        responses={204: None, **error_responses(401, 403, 404, 409, 502, 503)},
    )
    @action(detail=True, methods=["delete"], url_path="video", permission_classes=[IsInstructorOrAdmin])
    def video(self, request: Request, pk: str) -> Response:
        video_delete_request(actor=Actor.of(request.user), lesson_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AdminUploadViewSet(viewsets.ViewSet):
    """`POST /admin/uploads` (admin only)."""

    permission_classes = [IsAdminRole]

    @extend_schema(
        operation_id="admin_uploads_create",
        summary="Admin: upload URL for an existing or a new lesson",
        description="`{lesson_id}` or `{course_id, title, description?}` (creates the lesson first).",
        request=AdminUploadInputSerializer,
        responses={201: AdminUploadSerializer, **error_responses(400, 401, 403, 404, 409, 429, 502, 503)},
    )
    def create(self, request: Request) -> Response:
        serializer = AdminUploadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = admin_upload_request(actor=Actor.of(request.user), **serializer.validated_data)
        data = {**_ticket_data(result.ticket), "lesson": result.lesson}
        return Response(AdminUploadSerializer(data).data, status=status.HTTP_201_CREATED)
