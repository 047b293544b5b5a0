"""Course writes: create, update, publish, unpublish, archive. Every write invalidates the catalog cache."""

import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from catalog import cache as catalog_cache
from catalog import policy
from catalog.repositories.base import DuplicateKey, new_id
from catalog.repositories.courses import CourseRepository
from catalog.selectors.courses import course_get
from catalog.services.common import archived, now
from catalog.services.enrollments import active_enrollment_count, seat_lock
from catalog.types import Course, Price
from catalog.video.downloads import request_course_downloads
from learnstream.errors import Conflict, ValidationFailed

SLUG_MAX_LENGTH = 80
MAX_PREREQUISITE_DEPTH = 20  # chains longer than this are refused (and the cycle walk stays bounded)
MAX_PREREQUISITE_WALK = 500


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
    sequential: bool = False,
    prerequisites: list[str] | None = None,
    price: Price | None = None,
    downloadable: bool = False,
    enrollment_policy: dict[str, Any] | None = None,
) -> Course:
    """Create a draft course (with its enrollment policy, if given: a window closing before it opens →
    400). An explicit slug that is taken → 409; a generated one gets a `-2`, `-3`…
    suffix (the unique index decides races: on a duplicate we simply try the next candidate)."""
    if enrollment_policy:
        policy.policy_changes_validate(current={}, changes=enrollment_policy)
    repo = CourseRepository()
    course_id = new_id()
    prerequisites = prerequisites or []
    check_prerequisites(course_id=course_id, prerequisites=prerequisites)
    fields: dict[str, Any] = {
        "policy": enrollment_policy,
        "course_id": course_id,
        "title": title,
        "description": description,
        "tags": tags or [],
        "level": level,
        "owner_id": owner_id,
        "sequential": sequential,
        "prerequisites": prerequisites,
        "price": price,
        "downloadable": downloadable,
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
    """Partial update of editable fields (title, slug, description, tags, level, price and the enrollment
    policy). Archived → 409. A price change never touches open orders: each keeps the price it was opened
    with. An enrollment window that closes before it opens → 400; a capacity below the current active
    enrollments → 409 `capacity_below_enrollments` (checked and written under the course's seat lock, so
    no enrollment slips in between)."""
    if course["status"] == "archived":
        raise archived()
    if not fields:
        return course
    if "prerequisites" in fields:
        check_prerequisites(course_id=course["id"], prerequisites=fields["prerequisites"])
    policy.policy_changes_validate(current=course, changes=fields)
    capacity = fields.get("capacity")
    if capacity is None:
        updated = _update_fields(course=course, fields=fields)
    else:
        with transaction.atomic():
            seat_lock(course_id=course["id"])
            active = active_enrollment_count(course_id=course["id"], at=timezone.now())
            if capacity < active:
                raise policy.CapacityBelowEnrollments(
                    details={
                        "capacity": [f"Active enrollments: {active}; the capacity cannot be lower."],
                        "active_enrollments": active,
                    }
                )
            updated = _update_fields(course=course, fields=fields)
    if "sequential" in fields:  # every lesson's access facts carry it
        catalog_cache.course_lessons_invalidate(lesson_ids=updated["lesson_ids"])
    else:
        catalog_cache.catalog_invalidate()
    if updated["downloadable"] and not course["downloadable"]:
        # Videos uploaded before the course offered downloads get their MP4 now (off the request).
        request_course_downloads.enqueue(course_id=updated["id"])
    return updated


def _update_fields(*, course: Course, fields: dict[str, Any]) -> Course:
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
    return updated


def check_prerequisites(*, course_id: str, prerequisites: list[str]) -> None:
    """Prerequisites must be other, published courses, and may not form a cycle (A needs B needs A):
    400 otherwise, before anything is written."""
    if course_id in prerequisites:
        raise ValidationFailed(details={"prerequisites": ["A course cannot require itself."]})
    if not prerequisites:
        return
    repo = CourseRepository()
    graph = repo.prerequisite_graph(course_ids=prerequisites)
    unusable = [pid for pid in prerequisites if pid not in graph or graph[pid][0] != "published"]
    if unusable:
        raise ValidationFailed(details={"prerequisites": [f"Not a published course: {', '.join(unusable)}."]})
    # Walk what the prerequisites require in turn, a level per query, bounded.
    seen: set[str] = set(prerequisites)
    frontier = [req for pid in prerequisites for req in graph[pid][2]]
    for _depth in range(MAX_PREREQUISITE_DEPTH):
        if course_id in frontier:
            raise ValidationFailed(details={"prerequisites": ["These prerequisites would form a cycle."]})
        frontier = [cid for cid in dict.fromkeys(frontier) if cid not in seen][:MAX_PREREQUISITE_WALK]
        if not frontier:
            return
        seen.update(frontier)
        level = repo.prerequisite_graph(course_ids=frontier)
        frontier = [req for cid in frontier if cid in level for req in level[cid][2]]
    raise ValidationFailed(details={"prerequisites": ["The prerequisite chain is too deep."]})


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
