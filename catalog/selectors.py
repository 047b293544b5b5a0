"""Catalog reads. Keyword-only, typed; permissions that decide 404-vs-visible are applied here so every
interface (JSON, browsable API, other apps) gets the same answer.

Stable for other apps (the video lifecycle relies on these): `course_get`, `lesson_get`,
`lesson_access_get`, `enrollment_is_active`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from django.core.cache import cache

from accounts.selectors import user_names
from catalog import cache as catalog_cache
from catalog.models import Enrollment, EnrollmentStatus
from catalog.permissions import can_author, can_edit_course, can_view_course, is_admin, user_id_of
from catalog.repositories.courses import CourseQuery, CourseRepository
from catalog.repositories.lessons import LessonRepository
from catalog.repositories.progress import ProgressRepository
from catalog.types import Course, CourseFields, LearnerCourseSummary, Lesson, Progress
from learnstream.errors import NotFound, PermissionDenied

MAX_LESSONS_PER_COURSE = 500


# --- typed read models -----------------------------------------------------------------------------
class Instructor(TypedDict):
    id: int
    name: str


class CourseDetail(CourseFields):
    instructor: Instructor
    lesson_count: int
    total_duration: float


class LessonView(TypedDict):
    id: str
    course_id: str
    title: str
    description: str
    position: int
    duration: float | None
    is_preview: bool
    video_status: str
    created_at: datetime
    updated_at: datetime


class LessonAccess(TypedDict):
    """What the hot paths (heartbeat, playback gate) need about a lesson; cached in Redis."""

    lesson_id: str
    course_id: str
    owner_id: int
    duration: float | None
    is_preview: bool


class ProgressView(TypedDict):
    lesson_id: str
    position: float
    max_position: float
    watched_seconds: float
    percent: float
    completed: bool
    completed_at: datetime | None
    updated_at: datetime | None


class CourseProgress(TypedDict):
    course_id: str
    lesson_count: int
    completed_lessons: int
    percent: float
    last_lesson_id: str | None
    updated_at: datetime | None
    lessons: list[ProgressView]


class CourseProgressRow(TypedDict):
    course_id: str
    title: str
    slug: str
    lesson_count: int
    completed_lessons: int
    percent: float
    last_lesson_id: str | None
    updated_at: datetime | None


class EnrollmentRow(TypedDict):
    id: int
    user_id: int
    course_id: str
    course_title: str | None
    status: str
    created_at: datetime
    lesson_count: int
    completed_lessons: int
    percent: float


class StudentRow(TypedDict):
    user: Instructor
    enrolled_at: datetime
    completed_lessons: int
    lesson_count: int
    percent: float
    last_activity: datetime | None


class Page(TypedDict):
    total: int
    items: list[Any]


@dataclass(frozen=True)
class CourseListParams:
    search: str | None = None
    tag: str | None = None
    level: str | None = None
    instructor: int | None = None
    status: str | None = None
    ordering: str = "-published_at"

    def cache_parts(self) -> tuple[str, ...]:
        return (
            self.search or "",
            self.tag or "",
            self.level or "",
            str(self.instructor or ""),
            self.status or "",
            self.ordering,
        )


# --- metrics shared by every progress read (documented once, used everywhere) ----------------------
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


# --- single objects (authoritative, uncached) ------------------------------------------------------
def course_get(*, course_id: str) -> Course | None:
    """The course as stored, or None (also for malformed ids). Reads MongoDB every time."""
    return CourseRepository().get(course_id=course_id)


def course_get_by_slug(*, slug: str) -> Course | None:
    return CourseRepository().get_by_slug(slug=slug)


def lesson_get(*, lesson_id: str) -> Lesson | None:
    """The lesson as stored, including its `video` sub-document, or None (also for malformed ids)."""
    return LessonRepository().get(lesson_id=lesson_id)


def lesson_position(*, course: Course, lesson_id: str) -> int:
    try:
        return course["lesson_ids"].index(lesson_id) + 1
    except ValueError:
        return 0


def lesson_view(*, lesson: Lesson, position: int) -> LessonView:
    return {
        "id": lesson["id"],
        "course_id": lesson["course_id"],
        "title": lesson["title"],
        "description": lesson["description"],
        "position": position,
        "duration": lesson["duration"],
        "is_preview": lesson["is_preview"],
        "video_status": str(lesson["video"].get("status", "none")),
        "created_at": lesson["created_at"],
        "updated_at": lesson["updated_at"],
    }


# lesson id -> course id, per process. A lesson never moves to another course and ids are never reused,
# so this can never be stale; knowing the course up front lets the heartbeat fetch the lesson facts and
# the caller's enrollment in one Redis round trip. Bounded (cleared when full: it refills as used).
_LESSON_COURSE_MAX = 20_000
_lesson_course: dict[str, str] = {}


def _remember_course_of(access: LessonAccess) -> None:
    if len(_lesson_course) >= _LESSON_COURSE_MAX:
        _lesson_course.clear()
    _lesson_course[access["lesson_id"]] = access["course_id"]


def lesson_access_get(*, lesson_id: str) -> LessonAccess | None:
    """Cached (Redis) lesson facts for hot paths; invalidated by every lesson/course write that changes
    them (`services.lesson_cache_invalidate`). On a miss: two MongoDB reads."""
    cached = cache.get(catalog_cache.lesson_access_key(lesson_id))
    if cached is not None:
        _remember_course_of(cached)
        return cached
    return _lesson_access_load(lesson_id)


def lesson_access_with_enrollment(
    *, lesson_id: str, user_id: int | None
) -> tuple[LessonAccess | None, bool | None]:
    """`lesson_access_get` plus, when the cache knows it, whether `user_id` is actively enrolled in the
    lesson's course (None: not known here, ask `enrollment_is_active`). Once this process has seen the
    lesson, both come from one Redis round trip (MGET) instead of two."""
    course_id = _lesson_course.get(lesson_id)
    if course_id is None or user_id is None:
        return lesson_access_get(lesson_id=lesson_id), None
    access_key = catalog_cache.lesson_access_key(lesson_id)
    enrollment_key = catalog_cache.enrollment_key(user_id, course_id)
    found = cache.get_many([access_key, enrollment_key])
    access: LessonAccess | None = found.get(access_key)
    if access is None:
        access = _lesson_access_load(lesson_id)
    enrolled = found.get(enrollment_key)
    if access is None or enrolled is None or access["course_id"] != course_id:
        return access, None
    return access, bool(enrolled == 1)


def _lesson_access_load(lesson_id: str) -> LessonAccess | None:
    key = catalog_cache.lesson_access_key(lesson_id)
    lesson = lesson_get(lesson_id=lesson_id)
    if lesson is None:
        return None
    course = course_get(course_id=lesson["course_id"])
    if course is None or lesson_id not in course["lesson_ids"]:
        return None
    access: LessonAccess = {
        "lesson_id": lesson_id,
        "course_id": course["id"],
        "owner_id": course["owner_id"],
        "duration": lesson["duration"],
        "is_preview": lesson["is_preview"],
    }
    cache.set(key, access, timeout=catalog_cache.enrollment_seconds())
    _remember_course_of(access)
    return access


# --- enrollments (PostgreSQL, cached) ---------------------------------------------------------------
def enrollment_is_active(*, user_id: int, course_id: str) -> bool:
    """Is the user actively enrolled? Answered from Redis when possible (writers set the key on
    enroll/unenroll); on a miss or with Redis down, one PostgreSQL query (whose errors propagate → 503)."""
    key = catalog_cache.enrollment_key(user_id, course_id)
    cached = cache.get(key)
    if cached is not None:
        return bool(cached == 1)
    active = Enrollment.objects.filter(
        user_id=user_id, course_id=course_id, status=EnrollmentStatus.ACTIVE
    ).exists()
    # add, not set: a concurrent enroll/unenroll that already wrote the key wins over this older read.
    cache.add(key, 1 if active else 0, timeout=catalog_cache.enrollment_seconds())
    return active


def _user_names(user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return user_names(user_ids=sorted(user_ids))


def _details(courses: list[Course]) -> list[CourseDetail]:
    """Course → detail with lesson_count, total_duration and instructor: one MongoDB aggregation and
    one PostgreSQL query for the whole batch."""
    if not courses:
        return []
    stats = LessonRepository().stats_for_courses(
        course_ids=[c["id"] for c in courses], lesson_ids=[lid for c in courses for lid in c["lesson_ids"]]
    )
    names = _user_names({c["owner_id"] for c in courses})
    details: list[CourseDetail] = []
    for c in courses:
        stat = stats.get(c["id"])
        total = stat["total_duration"] if stat else 0.0
        details.append(
            {
                "id": c["id"],
                "title": c["title"],
                "slug": c["slug"],
                "description": c["description"],
                "tags": c["tags"],
                "level": c["level"],
                "status": c["status"],
                "owner_id": c["owner_id"],
                "instructor": {"id": c["owner_id"], "name": names.get(c["owner_id"], "")},
                "lesson_count": len(c["lesson_ids"]),
                "total_duration": float(total),
                "created_at": c["created_at"],
                "updated_at": c["updated_at"],
                "published_at": c["published_at"],
            }
        )
    return details


def course_detail_of(*, course: Course) -> CourseDetail:
    return _details([course])[0]


# --- catalog reads (cached for the public) ----------------------------------------------------------
def _course_query(*, user: Any, params: CourseListParams) -> tuple[CourseQuery, bool]:
    """The visibility rule as a typed query, and whether the result is the same for every viewer (the
    public listing, which may be cached)."""
    uid = user_id_of(user)
    narrow: dict[str, Any] = {"owner_id": params.instructor, "tag": params.tag, "level": params.level}
    narrow["search"] = params.search
    if is_admin(user):
        statuses = (params.status,) if params.status else ("draft", "published")
        return CourseQuery(statuses=statuses, **narrow), False
    if can_author(user) and uid is not None:
        if params.status in (None, "draft", "archived"):
            own = (params.status,) if params.status else ("draft",)
            public = ("published",) if params.status is None else ()
            return CourseQuery(statuses=public, or_owner_id=uid, or_owner_statuses=own, **narrow), False
        return CourseQuery(statuses=("published",), **narrow), False
    if params.status not in (None, "published"):
        return CourseQuery(statuses=(), **narrow), True
    return CourseQuery(statuses=("published",), **narrow), True


def course_list(
    *,
    user: Any,
    params: CourseListParams,
    offset: int,
    limit: int,
    render: Callable[[list[CourseDetail]], list[Any]] | None = None,
) -> tuple[Page, bool]:
    """A page of visible courses; `(page, stale)`. The items are details, or `render(details)` (e.g.
    the API's wire form). Public pages come from the cache, which keeps them in their final, rendered
    form (one entry per renderer), so a cache hit does no serialisation at all."""
    query, public = _course_query(user=user, params=params)

    def compute() -> tuple[Page, bool]:
        repo = CourseRepository()
        total = repo.count(query=query)
        courses = (
            repo.find(query=query, ordering=params.ordering, offset=offset, limit=limit) if total else []
        )
        details = _details(courses)
        return {"total": total, "items": render(details) if render else details}, public

    if not public:
        return compute()[0], False
    form = f"{render.__module__}.{render.__qualname__}" if render else "details"
    key = catalog_cache.catalog_key("list", form, *params.cache_parts(), str(offset), str(limit))
    result = catalog_cache.cached_read(key, compute)
    return result.value, result.stale


def course_detail_get(*, user: Any, course_id: str) -> tuple[CourseDetail, bool]:
    """The course detail if `user` may see it (else NotFound); `(detail, stale)`. Published details are
    cached and shared by every viewer."""

    def compute() -> tuple[CourseDetail | None, bool]:
        course = course_get(course_id=course_id)
        if course is None:
            return None, False
        return course_detail_of(course=course), course["status"] == "published"

    result = catalog_cache.cached_read(catalog_cache.catalog_key("detail", course_id), compute)
    detail: CourseDetail | None = result.value
    if detail is None or not can_view_course(user=user, course=detail):
        raise NotFound()
    return detail, result.stale


class CourseLessons(TypedDict):
    owner_id: int
    status: str
    total: int
    items: list[LessonView]


def _ordered_lessons(course: Course) -> list[LessonView]:
    lessons = LessonRepository().list_for_course(course_id=course["id"], limit=MAX_LESSONS_PER_COURSE * 2)
    by_id = {lesson["id"]: lesson for lesson in lessons}
    # The course's `lesson_ids` is the order; a lesson document not (yet/any more) in it is invisible.
    return [
        lesson_view(lesson=by_id[lid], position=i + 1)
        for i, lid in enumerate(course["lesson_ids"])
        if lid in by_id
    ]


def course_lessons_list(*, user: Any, course_id: str, offset: int, limit: int) -> tuple[CourseLessons, bool]:
    """A page of the course's lessons ordered by position; visibility as the course."""

    def compute() -> tuple[CourseLessons | None, bool]:
        course = course_get(course_id=course_id)
        if course is None:
            return None, False
        ordered = _ordered_lessons(course)
        page: CourseLessons = {
            "owner_id": course["owner_id"],
            "status": course["status"],
            "total": len(ordered),
            "items": ordered[offset : offset + limit],
        }
        return page, course["status"] == "published"

    key = catalog_cache.catalog_key("lessons", course_id, str(offset), str(limit))
    result = catalog_cache.cached_read(key, compute)
    page: CourseLessons | None = result.value
    if page is None or not can_view_course(user=user, course=page):
        raise NotFound()
    return page, result.stale


def lesson_detail_get(*, user: Any, lesson_id: str) -> tuple[Lesson, Course]:
    """The lesson and its course if `user` may see the course (else NotFound). Uncached."""
    lesson = lesson_get(lesson_id=lesson_id)
    if lesson is None:
        raise NotFound()
    course = course_get(course_id=lesson["course_id"])
    if (
        course is None
        or lesson_id not in course["lesson_ids"]
        or not can_view_course(user=user, course=course)
    ):
        raise NotFound()
    return lesson, course


# --- progress ---------------------------------------------------------------------------------------
def progress_view(*, progress: Progress | None, lesson_id: str, duration: float | None) -> ProgressView:
    if progress is None:
        return {
            "lesson_id": lesson_id,
            "position": 0.0,
            "max_position": 0.0,
            "watched_seconds": 0.0,
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
        "percent": lesson_percent(
            max_position=progress["max_position"], completed=progress["completed"], duration=duration
        ),
        "completed": progress["completed"],
        "completed_at": progress["completed_at"],
        "updated_at": progress["updated_at"],
    }


def course_progress_get(*, user_id: int, course: Course) -> CourseProgress:
    """Per-lesson progress (every current lesson, in order) plus the course summary and resume point."""
    lessons = _ordered_lessons(course)
    docs = {
        p["lesson_id"]: p
        for p in ProgressRepository().for_user_in_course(
            user_id=user_id, course_id=course["id"], limit=MAX_LESSONS_PER_COURSE * 2
        )
    }
    rows = [
        progress_view(progress=docs.get(lesson["id"]), lesson_id=lesson["id"], duration=lesson["duration"])
        for lesson in lessons
    ]
    completed = sum(1 for r in rows if r["completed"])
    touched = [r for r in rows if r["updated_at"] is not None]
    last = max(touched, key=lambda r: r["updated_at"]) if touched else None  # type: ignore[arg-type,return-value]
    return {
        "course_id": course["id"],
        "lesson_count": len(lessons),
        "completed_lessons": completed,
        "percent": course_percent(completed_lessons=completed, lesson_count=len(lessons)),
        "last_lesson_id": last["lesson_id"] if last else None,
        "updated_at": last["updated_at"] if last else None,
        "lessons": rows,
    }


def course_progress_for(*, user: Any, course_id: str) -> CourseProgress:
    """The caller's progress in a course: enrolled learners (whatever the course's status now), the
    owner and admins. Others: 403 if they can see the course, else 404."""
    course = course_get(course_id=course_id)
    if course is None:
        raise NotFound()
    uid = user_id_of(user) or 0
    if not (
        enrollment_is_active(user_id=uid, course_id=course_id) or can_edit_course(user=user, course=course)
    ):
        if not can_view_course(user=user, course=course):
            raise NotFound()
        raise PermissionDenied("Enroll in this course to see your progress.")
    return course_progress_get(user_id=uid, course=course)


def _summary(summary: LearnerCourseSummary | None, lesson_count: int) -> tuple[int, float, str | None, Any]:
    if summary is None:
        return 0, 0.0, None, None
    done = min(summary["completed_lessons"], lesson_count)
    return (
        done,
        course_percent(completed_lessons=done, lesson_count=lesson_count),
        summary["last_lesson_id"],
        summary["updated_at"],
    )


def my_progress_list(*, user_id: int, offset: int, limit: int) -> Page:
    """One row per active enrollment: 2 PostgreSQL queries (count, page) + 2 MongoDB commands."""
    enrollments = Enrollment.objects.filter(user_id=user_id, status=EnrollmentStatus.ACTIVE)
    total = enrollments.count()
    page = list(
        enrollments.order_by("-created_at", "-id").values_list("course_id", flat=True)[
            offset : offset + limit
        ]
    )
    if not page:
        return {"total": total, "items": []}
    courses = CourseRepository().get_many(course_ids=page)
    summaries = ProgressRepository().summaries_for_user(user_id=user_id, course_ids=page)
    items: list[CourseProgressRow] = []
    for course_id in page:
        course = courses.get(course_id)
        count = len(course["lesson_ids"]) if course else 0
        done, percent, last, updated = _summary(summaries.get(course_id), count)
        items.append(
            {
                "course_id": course_id,
                "title": course["title"] if course else "",
                "slug": course["slug"] if course else "",
                "lesson_count": count,
                "completed_lessons": done,
                "percent": percent,
                "last_lesson_id": last,
                "updated_at": updated,
            }
        )
    return {"total": total, "items": items}


def enrollment_list(
    *, user: Any, user_filter: int | None, course_filter: str | None, offset: int, limit: int
) -> Page:
    """Non-admins: their own active enrollments. Admins: every enrollment (any status), optionally
    filtered. Each row carries the course title and the learner's percent, batched: 2 PostgreSQL
    queries + 2 MongoDB commands per page whatever its size."""
    qs = Enrollment.objects.all()
    if is_admin(user):
        if user_filter is not None:
            qs = qs.filter(user_id=user_filter)
    else:
        qs = qs.filter(user_id=user_id_of(user) or 0, status=EnrollmentStatus.ACTIVE)
    if course_filter is not None:
        qs = qs.filter(course_id=course_filter)
    total = qs.count()
    rows = list(qs.order_by("-created_at", "-id")[offset : offset + limit])
    if not rows:
        return {"total": total, "items": []}
    courses = CourseRepository().get_many(course_ids=list({r.course_id for r in rows}))
    summaries = ProgressRepository().summaries_for_pairs(pairs=[(r.user_id, r.course_id) for r in rows])
    items: list[EnrollmentRow] = []
    for r in rows:
        course = courses.get(r.course_id)
        count = len(course["lesson_ids"]) if course else 0
        done, percent, _last, _updated = _summary(summaries.get((r.user_id, r.course_id)), count)
        items.append(
            {
                "id": r.id,
                "user_id": r.user_id,
                "course_id": r.course_id,
                "course_title": course["title"] if course else None,
                "status": r.status,
                "created_at": r.created_at,
                "lesson_count": count,
                "completed_lessons": done,
                "percent": percent,
            }
        )
    return {"total": total, "items": items}


def course_students_list(*, course: Course, offset: int, limit: int) -> Page:
    """Active students of a course with their progress: 2 PostgreSQL queries + 1 MongoDB command."""
    qs = Enrollment.objects.filter(course_id=course["id"], status=EnrollmentStatus.ACTIVE)
    total = qs.count()
    rows = list(qs.select_related("user").order_by("created_at", "id")[offset : offset + limit])
    summaries = ProgressRepository().summaries_for_course(
        course_id=course["id"], user_ids=[r.user_id for r in rows]
    )
    count = len(course["lesson_ids"])
    items: list[StudentRow] = []
    for r in rows:
        done, percent, _last, updated = _summary(summaries.get(r.user_id), count)
        items.append(
            {
                "user": {"id": r.user_id, "name": r.user.name},
                "enrolled_at": r.created_at,
                "completed_lessons": done,
                "lesson_count": count,
                "percent": percent,
                "last_activity": updated,
            }
        )
    return {"total": total, "items": items}


def can_record_progress(
    *, user: Any, access: LessonAccess, enrolled: bool | None = None
) -> tuple[bool, bool]:
    """(allowed, preview): enrolled learners record real progress; the course owner and admins may
    record preview progress (kept out of analytics) without enrolling. `enrolled`, when the caller
    already knows it (`lesson_access_with_enrollment`), saves the lookup."""
    uid = user_id_of(user)
    if uid is None:
        return False, False
    if enrolled is None:
        enrolled = enrollment_is_active(user_id=uid, course_id=access["course_id"])
    if can_edit_course(user=user, course={"owner_id": access["owner_id"], "status": ""}):
        return True, not enrolled
    return enrolled, False
