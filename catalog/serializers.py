"""Input validation and output shapes for the catalog API. Input serializers only parse and validate
(no business rules, no persistence); output serializers list every field explicitly (an allowlist:
no Mux ids, no emails, no internal fields)."""

import math
import re
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField, empty
from rest_framework.utils import html

from catalog.coverage import MAX_SEGMENTS
from catalog.policy import MAX_ACCESS_DAYS, MAX_CAPACITY
from catalog.repositories.base import is_object_id
from catalog.roster import MAX_ROWS as MAX_ROSTER_ROWS
from catalog.types import COURSE_LEVELS, COURSE_STATUSES, ENROLLMENT_MODES, VIDEO_STATUSES
from learnstream.limits import INT64_MAX

MAX_TAGS = 20
MAX_TAG_LENGTH = 40
MAX_SEARCH_LENGTH = 100
MAX_PREREQUISITES = 20
MAX_DRIP_DAYS = 3650
MAX_SECTION_TITLE = 200
MAX_SECONDS = 7 * 24 * 3600.0  # a week: far beyond any lesson, small enough to keep numbers sane
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9+#._-]*$")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

LEVEL_CHOICES = [(level, level.capitalize()) for level in COURSE_LEVELS]
ORDERING_CHOICES = ["-published_at", "title", "-created_at"]
DEFAULT_COURSE_ORDERING = "-published_at"


# --- fields -----------------------------------------------------------------------------------------
@extend_schema_field(
    {"type": "array", "items": {"type": "string", "maxLength": MAX_TAG_LENGTH}, "maxItems": MAX_TAGS}
)
class TagsField(serializers.Field):
    """A list of tags; HTML forms may send one comma-separated string. Tags are lower-cased, trimmed
    and de-duplicated."""

    default_error_messages = {
        "invalid": "Expected a list of strings.",
        "too_many": f"At most {MAX_TAGS} tags.",
        "bad_tag": f"Tags are 1-{MAX_TAG_LENGTH} characters: lower-case letters, digits and + # . _ -",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("style", {"base_template": "input.html", "placeholder": "python, web"})
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, str):
            raw = data.split(",")
        elif isinstance(data, list) and all(isinstance(t, str) for t in data):
            raw = data
        else:
            self.fail("invalid")
        tags: list[str] = []
        for item in raw:
            tag = item.strip().lower()
            if not tag:
                continue
            if len(tag) > MAX_TAG_LENGTH or not TAG_RE.match(tag):
                self.fail("bad_tag")
            if tag not in tags:
                tags.append(tag)
        if len(tags) > MAX_TAGS:
            self.fail("too_many")
        return tags

    def to_representation(self, value: Any) -> Any:
        # Rendered into the browsable API's form as one editable string.
        return ", ".join(value)


class SecondsField(serializers.FloatField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0.0)
        kwargs.setdefault("max_value", MAX_SECONDS)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return float(value)


