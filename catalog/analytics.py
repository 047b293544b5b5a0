"""Course and platform analytics. A course's figures come from its lesson rollups (one document per
lesson, maintained by the progress writes' transitions: `catalog/repositories/rollups.py`), PostgreSQL
counts and the course's hour buckets of learners' last activity (`catalog/repositories/activity.py`),
so their cost does not grow with the number of learners. Metric definitions: `COURSE_METRICS` (also
the OpenAPI description of the endpoint) and `analytics_overview`.

They are still cached per course for `CATALOG_ANALYTICS_CACHE_SECONDS` (default 60; 0 disables; see
`catalog/cache.py`): analytics need no read-your-writes.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import NotRequired, TypedDict

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils import timezone

from accounts.models import Role
from catalog import cache as catalog_cache
from catalog.models import Certificate, Enrollment, EnrollmentStatus
from catalog.repositories.activity import ActivityRepository
from catalog.repositories.courses import CourseRepository
from catalog.repositories.lessons import LessonRepository
from catalog.repositories.progress import ProgressRepository, hour_of
from catalog.repositories.rollups import RollupRepository, empty_rollup
from catalog.types import COURSE_STATUSES, Course

ACTIVE_WINDOW = timedelta(days=7)

COURSE_METRICS = """\
- `enrollments`: active enrollments of the course.
- `active_learners_7d`: actively enrolled learners whose last progress heartbeat or completion is in the last
  7 days, to the hour: activity counts from the start of the hour that began 7 days ago (so up to 7 days and
  59 minutes back).
- `completion_rate`: share (0-1) of actively enrolled learners who hold the course's certificate (issued when
  they completed every lesson); 0 when the course has no enrollments or no lessons.
- `average_percent`: mean course percent (completed lessons / lessons * 100) over actively enrolled learners,
  learners without progress counting as 0.
- `revenue` (paid courses only): `{currency: minor units}` taken by the course's orders, net of refunds
  and disputes.
- per lesson, in course order: `starts` = enrolled learners with any progress on it, `completions` = those who
  completed it, `average_percent` = mean lesson percent among starters (100 when completed, else furthest
  position / duration; 0 when the duration is unknown), 0 without starters; `watch_time_seconds` = the sum
  of the starters' watched seconds (lengths of their watched unions); `dropoff` = 10 shares (0-1): entry i
  is the share of starters whose furthest position reached at least i/10 of the duration.

Per-lesson figures are rolled up when a learner's progress makes a transition (start, completion, a new
tenth of furthest position or of coverage): a learner's percent and watch time since their last
transition appear at their next one (`manage.py rebuild_rollups` recomputes them exactly).

The owner's and admins' preview progress is excluded everywhere."""


class LessonAnalytics(TypedDict):
    lesson_id: str
    title: str
    starts: int
    completions: int
    average_percent: float
    watch_time_seconds: float
    dropoff: list[float]


class CourseAnalytics(TypedDict):
    course_id: str
    enrollments: int
    active_learners_7d: int
    completion_rate: float
    average_percent: float
    lessons: list[LessonAnalytics]
    revenue: NotRequired[dict[str, int]]  # paid courses only: currency -> minor units, net of refunds


class Overview(TypedDict):
    users_by_role: dict[str, int]
    courses_by_status: dict[str, int]
    enrollments: int
    lessons_watched_7d: int


# Revenue lives with the orders (commerce), which sit above catalog: catalog never imports commerce; the
# commerce app registers its figure here from its AppConfig.ready() (like learnstream/dashboard.py).
RevenueProvider = Callable[[str], dict[str, int]]
_revenue_provider: list[RevenueProvider] = []


def register_revenue_provider(provider: RevenueProvider) -> None:
    """Make `provider(course_id)` the `revenue` of paid courses' analytics (the last registration wins)."""
    _revenue_provider[:] = [provider]


