"""Course writes: create, update, publish, unpublish, archive. Every write invalidates the catalog cache."""

import secrets
from typing import Any

from django.utils.text import slugify

from catalog import cache as catalog_cache
from catalog.repositories.base import DuplicateKey, new_id
from catalog.repositories.courses import CourseRepository
from catalog.selectors.courses import course_get
from catalog.services.common import archived, now
from catalog.types import Course
from learnstream.errors import Conflict

SLUG_MAX_LENGTH = 80


def _slug_base(title: str) -> str:
    return slugify(title)[: SLUG_MAX_LENGTH - 7].strip("-") or "course"


def course_create(
    *,
    owner_id: int,
    title: str,
    description: str = "",
    tags: list[str] | None = None,
    level: str = "beginner",
    slug: str | None = None,
) -> Course:
    """Create a draft course. An explicit slug that is taken → 409; a generated one gets a `-2`, `-3`…
    suffix (the unique index decides races: on a duplicate we simply try the next candidate)."""
    repo = CourseRepository()
    course_id = new_id()
    fields: dict[str, Any] = {
        "course_id": course_id,
        "title": title,
        "description": description,
        "tags": tags or [],
        "level": level,
        "owner_id": owner_id,
    }
    if slug:
        try:
            course = repo.insert(slug=slug, now=now(), **fields)
        except DuplicateKey as exc:
            raise Conflict(
                "This slug is already taken.", details={"slug": ["This slug is already taken."]}
            ) from exc
    else:
        base = _slug_base(title)
        taken = repo.slugs_with_prefix(prefix=base, limit=1000)
        candidates = [base] + [f"{base}-{n}" for n in range(2, 1002)]
        free = [c for c in candidates if c not in taken][:5]
        free.append(f"{base}-{secrets.token_hex(3)}")
        for candidate in free:
            try:
                course = repo.insert(slug=candidate, now=now(), **fields)
                break
            except DuplicateKey:
                continue
        else:  # pragma: no cover - six concurrent collisions in a row
            raise Conflict("Could not allocate a unique slug; retry.")
    catalog_cache.catalog_invalidate()
    return course


def course_update(*, course: Course, fields: dict[str, Any]) -> Course:
    """Partial update of editable fields (title, slug, description, tags, level). Archived → 409."""
    if course["status"] == "archived":
        raise archived()
    if not fields:
        return course
    try:
        updated = CourseRepository().update_fields(
            course_id=course["id"], fields=fields, now=now(), unless_status="archived"
        )
    except DuplicateKey as exc:
        raise Conflict(
            "This slug is already taken.", details={"slug": ["This slug is already taken."]}
        ) from exc
    if updated is None:
        raise archived()
    catalog_cache.catalog_invalidate()
    return updated


def course_publish(*, course: Course) -> Course:
    """draft → published (idempotent for published). Needs at least one lesson; archived → 409."""
    if course["status"] == "archived":
        raise archived()
    updated = CourseRepository().transition(
        course_id=course["id"],
        from_statuses=("draft", "published"),
        to_status="published",
        now=now(),
        require_lessons=True,
        set_published_at=True,
    )
    if updated is None:
        current = course_get(course_id=course["id"])
        if current is not None and current["status"] == "archived":
            raise archived()
        raise Conflict(
            "A course needs at least one lesson to be published.",
            details={"lessons": ["Add at least one lesson before publishing."]},
        )
    catalog_cache.catalog_invalidate()
    return updated


def course_unpublish(*, course: Course) -> Course:
    """published → draft (idempotent for drafts). Archived → 409."""
    updated = CourseRepository().transition(
        course_id=course["id"], from_statuses=("draft", "published"), to_status="draft", now=now()
    )
    if updated is None:
        raise archived()
    catalog_cache.catalog_invalidate()
    return updated


def course_archive(*, course: Course) -> None:
    """Soft delete (idempotent): the course leaves every listing; enrollments and progress stay."""
    CourseRepository().transition(
        course_id=course["id"],
        from_statuses=("draft", "published", "archived"),
        to_status="archived",
        now=now(),
    )
    catalog_cache.catalog_invalidate()