class IdListField(serializers.ListField):
    """A list of ids; HTML forms (the browsable API) may send one comma-separated string instead."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("style", {"base_template": "input.html", "placeholder": "id1, id2, id3"})
        kwargs.setdefault("initial", "")  # the form would otherwise show (and send back) "[]"
        super().__init__(**kwargs)

    def get_value(self, dictionary: Any) -> Any:
        # ListField reads HTML input as repeated keys; a single text input arrives as one string.
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            return dictionary.get(self.field_name)
        return super().get_value(dictionary)

    def to_internal_value(self, data: Any) -> list[Any]:
        if isinstance(data, str):
            data = [part.strip() for part in data.split(",") if part.strip()]
        return super().to_internal_value(data)


def _object_id(value: str) -> str:
    if not isinstance(value, str) or not is_object_id(value):
        raise serializers.ValidationError("Not a valid id.")
    return value.lower()


# --- courses ----------------------------------------------------------------------------------------
# ISO 4217 codes Stripe settles in that a course may be priced in (lower-case, as Stripe writes them).
PRICE_CURRENCIES = frozenset(
    [
        "usd",
        "eur",
        "gbp",
        "chf",
        "cad",
        "aud",
        "nzd",
        "jpy",
        "sek",
        "nok",
        "dkk",
        "pln",
        "czk",
        "huf",
        "ron",
        "bgn",
        "sgd",
        "hkd",
        "inr",
        "brl",
        "mxn",
        "zar",
    ]
)
# Stripe's ceiling for one charge: eight digits of minor units.
PRICE_MAX_AMOUNT = 99_999_999


class PriceSerializer(serializers.Serializer):
    amount = serializers.IntegerField(
        min_value=1, max_value=PRICE_MAX_AMOUNT, help_text="Minor units (cents), > 0."
    )
    currency = serializers.CharField(max_length=3, help_text="ISO 4217 code, e.g. usd, eur.")

    def validate_currency(self, value: str) -> str:
        value = value.strip().lower()
        if value not in PRICE_CURRENCIES:
            raise serializers.ValidationError(f"Unsupported currency {value!r}.")
        return value

    def get_value(self, dictionary: Any) -> Any:
        # The browsable API's form sends `price.amount` and `price.currency`; both left blank means
        # "free" (null), not an invalid price, and no price keys at all means "not sent".
        if html.is_html_input(dictionary):
            sent = html.parse_html_dict(dictionary, prefix=self.field_name or "")
            if not sent:
                return empty
            if all(str(v).strip() == "" for v in sent.values()):
                return None
            return sent
        return super().get_value(dictionary)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict) and isinstance(data.get("amount"), bool):
            raise serializers.ValidationError({"amount": ["A valid integer is required."]})
        value = super().to_internal_value(data)
        return {"amount": int(value["amount"]), "currency": str(value["currency"])}


class CourseWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, help_text="Course title (1-200 characters).")
    slug = serializers.CharField(
        max_length=80,
        required=False,
        allow_blank=True,
        help_text="URL name: lower-case words joined by hyphens. Optional on create (generated from the "
        "title, suffixed -2, -3… if taken); an explicit slug that is taken is a 409.",
    )
    description = serializers.CharField(
        max_length=10_000,
        required=False,
        allow_blank=True,
        default="",
        style={"base_template": "textarea.html", "rows": 6},
        help_text="Free text shown on the course page.",
    )
    tags = TagsField(required=False, default=list, help_text=f"Up to {MAX_TAGS} tags, e.g. python, web.")
    level = serializers.ChoiceField(choices=LEVEL_CHOICES, help_text="Audience level.")
    sequential = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Release rule: a learner's lesson opens once the previous one (curriculum order) is "
        "completed.",
    )
    prerequisites = IdListField(
        child=serializers.CharField(),
        required=False,
        default=list,
        max_length=MAX_PREREQUISITES,
        help_text="Ids of published courses a learner must have completed before enrolling "
        "(comma-separated in HTML forms). No cycles.",
    )
    price = PriceSerializer(
        required=False,
        allow_null=True,
        help_text="`{amount, currency}` to sell the course (Stripe Checkout); null = free.",
    )
    downloadable = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Offer learners a signed MP4 download of each lesson (once Mux has prepared it).",
    )
    # Enrollment policy (catalog/policy.py). Optional even on PUT: omitted = unchanged.
    enrollment = serializers.ChoiceField(
        choices=ENROLLMENT_MODES,
        required=False,
        help_text="`open`: anyone may enroll; `invite_only`: only staff enrollment and invitations "
        "(self-enrollment → 403 `invite_only`).",
    )
    capacity = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_CAPACITY,
        help_text="Seat cap: never more active enrollments (→ 409 `course_full`); null = no cap. Below the "
        "current active enrollments → 409 `capacity_below_enrollments`.",
    )
    enrollment_opens_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Self-enrollment opens (null: already open)."
    )
    enrollment_closes_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Self-enrollment closes (null: never); must be after `enrollment_opens_at` (400). "
        "Outside the window → 409 `enrollment_closed`.",
    )
    access_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ACCESS_DAYS,
        help_text="An enrollment expires this many days after it started (null: never). Fixed when the "
        "enrollment starts: a change applies to enrollments that start afterwards.",
    )

    def validate_title(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("This field may not be blank.")
        return value

    def validate_prerequisites(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(_object_id(v) for v in value))

    def validate_slug(self, value: str) -> str:
        value = value.strip().lower()
        if value and not SLUG_RE.match(value):
            raise serializers.ValidationError("Use lower-case letters, digits and single hyphens.")
        return value


class CourseSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="24-hex course id.")
    title = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    level = serializers.ChoiceField(choices=COURSE_LEVELS)
    status = serializers.ChoiceField(choices=COURSE_STATUSES)
    instructor = serializers.SerializerMethodField(help_text="The owner: `{id, name}`.")
    lesson_count = serializers.IntegerField()
    total_duration = serializers.FloatField(
        help_text="Sum of the lessons' durations in seconds (unknown = 0)."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True, help_text="First publication time.")
    sequential = serializers.BooleanField(help_text="Lessons open one after another (release rule).")
    prerequisites = serializers.ListField(
        child=serializers.CharField(), help_text="Courses to complete before enrolling."
    )
    price = PriceSerializer(allow_null=True, help_text="`{amount, currency}` of a paid course; null = free.")
    downloadable = serializers.BooleanField(help_text="Playback includes a signed MP4 `download_url`.")
    enrollment = serializers.ChoiceField(choices=ENROLLMENT_MODES)
    capacity = serializers.IntegerField(allow_null=True, help_text="Seat cap; null = no cap.")
    enrollment_opens_at = serializers.DateTimeField(allow_null=True)
    enrollment_closes_at = serializers.DateTimeField(allow_null=True)
    access_days = serializers.IntegerField(
        allow_null=True, help_text="Days of access from the enrollment's start; null = no expiry."
    )

    @extend_schema_field(
        {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
            "required": ["id", "name"],
        }
    )
    def get_instructor(self, obj: Any) -> dict[str, Any]:
        return {"id": obj["instructor"]["id"], "name": obj["instructor"]["name"]}


class CourseListQuerySerializer(serializers.Serializer):
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_SEARCH_LENGTH,
        help_text="Case-insensitive substring of the title or a tag.",
    )
    tag = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_TAG_LENGTH, help_text="Exact tag."
    )
    level = serializers.ChoiceField(required=False, choices=COURSE_LEVELS)
    instructor = serializers.IntegerField(
        required=False, min_value=1, max_value=INT64_MAX, help_text="Owner's user id."
    )
    status = serializers.ChoiceField(
        required=False,
        choices=COURSE_STATUSES,
        help_text="Instructors: `draft`/`archived` list their own; admins: any. Default: published "
        "(plus your own drafts for instructors, every draft for admins).",
    )
    ordering = serializers.ChoiceField(
        required=False, choices=ORDERING_CHOICES, default=DEFAULT_COURSE_ORDERING
    )

    def validate_tag(self, value: str) -> str:
        return value.strip().lower()


# --- lessons ----------------------------------------------------------------------------------------
class LessonWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, help_text="Lesson title (1-200 characters).")
    description = serializers.CharField(
        max_length=10_000,
        required=False,
        allow_blank=True,
        default="",
        style={"base_template": "textarea.html", "rows": 4},
    )
    position = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=INT64_MAX,
        allow_null=True,
        default=None,
        help_text="1-based position; omitted or beyond the end → appended.",
    )
    is_preview = serializers.BooleanField(
        required=False, default=False, help_text="Preview lessons can be played by anyone."
    )
    duration = SecondsField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Length in seconds. Optional: set automatically once the lesson's video is ready.",
    )
    section_id = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="The section of this course the lesson belongs to (null or blank: unsectioned). With "
        "sections, `position` is within the lesson's section. Moving a lesson keeps its progress.",
    )
    available_after_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_DRIP_DAYS,
        help_text="Drip: the lesson opens this many days after the learner enrolled (null: at once).",
    )

    def validate_section_id(self, value: str | None) -> str | None:
        return _object_id(value) if value else None

    def validate_title(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("This field may not be blank.")
        return value


class LessonSerializer(serializers.Serializer):
    id = serializers.CharField()
    course_id = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    position = serializers.IntegerField(help_text="1-based; the course's lesson order.")
    duration = serializers.FloatField(allow_null=True, help_text="Seconds; null until known.")
    is_preview = serializers.BooleanField()
    section_id = serializers.CharField(allow_null=True, help_text="Its section; null = unsectioned.")
    available_after_days = serializers.IntegerField(
        allow_null=True, help_text="Drip: opens this many days after the learner enrolled."
    )
    video_status = serializers.ChoiceField(choices=VIDEO_STATUSES, help_text="State of the lesson's video.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ReorderSerializer(serializers.Serializer):
    lesson_ids = IdListField(
        child=serializers.CharField(),
        max_length=1000,
        help_text="Every lesson id of the course exactly once, in the new order "
        "(comma-separated in HTML forms).",
    )

    placement = serializers.DictField(
        child=serializers.CharField(allow_null=True, allow_blank=True),
        required=False,
        help_text="Optional moves across sections in the same atomic step: `{lesson_id: section_id or "
        "null}` (null: unsectioned). Lessons not named keep their section; each group follows the order "
        "of `lesson_ids`.",
    )

    def validate_lesson_ids(self, value: list[str]) -> list[str]:
        return [_object_id(v) for v in value]

    def validate_placement(self, value: dict[str, str | None]) -> dict[str, str | None]:
        if len(value) > 1000:
            raise serializers.ValidationError("At most 1000 entries.")
        return {_object_id(k): (_object_id(v) if v else None) for k, v in value.items()}


# --- sections ---------------------------------------------------------------------------------------
class SectionWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=MAX_SECTION_TITLE, help_text="Section title (1-200 characters).")
    position = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=INT64_MAX,
        allow_null=True,
        default=None,
        help_text="1-based position among the sections; omitted or beyond the end → last.",
    )

    def validate_title(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("This field may not be blank.")
        return value


class SectionSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="24-hex section id.")
    title = serializers.CharField()
    position = serializers.IntegerField(help_text="1-based; the course's section order.")
    lesson_ids = serializers.ListField(child=serializers.CharField(), help_text="Its lessons, in order.")


class SectionReorderSerializer(serializers.Serializer):
    section_ids = IdListField(
        child=serializers.CharField(),
        max_length=1000,
        help_text="Every section id of the course exactly once, in the new order (comma-separated in "
        "HTML forms).",
    )

    def validate_section_ids(self, value: list[str]) -> list[str]:
        return [_object_id(v) for v in value]


class LearnerOnlyDateTimeField(serializers.DateTimeField):
    """Absent (not null) when the row has no such key: learner-only fields are omitted for others."""

    def get_attribute(self, instance: Any) -> Any:
        if isinstance(instance, dict) and self.source not in instance:
            raise SkipField()
        return super().get_attribute(instance)


class CurriculumLessonSerializer(LessonSerializer):
    completed = serializers.BooleanField(required=False, help_text="Enrolled learners only.")
    locked = serializers.BooleanField(
        required=False, help_text="Enrolled learners only: not playable yet (release rules)."
    )
    available_at = LearnerOnlyDateTimeField(
        required=False,
        allow_null=True,
        help_text="Enrolled learners only: when a drip-locked lesson opens; null when open or locked by "
        "the sequence.",
    )


class CurriculumSectionSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    position = serializers.IntegerField()
    lessons = CurriculumLessonSerializer(many=True)


class CurriculumSerializer(serializers.Serializer):
    sections = CurriculumSectionSerializer(many=True, help_text="In order.")
    unsectioned = CurriculumLessonSerializer(
        many=True, help_text="Lessons in no section, after the sections."
    )


# --- enrollments ------------------------------------------------------------------------------------
class EnrollmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    course_id = serializers.CharField()
    course_title = serializers.CharField(allow_null=True, help_text="Null if the course no longer exists.")
    status = serializers.ChoiceField(choices=["active", "cancelled"])
    created_at = serializers.DateTimeField(help_text="When the (current) enrollment started.")
    expires_at = serializers.DateTimeField(allow_null=True, help_text="When access ends; null = never.")
    expired = serializers.BooleanField(help_text="Active but past `expires_at`: no playback, no progress.")
    lesson_count = serializers.IntegerField()
    completed_lessons = serializers.IntegerField()
    percent = serializers.FloatField(help_text="Completed lessons / lessons * 100.")


class StrictQueryCharField(serializers.CharField):
    """A query parameter that, when present, must be valid: DRF reads `?name=` (empty) from a query string
    as if the parameter were absent, which silently widens a filter the caller meant to narrow."""

    def get_value(self, dictionary: Any) -> Any:
        return dictionary.get(self.field_name, serializers.empty)


class EnrollmentListQuerySerializer(serializers.Serializer):
    user = serializers.IntegerField(
        required=False, min_value=1, max_value=INT64_MAX, help_text="Admins only: this user's rows."
    )
    course = StrictQueryCharField(required=False, help_text="Only this course's rows.")

    def validate_course(self, value: str) -> str:
        return _object_id(value)


class PublicUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class StudentSerializer(serializers.Serializer):
    user = PublicUserSerializer()
    enrolled_at = serializers.DateTimeField()
    completed_lessons = serializers.IntegerField()
    lesson_count = serializers.IntegerField()
    percent = serializers.FloatField(help_text="Completed lessons / lessons * 100.")
    last_activity = serializers.DateTimeField(allow_null=True)


# --- staff enrollment -------------------------------------------------------------------------------
class StaffEnrollmentJsonSerializer(serializers.Serializer):
    emails = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=1000),
        max_length=MAX_ROSTER_ROWS,
        help_text=f"Up to {MAX_ROSTER_ROWS} addresses; each is reported in one of the four lists.",
    )


class StaffEnrollmentFileSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text=f"A UTF-8 CSV whose header names an `email` column (other columns are ignored), at most "
        f"{MAX_ROSTER_ROWS} data rows, within the request body cap."
    )


class InvalidRosterRowSerializer(serializers.Serializer):
    row = serializers.IntegerField(
        help_text="1-based position among the submitted addresses (CSV: data rows)."
    )
    email = serializers.CharField(help_text="As submitted (trimmed; formula-like text prefixed with `'`).")
    error = serializers.ChoiceField(
        choices=["invalid_email", "duplicate", "course_full"],
        help_text="`invalid_email`; `duplicate` (earlier in the roster); `course_full` (no seat left).",
    )


class StaffEnrollmentReportSerializer(serializers.Serializer):
    enrolled = serializers.ListField(child=serializers.CharField(), help_text="Enrolled now.")
    already_enrolled = serializers.ListField(child=serializers.CharField())
    invited = serializers.ListField(
        child=serializers.CharField(), help_text="No account yet: an invitation was sent."
    )
    invalid = InvalidRosterRowSerializer(many=True)


# --- progress ---------------------------------------------------------------------------------------
@extend_schema_field(
    {
        "type": "array",
        "maxItems": MAX_SEGMENTS,
        "items": {
            "type": "array",
            "items": {"type": "number", "minimum": 0, "maximum": MAX_SECONDS},
            "minItems": 2,
            "maxItems": 2,
        },
    }
)
class SegmentsField(serializers.Field):
    """`[[start, end], ...]` in seconds: finite numbers, 0 <= start <= end, at most `MAX_SEGMENTS`. Ends
    beyond the lesson's duration are clipped by the service (it knows the duration)."""

    default_error_messages = {
        "invalid": "Expected a list of [start, end] pairs of numbers.",
        "too_many": f"At most {MAX_SEGMENTS} segments per heartbeat.",
        "bad_value": "Segment bounds are finite numbers of seconds between 0 and {max}.",
        "reversed": "A segment ends before it starts.",
    }

    def to_internal_value(self, data: Any) -> list[tuple[float, float]]:
        if not isinstance(data, list):
            self.fail("invalid")
        if len(data) > MAX_SEGMENTS:
            self.fail("too_many")
        segments: list[tuple[float, float]] = []
        for pair in data:
            if not isinstance(pair, list) or len(pair) != 2:
                self.fail("invalid")
            for value in pair:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    self.fail("invalid")
                if not math.isfinite(value) or not 0 <= value <= MAX_SECONDS:
                    self.fail("bad_value", max=int(MAX_SECONDS))
            start, end = float(pair[0]), float(pair[1])
            if end < start:
                self.fail("reversed")
            segments.append((start, end))
        return segments

    def to_representation(self, value: Any) -> Any:
        return [list(pair) for pair in value]


