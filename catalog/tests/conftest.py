"""Catalog test fixtures. `make_course` is a fast builder (two MongoDB writes whatever the number of
lessons: SecantusDB writes cost ~10 ms); the services themselves are exercised by the API tests."""

from collections.abc import Callable
from typing import Any

import pytest
from django.utils.text import slugify

from catalog import selectors, services
from catalog.cache import catalog_invalidate
from catalog.repositories.base import collection, new_id, oid
from catalog.services.common import now as now_ms
from catalog.tests.helpers import (
    MongoCommandRecorder,
    RedisCommandRecorder,
    command_recorder,
    redis_recorder,
)
from catalog.types import Course, Lesson
from learnstream.permissions import Actor


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
        course_id = new_id()
        lesson_durations = durations if durations is not None else [100.0] * lessons
        lesson_ids = [new_id() for _ in lesson_durations]
        if lesson_ids:
            collection("lessons").insert_many(
                [
                    {
                        "_id": oid(lid),
                        "course_id": oid(course_id),
                        "title": f"Lesson {i + 1}",
                        "description": "",
                        "duration": duration,
                        "is_preview": False,
                        "video": {"status": "none"},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i, (lid, duration) in enumerate(zip(lesson_ids, lesson_durations, strict=True))
                ]
            )
        doc: dict[str, Any] = {
            "_id": oid(course_id), "title": title, "title_sort": title.casefold(),
            "slug": f"{slugify(title)}" if title != f"Course {n}" else f"course-{n}-{course_id[-6:]}",
            "description": description, "tags": tags or [], "level": level,
            "status": "published" if publish else "draft", "owner_id": owner.id,
            "lesson_ids": [oid(lid) for lid in lesson_ids], "created_at": now, "updated_at": now,
        }  # fmt: skip
        if publish:
            assert lesson_ids, "a published course needs lessons"
            doc["published_at"] = now
        collection("courses").insert_one(doc)
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
