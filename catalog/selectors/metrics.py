"""How progress is measured: defined once, used by every read that shows a percent."""

from datetime import datetime
from typing import Any, TypedDict

from catalog.types import LearnerCourseSummary, Progress


class ProgressView(TypedDict):
    lesson_id: str
    position: float
    max_position: float
    watched_seconds: float
    coverage: float
    percent: float
    completed: bool
    completed_at: datetime | None
    updated_at: datetime | None


def lesson_percent(*, max_position: float, completed: bool, duration: float | None) -> float:
    """A lesson's percent: 100 once completed; else furthest position / duration (capped at 100); 0 when
    the duration is unknown."""
    if completed:
        return 100.0
    if not duration or duration <= 0:
        return 0.0
    return round(min(100.0, max_position / duration * 100.0), 1)


def course_percent(*, completed_lessons: int, lesson_count: int) -> float:
    """A course's percent: completed lessons / lessons in the course * 100 (0 for an empty course)."""
    if lesson_count <= 0:
        return 0.0
    return round(min(100.0, completed_lessons / lesson_count * 100.0), 1)


def progress_view(*, progress: Progress | None, lesson_id: str, duration: float | None) -> ProgressView:
    if progress is None:
        return {
            "lesson_id": lesson_id,
            "position": 0.0,
            "max_position": 0.0,
            "watched_seconds": 0.0,
            "coverage": 0.0,
            "percent": 0.0,
            "completed": False,
            "completed_at": None,
            "updated_at": None,
        }
    return {
        "lesson_id": lesson_id,
        "position": progress["position"],
        "max_position": progress["max_position"],
        "watched_seconds": progress["watched_seconds"],
        "coverage": round(progress["coverage"], 4),
        "percent": lesson_percent(
            max_position=progress["max_position"], completed=progress["completed"], duration=duration
        ),
        "completed": progress["completed"],
        "completed_at": progress["completed_at"],
        "updated_at": progress["updated_at"],
    }


def summary_figures(
    summary: LearnerCourseSummary | None, lesson_count: int
) -> tuple[int, float, str | None, Any]:
    """(completed lessons, percent, last lesson id, last update) of one learner in one course."""
    if summary is None:
        return 0, 0.0, None, None
    done = min(summary["completed_lessons"], lesson_count)
    return (
        done,
        course_percent(completed_lessons=done, lesson_count=lesson_count),
        summary["last_lesson_id"],
        summary["updated_at"],
    )