class ProgressInputSerializer(serializers.Serializer):
    position = SecondsField(help_text="Current playback position in seconds (clamped to the duration).")
    segments = SegmentsField(
        required=False,
        default=list,
        help_text="The intervals `[start, end]` (seconds) played since the previous heartbeat. The server "
        "keeps their union per learner and lesson; one heartbeat adds at most the wall-clock time since "
        "your previous heartbeat of the lesson x 2 + 5 s (a first heartbeat at most 5 s), so send one when "
        "playback starts. Ends beyond the duration are clipped.",
    )
    watched_seconds = SecondsField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Ignored (validated for compatibility): watched time is measured from `segments`.",
    )


class ProgressSerializer(serializers.Serializer):
    lesson_id = serializers.CharField()
    position = serializers.FloatField(help_text="Last reported position (the resume point).")
    max_position = serializers.FloatField(help_text="Furthest position ever reported; never decreases.")
    watched_seconds = serializers.FloatField(
        help_text="Length of the union of watched intervals (seconds); measured by the server."
    )
    coverage = serializers.FloatField(help_text="watched_seconds / duration (0-1; 0 while unknown).")
    percent = serializers.FloatField(
        help_text="100 once completed, else max_position / duration * 100 (0 if the duration is unknown)."
    )
    completed = serializers.BooleanField(
        help_text="True once coverage reaches COMPLETION_COVERAGE (default 0.9), or after /complete on a "
        "lesson without a video; final."
    )
    completed_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)


