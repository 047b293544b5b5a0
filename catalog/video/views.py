"""Video endpoints: upload URL, signed playback, video deletion (thin: one service call each)."""

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.video.captions import (
    caption_create,
    caption_delete,
    caption_file,
    caption_list,
    transcript_for_lesson,
)
from catalog.video.deletion import video_delete_request
from catalog.video.ingest import LessonTarget, video_from_url, video_import_existing
from catalog.video.playback import LessonPlayback, playback_for_lesson
from catalog.video.serializers import (
    AdminFromUrlInputSerializer,
    AdminImportInputSerializer,
    AdminLessonVideoSerializer,
    AdminUploadInputSerializer,
    AdminUploadSerializer,
    CaptionCreateSerializer,
    CaptionSerializer,
    NoInputSerializer,
    PlaybackSerializer,
    TranscriptQuerySerializer,
    TranscriptSerializer,
    UploadRequestSerializer,
    UploadTicketSerializer,
)
from catalog.video.uploads import UploadTicket, admin_upload_request, video_upload_request
from learnstream.openapi import error_responses
from learnstream.permissions import Actor, IsAdminRole, IsInstructorOrAdmin
from learnstream.timestamps import iso_time
from streaming import mux

LESSON_ID = OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Lesson id (24 hex).")
TRACK_ID = OpenApiParameter(
    "track_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Caption track id (24 hex)."
)


def _ticket_data(ticket: UploadTicket) -> dict[str, Any]:
    return {"upload_id": ticket.upload_id, "upload_url": ticket.upload_url, "expires_at": ticket.expires_at}


