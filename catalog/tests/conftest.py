"""Catalog test fixtures. `make_course` builds through the repositories (the same documents the services
write, without the per-write cache invalidations and slug searches); the services themselves are
exercised by the API tests."""

from collections.abc import Callable
from typing import Any

import pytest
from django.utils.text import slugify

from catalog import selectors, services
from catalog.cache import catalog_invalidate
from catalog.repositories.base import new_id
from catalog.repositories.courses import CourseRepository
from catalog.repositories.lessons import LessonRepository
from catalog.services.common import now as now_ms
from catalog.types import Course, Lesson
from learnstream.permissions import Actor
from tests.support.roundtrips import (
    MongoCommandRecorder,
    RedisCommandRecorder,
    command_recorder,
    redis_recorder,
)


@pytest.fixture
def make_course(db: None) -> Callable[..., Course]:
    counter = iter(range(1, 100_000))

    def make(
        owner: Any,
        *,
        title: str | None = None,
        lessons: int = 0,
        durations: list[float | None] | None = None,
        publish: bool = False,
        tags: list[str] | None = None,
        level: str = "beginner",
        description: str = "",
    ) -> Course:
        n = next(counter)
        title = title or f"Course {n}"
        now = now_ms()
        courses, lessons_repo = CourseRepository(), LessonRepository()
        course_id = new_id()
        slug = slugify(title) if title != f"Course {n}" else f"course-{n}-{course_id[-6:]}"
        courses.insert(
            course_id=course_id, title=title, slug=slug, description=description, tags=tags or [],
            level=level, owner_id=owner.id, now=now,
        )  # fmt: skip
        lesson_durations = durations if durations is not None else [100.0] * lessons
        lesson_ids = [
            lessons_repo.insert(
                lesson_id=new_id(), course_id=course_id, title=f"Lesson {i + 1}", description="",
                is_preview=False, duration=duration, now=now,
            )["id"]
            for i, duration in enumerate(lesson_durations)
        ]  # fmt: skip
        if lesson_ids:
            courses.replace_lesson_order(
                course_id=course_id, expected=[], new_order=lesson_ids, now=now, unless_status="archived"
            )
        if publish:
            assert lesson_ids, "a published course needs lessons"
            courses.transition(
                course_id=course_id, from_statuses=("draft",), to_status="published", now=now,
                require_lessons=True, set_published_at=True,
            )  # fmt: skip
        catalog_invalidate()
        course = selectors.course_get(course_id=course_id)
        assert course is not None
        return course

    return make


@pytest.fixture
def lessons_of() -> Callable[[Course], list[Lesson]]:
    def get(course: Course) -> list[Lesson]:
        current = selectors.course_get(course_id=course["id"])
        assert current is not None
        return [selectors.lesson_get(lesson_id=lid) for lid in current["lesson_ids"]]  # type: ignore[misc]

    return get


@pytest.fixture
def enroll(db: None) -> Callable[[Any, Course], None]:
    def do(user: Any, course: Course) -> None:
        services.enrollment_create(actor=Actor.of(user), course_id=course["id"])

    return do


@pytest.fixture
def mongo_commands() -> MongoCommandRecorder:
    return command_recorder()


@pytest.fixture
def redis_commands() -> RedisCommandRecorder:
    return redis_recorder()