class CourseProgressSerializer(serializers.Serializer):
    course_id = serializers.CharField()
    lesson_count = serializers.IntegerField()
    completed_lessons = serializers.IntegerField()
    percent = serializers.FloatField(help_text="Completed lessons / lessons * 100.")
    last_lesson_id = serializers.CharField(
        allow_null=True, help_text="Resume point: the lesson touched last."
    )
    updated_at = serializers.DateTimeField(allow_null=True)
    lessons = ProgressSerializer(many=True)


class CourseProgressRowSerializer(serializers.Serializer):
    course_id = serializers.CharField()
    title = serializers.CharField()
    slug = serializers.CharField()
    lesson_count = serializers.IntegerField()
    completed_lessons = serializers.IntegerField()
    percent = serializers.FloatField(help_text="Completed lessons / lessons * 100.")
    last_lesson_id = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)
    certificate_code = serializers.CharField(
        allow_null=True, help_text="Your certificate of this course (`certificates/{code}`), once issued."
    )
    expires_at = serializers.DateTimeField(allow_null=True, help_text="When access ends; null = never.")
    expired = serializers.BooleanField(help_text="Past `expires_at`: progress is read-only.")


# --- certificates -----------------------------------------------------------------------------------
class CertificateSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="UUID.")
    code = serializers.CharField(help_text="Verification code: `certificates/{code}` and its `/pdf`.")
    course_id = serializers.CharField()
    course_title = serializers.CharField(help_text="As at issue time.")
    learner_name = serializers.CharField(help_text="As at issue time.")
    instructor_name = serializers.CharField(help_text="As at issue time.")
    issued_at = serializers.DateTimeField()


