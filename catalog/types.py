"""Typed shapes that cross the catalog's layers (repositories → selectors/services → views).

Ids are plain strings here (24-hex ObjectIds for courses and lessons, ints for users); the conversion
to and from BSON ObjectIds happens only inside `catalog/repositories/`.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, NotRequired, TypedDict, TypeVar

from catalog.layout import Section

T = TypeVar("T")


COURSE_STATUSES: tuple[str, ...] = ("draft", "published", "archived")
COURSE_LEVELS: tuple[str, ...] = ("beginner", "intermediate", "advanced")
# A learner's standing in a course: actively enrolled, enrolled but past `expires_at`, or neither.
EnrollmentState = Literal["active", "expired", "none"]
# Who may self-enroll: everyone ("open") or only people staff enrolled or invited ("invite_only").
ENROLLMENT_MODES: tuple[str, ...] = ("open", "invite_only")
# The course's enrollment policy (catalog/policy.py): stored on the course document, edited like its
# other fields; absent on older documents, read as the defaults (open, no cap, no window, no expiry).
ENROLLMENT_POLICY_FIELDS: tuple[str, ...] = (
    "enrollment",
    "capacity",
    "enrollment_opens_at",
    "enrollment_closes_at",
    "access_days",
)
# "deleted": Mux deleted the asset outside our API (video.asset.deleted we did not ask for).
VIDEO_STATUSES: tuple[str, ...] = (
    "none",
    "waiting_upload",
    "processing",
    "ready",
    "errored",
    "cancelled",
    "deleted",
)


class Price(TypedDict):
    """A course's price: minor units (cents) of an ISO 4217 currency, lower-case as Stripe writes it."""

    amount: int
    currency: str


class CourseFields(TypedDict):
    """What a course and its read models (`selectors.CourseDetail`) share."""

    id: str
    title: str
    slug: str
    description: str
    tags: list[str]
    level: str
    status: str
    owner_id: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    price: Price | None  # None = free
    downloadable: bool  # learners get a signed MP4 `download_url` once Mux has the static rendition
    # Enrollment policy (ENROLLMENT_POLICY_FIELDS).
    enrollment: str
    capacity: int | None
    enrollment_opens_at: datetime | None
    enrollment_closes_at: datetime | None
    access_days: int | None


class Course(CourseFields):
    # The course's lessons (membership truth). With `sections` it makes the curriculum order; positions
    # come from `catalog.layout.curriculum_order` (without sections: index + 1 here).
    lesson_ids: list[str]
    sections: list[Section]  # ordered; each with its lessons in order (catalog/layout.py)
    layout_rev: int  # bumped by every change of `lesson_ids`/`sections` (their compare-and-set)
    sequential: bool  # release rule: a lesson opens once the previous one (curriculum order) is completed
    prerequisites: list[str]  # course ids a learner must have completed before enrolling


class Lesson(TypedDict):
    id: str
    course_id: str
    title: str
    description: str
    duration: float | None
    is_preview: bool
    available_after_days: int | None  # drip: opens that many days after the learner enrolled
    # Owned by the video lifecycle (`catalog/video/`, shape: `VideoState` below): {"status": ..., Mux ids}.
    # Never serialised by the catalog; only `video["status"]` is exposed, as `video_status`.
    video: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class Progress(TypedDict):
    user_id: int
    lesson_id: str
    course_id: str
    position: float
    max_position: float
    watched_seconds: float
    coverage: float
    completed: bool
    completed_at: datetime | None
    updated_at: datetime


class LessonStats(TypedDict):
    lesson_count: int
    total_duration: float


class LessonAccess(TypedDict):
    """What the hot paths (heartbeat, playback gate) need about a lesson; cached in Redis."""

    lesson_id: str
    course_id: str
    owner_id: int
    duration: float | None
    is_preview: bool
    # A playable video exists: completion then needs watched coverage (`catalog/coverage.py`).
    has_video: bool
    # Release rules (catalog/release.py). NotRequired: entries cached before they existed lack them.
    available_after_days: NotRequired[int | None]
    sequential: NotRequired[bool]
    previous_lesson_id: NotRequired[str | None]


class LearnerCourseSummary(TypedDict):
    """One learner's progress in one course, reduced inside MongoDB."""

    completed_lessons: int
    last_lesson_id: str | None
    updated_at: datetime | None


# The `video` sub-document (a plain dict: it is written whole by compare-and-set):
#   status: none | waiting_upload | processing | ready | errored | cancelled | deleted
#   rev: int                      bumped by every write (compare-and-set)
#   upload_id, asset_id           the current upload pipeline (the newest upload requested)
#   event_at: float | None        Mux `created_at` of the newest event applied to that pipeline
#   errors: {type, messages[]}    Mux's error, kept for the instructor
#   playback_id, playback_asset_id, aspect_ratio, duration
#                                 the playable asset (kept while a replacement is processing)
#   retired_asset_ids: [str]      superseded assets still to delete at Mux
VideoState = dict[str, Any]


@dataclass(frozen=True)
class LessonVideo:
    lesson_id: str
    course_id: str
    title: str
    video: VideoState


@dataclass(frozen=True)
class LessonContext:
    """What access checks need, read in one round trip (lesson + its course's status and owner)."""

    lesson_id: str
    course_id: str
    title: str
    is_preview: bool
    video: VideoState
    course_status: str | None  # None when the course is missing or no longer lists the lesson
    course_owner_id: int | None
    # Release rules (catalog/release.py), read in the same round trip.
    available_after_days: int | None = None
    course_sequential: bool = False
    previous_lesson_id: str | None = None
    course_downloadable: bool = False


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list read: the items asked for and how many there are in all."""

    total: int
    items: list[T]
