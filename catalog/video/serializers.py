from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.video.tracks import track_rows
from catalog.video.webvtt import InvalidWebVTT, vtt_validate
from streaming.mux import GENERATED_SUBTITLE_LANGUAGES


class NoInputSerializer(serializers.Serializer):
    """Actions that take no body (the browsable API renders a bare button for them)."""


class UploadTicketSerializer(serializers.Serializer):
    upload_id = serializers.CharField()
    upload_url = serializers.URLField(help_text="PUT the video file here (straight to Mux).")
    expires_at = serializers.DateTimeField(allow_null=True, help_text="The upload URL stops working then.")


class PlaybackTrackSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Caption track id (24 hex).")
    language_code = serializers.CharField(help_text="BCP 47 language code, e.g. `en`.")
    name = serializers.CharField()
    url = serializers.URLField(help_text="The WebVTT file, with a signed token (aud v).")


class GeneratedSubtitleSerializer(serializers.Serializer):
    language_code = serializers.ChoiceField(
        choices=sorted(GENERATED_SUBTITLE_LANGUAGES), help_text="A language Mux can caption automatically."
    )
    name = serializers.CharField(required=False, max_length=100, help_text="Shown in players' caption menus.")


class UploadRequestSerializer(serializers.Serializer):
    generated_subtitles = GeneratedSubtitleSerializer(
        many=True,
        required=False,
        help_text="Ask Mux for auto-generated captions, one track per language.",
    )

    def validate_generated_subtitles(self, value: list[dict]) -> list[dict]:
        codes = [item["language_code"] for item in value]
        if len(codes) != len(set(codes)):
            raise serializers.ValidationError("Each language may be asked for once.")
        return value


LANGUAGE_CODE = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"


class CaptionSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Caption track id (24 hex).")
    language_code = serializers.CharField()
    name = serializers.CharField()
    source = serializers.ChoiceField(choices=["generated", "uploaded"])  # type: ignore[assignment]
    status = serializers.ChoiceField(choices=["preparing", "ready", "errored"])


class CaptionCreateSerializer(serializers.Serializer):
    language_code = serializers.RegexField(
        LANGUAGE_CODE, max_length=35, help_text="BCP 47 language code, e.g. `en` or `pt-BR`."
    )
    name = serializers.CharField(max_length=100, help_text="Shown in players' caption menus.")
    vtt = serializers.CharField(
        trim_whitespace=False,
        style={"base_template": "textarea.html", "rows": 10},
        help_text="The caption file: WebVTT text, at most 1 MiB (the whole request is capped at 1 MiB too).",
    )

    def validate_vtt(self, value: str) -> str:
        try:
            vtt_validate(value)
        except InvalidWebVTT as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value


class TranscriptQuerySerializer(serializers.Serializer):
    language = serializers.RegexField(
        LANGUAGE_CODE, required=False, default="en", max_length=35, help_text="Language code (default `en`)."
    )


class TranscriptSerializer(serializers.Serializer):
    language_code = serializers.CharField()
    text = serializers.CharField(help_text="The track's text, one line per caption, without timings.")


class PlaybackSerializer(serializers.Serializer):
    playback_id = serializers.CharField()
    stream_url = serializers.URLField(help_text="HLS stream with a signed token (aud v).")
    thumbnail_url = serializers.URLField(help_text="Signed thumbnail (aud t).")
    storyboard_url = serializers.URLField(help_text="Signed storyboard (aud s).")
    expires_at = serializers.DateTimeField(help_text="When the tokens expire.")
    tracks = PlaybackTrackSerializer(many=True, help_text="Ready caption tracks (`[]` when none).")
    download_url = serializers.URLField(
        allow_null=True,
        help_text="Signed MP4 (aud v) for courses that offer downloads, once Mux has prepared it; else null.",
    )


class AdminUploadInputSerializer(serializers.Serializer):
    """Either an existing `lesson_id`, or `course_id` + `title` (+ `description`) to create the lesson."""

    lesson_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$", required=False)
    course_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$", required=False)
    title = serializers.CharField(required=False, max_length=200, allow_blank=False)
    description = serializers.CharField(required=False, max_length=5000, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        if attrs.get("lesson_id"):
            return attrs
        if attrs.get("course_id") and attrs.get("title"):
            return attrs
        raise serializers.ValidationError("Give either lesson_id, or course_id and title.")


class AdminFromUrlInputSerializer(AdminUploadInputSerializer):
    """`{lesson_id}` or `{course_id, title}`, plus the public HTTPS `url` Mux downloads the video from."""

    url = serializers.URLField(max_length=2000, help_text="A public https:// URL of the video file.")
    generated_subtitles = GeneratedSubtitleSerializer(many=True, required=False)

    def validate_url(self, value: str) -> str:
        if not value.lower().startswith("https://"):
            raise serializers.ValidationError("Only https:// URLs are accepted.")
        return value

    def validate_generated_subtitles(self, value: list[dict]) -> list[dict]:
        return UploadRequestSerializer().validate_generated_subtitles(value)


class AdminImportInputSerializer(AdminUploadInputSerializer):
    """`{lesson_id}` or `{course_id, title}`, plus the id of an asset in the Mux account."""

    asset_id = serializers.RegexField(r"^[A-Za-z0-9]{1,255}$", help_text="The Mux asset id.")


class AdminUploadLessonSerializer(serializers.Serializer):
    id = serializers.CharField()
    course_id = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    duration = serializers.FloatField(allow_null=True)
    is_preview = serializers.BooleanField()
    video_status = serializers.CharField(source="video.status", default="none")


class AdminUploadSerializer(UploadTicketSerializer):
    lesson = AdminUploadLessonSerializer()


class AdminLessonVideoSerializer(AdminUploadLessonSerializer):
    """A lesson whose video came from a URL or an existing asset."""

    video_status = serializers.CharField(source="video.status", default="none")
    tracks = serializers.SerializerMethodField(help_text="Its caption tracks (as `lessons/{id}/captions/`).")

    @extend_schema_field(CaptionSerializer(many=True))
    def get_tracks(self, obj: dict) -> list[dict]:
        return track_rows(obj.get("video") or {})
