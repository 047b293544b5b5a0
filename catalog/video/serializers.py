from rest_framework import serializers


class NoInputSerializer(serializers.Serializer):
    """Actions that take no body (the browsable API renders a bare button for them)."""


class UploadTicketSerializer(serializers.Serializer):
    upload_id = serializers.CharField()
    upload_url = serializers.URLField(help_text="PUT the video file here (straight to Mux).")
    expires_at = serializers.DateTimeField(allow_null=True, help_text="The upload URL stops working then.")


class PlaybackSerializer(serializers.Serializer):
    playback_id = serializers.CharField()
    stream_url = serializers.URLField(help_text="HLS stream with a signed token (aud v).")
    thumbnail_url = serializers.URLField(help_text="Signed thumbnail (aud t).")
    storyboard_url = serializers.URLField(help_text="Signed storyboard (aud s).")
    expires_at = serializers.DateTimeField(help_text="When the tokens expire.")


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