# --- analytics --------------------------------------------------------------------------------------
class LessonAnalyticsSerializer(serializers.Serializer):
    lesson_id = serializers.CharField()
    title = serializers.CharField()
    starts = serializers.IntegerField(help_text="Enrolled learners with any progress on this lesson.")
    completions = serializers.IntegerField(help_text="Enrolled learners who completed this lesson.")
    average_percent = serializers.FloatField(
        help_text="Mean lesson percent among starters (100 if completed, else furthest position / "
        "duration); 0 without starters."
    )
    watch_time_seconds = serializers.FloatField(
        help_text="Sum of the starters' watched seconds (the lengths of their watched unions)."
    )
    dropoff = serializers.ListField(
        child=serializers.FloatField(),
        min_length=10,
        max_length=10,
        help_text="10 shares (0-1): entry i is the share of starters whose furthest position reached at "
        "least i/10 of the duration.",
    )


class CourseAnalyticsSerializer(serializers.Serializer):
    course_id = serializers.CharField()
    enrollments = serializers.IntegerField(help_text="Active enrollments.")
    active_learners_7d = serializers.IntegerField(
        help_text="Actively enrolled learners whose last progress activity is in the last 7 days, to the "
        "hour (from the start of the hour that began 7 days ago)."
    )
    completion_rate = serializers.FloatField(
        help_text="Share (0-1) of actively enrolled learners holding the course's certificate (issued on "
        "completing every lesson); 0 when there are no enrollments or no lessons."
    )
    average_percent = serializers.FloatField(
        help_text="Mean course percent (completed lessons / lessons * 100) over actively enrolled "
        "learners; learners without progress count as 0."
    )
    lessons = LessonAnalyticsSerializer(many=True, help_text="In course order.")
    revenue = serializers.DictField(
        child=serializers.IntegerField(),
        required=False,
        help_text="Paid courses only: `{currency: minor units}` paid for the course, net of refunds.",
    )


class OverviewSerializer(serializers.Serializer):
    users_by_role = serializers.DictField(
        child=serializers.IntegerField(), help_text="Accounts per role (student, instructor, admin)."
    )
    courses_by_status = serializers.DictField(
        child=serializers.IntegerField(), help_text="Courses per status (draft, published, archived)."
    )
    enrollments = serializers.IntegerField(help_text="Active enrollments, all courses.")
    lessons_watched_7d = serializers.IntegerField(
        help_text="(learner, lesson) pairs with progress activity in the last 7 days (previews excluded)."
    )
