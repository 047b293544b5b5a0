"""Typed shapes that cross the catalog's layers (repositories → selectors/services → views).

Ids are plain strings here (24-hex ObjectIds for courses and lessons, ints for users); the conversion
to and from BSON ObjectIds happens only inside `catalog/repositories/`.
"""

from datetime import datetime
from typing import Any, Literal, TypedDict

CourseStatus = Literal["draft", "published", "archived"]
CourseLevel = Literal["beginner", "intermediate", "advanced"]
VideoStatus = Literal["none", "waiting_upload", "processing", "ready", "errored", "cancelled"]

COURSE_STATUSES: tuple[str, ...] = ("draft", "published", "archived")
COURSE_LEVELS: tuple[str, ...] = ("beginner", "intermediate", "advanced")
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


class Course(CourseFields):
    # The lesson order: the single source of truth for lesson positions (position = index + 1).
    lesson_ids: list[str]


class Lesson(TypedDict):
    id: str
    course_id: str
    title: str
    description: str
    duration: float | None
    is_preview: bool
    # Owned by the video lifecycle (`catalog/repositories/lesson_videos.py`): {"status": ..., Mux ids}.
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
    completed: bool
    completed_at: datetime | None
    updated_at: datetime


class LessonStats(TypedDict):
    lesson_count: int
    total_duration: float


class LearnerCourseSummary(TypedDict):
    """One learner's progress in one course, reduced inside MongoDB."""

    completed_lessons: int
    last_lesson_id: str | None
    updated_at: datetime | None