def playback_body(playback: LessonPlayback) -> dict[str, Any]:
    """The wire form `PlaybackSerializer` documents, built directly: the hot path skips the serializer
    (DRF copies its fields on every instance), and a test holds the two equal."""
    grant = playback.grant
    return {
        "playback_id": grant.playback_id,
        "stream_url": grant.stream_url,
        "thumbnail_url": grant.thumbnail_url,
        "storyboard_url": grant.storyboard_url,
        "expires_at": iso_time(grant.expires_at),
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
        if self.action == "captions":
            return CaptionCreateSerializer
        return UploadRequestSerializer if self.action == "upload" else NoInputSerializer

    def get_queryset(self) -> list[Any]:  # type: ignore[override]
        # Only the browsable API asks (its filter form, for list answers such as `captions`); the data
        # comes from the services, never from a queryset.
        return []

    def get_permissions(self) -> list[BasePermission]:
        if self.action == "captions" and self.request.method == "POST":
            return [IsInstructorOrAdmin()]  # reading the list is open; the service checks visibility
        return list(super().get_permissions())  # type: ignore[arg-type]

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
        return Response(playback_body(playback))

    @extend_schema(
        methods=["GET"],
        operation_id="lessons_captions_list",
        summary="The lesson's caption tracks",
        description="Whoever can read the lesson. A bare array, in the order the tracks appeared.",
        parameters=[LESSON_ID],
        responses={200: CaptionSerializer(many=True), **error_responses(404, 503)},
    )
    @extend_schema(
        methods=["POST"],
        operation_id="lessons_captions_create",
        summary="Upload a caption track (WebVTT)",
        description=(
            "Owner or admin. The file is validated, stored, and fetched by Mux from a short-lived signed "
            "URL; the track is `preparing` until Mux reports it ready. A second upload in the same "
            "language replaces the first. 409 when the lesson has no ready video."
        ),
        parameters=[LESSON_ID],
        request=CaptionCreateSerializer,
        responses={201: CaptionSerializer, **error_responses(400, 401, 403, 404, 409, 413, 502, 503)},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="captions",
        permission_classes=[AllowAny],
        pagination_class=None,
    )
    def captions(self, request: Request, pk: str) -> Response:
        actor = Actor.of(request.user)
        if request.method == "GET":
            return Response(CaptionSerializer(caption_list(actor=actor, lesson_id=pk), many=True).data)
        serializer = CaptionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = caption_create(actor=actor, lesson_id=pk, **serializer.validated_data)
        return Response(CaptionSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="lessons_captions_destroy",
        summary="Delete a caption track",
        description="Owner or admin. Deletes the track at Mux, then here. 409 when the video is not ready.",
        parameters=[LESSON_ID, TRACK_ID],
        request=None,
        responses={204: None, **error_responses(401, 403, 404, 409, 502, 503)},
    )
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"captions/(?P<track_id>[^/.]+)",
        permission_classes=[IsInstructorOrAdmin],
    )
    def caption(self, request: Request, pk: str, track_id: str) -> Response:
        caption_delete(actor=Actor.of(request.user), lesson_id=pk, track_id=track_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="lessons_transcript_retrieve",
        summary="Plain-text transcript of a ready caption track",
        description="Whoever may play the lesson. `language` defaults to `en` (`en` also matches `en-US`).",
        parameters=[LESSON_ID, TranscriptQuerySerializer],
        responses={200: TranscriptSerializer, **error_responses(400, 401, 403, 404, 502, 503)},
    )
    @action(detail=True, methods=["get"], permission_classes=[AllowAny])
    def transcript(self, request: Request, pk: str) -> Response:
        query = TranscriptQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        result = transcript_for_lesson(
            actor=Actor.of(request.user), lesson_id=pk, language=query.validated_data["language"]
        )
        return Response(TranscriptSerializer(vars(result)).data)

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

    @extend_schema(
        operation_id="admin_uploads_from_url_create",
        summary="Admin: a lesson's video from a public HTTPS URL",
        description=(
            "`{lesson_id}` or `{course_id, title, description?}` plus `{url}` (https only). Mux downloads "
            "the file; the lesson is `processing` until Mux reports the asset ready. Counts against the "
            "upload quota."
        ),
        request=AdminFromUrlInputSerializer,
        responses={
            202: AdminLessonVideoSerializer,
            **error_responses(400, 401, 403, 404, 409, 429, 502, 503),
        },
    )
    @action(detail=False, methods=["post"], url_path="from-url")
    def from_url(self, request: Request) -> Response:
        serializer = AdminFromUrlInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lesson = video_from_url(
            actor=Actor.of(request.user),
            target=_target(data),
            url=data["url"],
            generated_subtitles=[
                mux.GeneratedSubtitles(language_code=g["language_code"], name=g.get("name"))
                for g in data.get("generated_subtitles", [])
            ],
        )
        return Response(AdminLessonVideoSerializer(lesson).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="admin_uploads_import_existing_create",
        summary="Admin: attach an asset that exists in the Mux account",
        description=(
            "`{asset_id}` plus `{lesson_id}` or `{course_id, title, description?}`. A signed playback id is "
            "added when the asset has none, and its passthrough becomes the lesson id. 404 "
            "`asset_not_found` when Mux has no such asset; 409 when it is errored or already attached."
        ),
        request=AdminImportInputSerializer,
        responses={200: AdminLessonVideoSerializer, **error_responses(400, 401, 403, 404, 409, 502, 503)},
    )
    @action(detail=False, methods=["post"], url_path="import-existing")
    def import_existing(self, request: Request) -> Response:
        serializer = AdminImportInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lesson = video_import_existing(
            actor=Actor.of(request.user), target=_target(data), asset_id=data["asset_id"]
        )
        return Response(AdminLessonVideoSerializer(lesson).data)


def _target(data: dict[str, Any]) -> LessonTarget:
    return LessonTarget(
        lesson_id=data.get("lesson_id"),
        course_id=data.get("course_id"),
        title=data.get("title"),
        description=data.get("description", ""),
    )


class CaptionFileView(APIView):
    """`GET /api/v1/caption-files/{id}.vtt?signature=`: an uploaded caption's WebVTT, for Mux to fetch.

    No account: the signature (short-lived, bound to this caption) is the authorization."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(
        operation_id="caption_files_retrieve",
        summary="An uploaded caption file (signed URL for Mux)",
        parameters=[
            OpenApiParameter("caption_id", OpenApiTypes.STR, OpenApiParameter.PATH),
            OpenApiParameter("signature", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True),
        ],
        responses={(200, "text/vtt"): OpenApiTypes.STR, **error_responses(404, 503)},
    )
    def get(self, request: Request, caption_id: str) -> HttpResponse:
        vtt = caption_file(caption_id=caption_id, token=str(request.query_params.get("signature", "")))
        response = HttpResponse(vtt.encode("utf-8"), content_type="text/vtt; charset=utf-8")
        response["Cache-Control"] = "private, no-store"
        return response
