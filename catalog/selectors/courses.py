"""Course reads: single courses, their detail read model, and the visible course list."""

from dataclasses import dataclass
from typing import Any, TypedDict

from accounts.selectors import user_names
from catalog import cache as catalog_cache
from catalog.repositories.courses import CourseQuery, CourseRepository
from catalog.repositories.lessons import LessonRepository
from catalog.types import Course, CourseFields, Page
from learnstream.permissions import Actor


class Instructor(TypedDict):
    id: int
    name: str


class CourseDetail(CourseFields):
    instructor: Instructor
    lesson_count: int
    total_duration: float
    sequential: bool
    prerequisites: list[str]


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


@dataclass(frozen=True)
class CourseListQuery:
    """What the caller may list, as a store query; `public` when every viewer gets the same answer (the
    anonymous listing, which may be cached)."""

    query: CourseQuery
    ordering: str
    public: bool


def course_get(*, course_id: str) -> Course | None:
    """The course as stored, or None (also for malformed ids). Reads MongoDB every time."""
    return CourseRepository().get(course_id=course_id)


def course_for_learner(*, course_id: str, user_id: int) -> catalog_cache.LearnerCourse:
    """The stored course (None when missing) and, when cached, the user's enrollment answer in it (None:
    ask `enrollment_state`) and their active enrollment row. Warm, one Redis round trip: the course is
    kept under the catalog generation (`catalog.cache.course_cached`), so any catalog write makes the
    next call read MongoDB again."""
    cached = catalog_cache.course_cached(course_id=course_id, user_id=user_id)
    if cached.course is None:
        course = course_get(course_id=course_id)
        if course is not None:
            catalog_cache.course_remember(course, generation=cached.generation)
        return cached._replace(course=course)
    return cached


def course_get_by_section(*, section_id: str) -> Course | None:
    """The course that has this section, or None (also for malformed ids)."""
    return CourseRepository().get_by_section(section_id=section_id)


def course_get_by_slug(*, slug: str) -> Course | None:
    return CourseRepository().get_by_slug(slug=slug)


def course_details(courses: list[Course]) -> list[CourseDetail]:
    """Course → detail with lesson_count, total_duration and instructor: one MongoDB aggregation and
    one PostgreSQL query for the whole batch."""
    if not courses:
        return []
    stats = LessonRepository().stats_for_courses(
        course_ids=[c["id"] for c in courses], lesson_ids=[lid for c in courses for lid in c["lesson_ids"]]
    )
    owner_ids = sorted({c["owner_id"] for c in courses})
    names = user_names(user_ids=owner_ids) if owner_ids else {}
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
                "sequential": c["sequential"],
                "prerequisites": c["prerequisites"],
                "price": c["price"],
                "downloadable": c["downloadable"],
                "enrollment": c["enrollment"],
                "capacity": c["capacity"],
                "enrollment_opens_at": c["enrollment_opens_at"],
                "enrollment_closes_at": c["enrollment_closes_at"],
                "access_days": c["access_days"],
            }
        )
    return details


def course_detail_of(*, course: Course) -> CourseDetail:
    return course_details([course])[0]


def course_detail_compute(*, course_id: str) -> tuple[CourseDetail | None, bool]:
    """For the page cache: the detail (None when missing) and whether every viewer may share it."""
    course = course_get(course_id=course_id)
    if course is None:
        return None, False
    return course_detail_of(course=course), course["status"] == "published"


def course_list_query(*, actor: Actor, params: CourseListParams) -> CourseListQuery:
    """The visibility rule of the course list as a typed query."""
    narrow: dict[str, Any] = {
        "owner_id": params.instructor,
        "tag": params.tag,
        "level": params.level,
        "search": params.search,
    }

    def make(public: bool = False, **visibility: Any) -> CourseListQuery:
        return CourseListQuery(CourseQuery(**visibility, **narrow), ordering=params.ordering, public=public)

    if actor.is_admin:
        return make(statuses=(params.status,) if params.status else ("draft", "published"))
    if actor.can_author and actor.id is not None:
        if params.status in (None, "draft", "archived"):
            own = (params.status,) if params.status else ("draft",)
            public = ("published",) if params.status is None else ()
            return make(statuses=public, or_owner_id=actor.id, or_owner_statuses=own)
        return make(statuses=("published",))
    if params.status not in (None, "published"):
        return make(public=True, statuses=())
    return make(public=True, statuses=("published",))


def course_page(*, query: CourseListQuery, offset: int, limit: int) -> Page[CourseDetail]:
    """One page of the course list: a count and a page read, plus the batched detail reads."""
    repo = CourseRepository()
    total = repo.count(query=query.query)
    courses = (
        repo.find(query=query.query, ordering=query.ordering, offset=offset, limit=limit) if total else []
    )
    return Page(total=total, items=course_details(courses))