def course_metrics_description() -> str:
    """The OpenAPI description of the course analytics endpoint: the metrics and how old they may be."""
    seconds = catalog_cache.analytics_seconds()
    if seconds <= 0:
        return COURSE_METRICS
    return (
        f"{COURSE_METRICS}\n\nFigures are cached per course and may be up to {seconds} seconds old "
        "(they do not reflect progress, enrollments or lesson changes made since)."
    )


def course_analytics_get(*, course: Course) -> CourseAnalytics:
    """The course's analytics, at most `CATALOG_ANALYTICS_CACHE_SECONDS` old (`catalog.cache`). The caller
    has already checked that the viewer may see them."""
    return catalog_cache.analytics_read(
        course_id=course["id"], compute=lambda: course_analytics_compute(course=course)
    )


def course_analytics_compute(*, course: Course) -> CourseAnalytics:
    """The course's analytics from the stores, now: 2 PostgreSQL counts and 3 MongoDB commands (the
    course's lessons, their rollups, the sum of its last-active-hour buckets of the window: at most 169
    documents), whatever the number of learners."""
    enrolled = Enrollment.objects.filter(course_id=course["id"], status=EnrollmentStatus.ACTIVE)
    n_enrolled = enrolled.count()
    certified = Certificate.objects.filter(
        course_id=course["id"], user_id__in=enrolled.values("user_id")
    ).count()
    lesson_ids = course["lesson_ids"]
    lessons = LessonRepository().get_many(lesson_ids=lesson_ids)
    ordered = [lessons[lid] for lid in lesson_ids if lid in lessons]
    rollups = RollupRepository().for_lessons(lesson_ids=[lesson["id"] for lesson in ordered])
    active = ActivityRepository().count_since(
        course_id=course["id"], hour=hour_of(timezone.now() - ACTIVE_WINDOW)
    )
    n_lessons = len(ordered)
    rows: list[LessonAnalytics] = []
    completed_sum = 0
    for lesson in ordered:
        rollup = rollups.get(lesson["id"]) or empty_rollup()
        starts = rollup["starts"]
        completed_sum += rollup["completions"]
        rows.append(
            {
                "lesson_id": lesson["id"],
                "title": lesson["title"],
                "starts": starts,
                "completions": rollup["completions"],
                "average_percent": round(rollup["percent_sum"] / starts, 1) if starts else 0.0,
                "watch_time_seconds": round(rollup["watch_time"], 3),
                "dropoff": [round(n / starts, 4) if starts else 0.0 for n in rollup["reached"]],
            }
        )
    has_data = n_enrolled > 0 and n_lessons > 0
    result: CourseAnalytics = {
        "course_id": course["id"],
        "enrollments": n_enrolled,
        "active_learners_7d": active,
        "completion_rate": round(min(certified, n_enrolled) / n_enrolled, 3) if has_data else 0.0,
        "average_percent": round(min(100.0, 100.0 * completed_sum / (n_lessons * n_enrolled)), 1)
        if has_data
        else 0.0,
        "lessons": rows,
    }
    if course["price"] is not None and _revenue_provider:
        result["revenue"] = _revenue_provider[0](course["id"])
    return result


def analytics_overview() -> Overview:
    """Platform totals: users by role (all accounts), courses by status, active enrollments, and
    (learner, lesson) pairs watched in the last 7 days (non-preview)."""
    by_role = {str(role): 0 for role in Role.values}
    for row in get_user_model().objects.values("role").annotate(n=Count("id")).order_by():
        by_role[str(row["role"])] = int(row["n"])
    by_status = dict.fromkeys(COURSE_STATUSES, 0)
    by_status.update(CourseRepository().count_by_status())
    return {
        "users_by_role": by_role,
        "courses_by_status": by_status,
        "enrollments": Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE).count(),
        "lessons_watched_7d": ProgressRepository().count_lessons_watched_since(
            since=timezone.now() - ACTIVE_WINDOW
        ),
    }
