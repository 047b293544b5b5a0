"""Course structure writes: sections (create, rename, move, delete, reorder) and lesson placement.

Every change of the layout is one compare-and-set on the course document's `layout_rev`
(`CourseRepository.replace_layout`): sections and lesson order change together or not at all. A change
the client computed from what it saw (a reorder: a full permutation) answers 409 when the layout changed
meanwhile; a relative change (rename, move one lesson, delete an empty section) is re-applied to the
fresh layout a few times before giving up with the same 409.
"""

from collections.abc import Callable

from catalog import cache as catalog_cache
from catalog.layout import Section, assign_lessons, layout_of, place_lesson, reorder_lessons, section_of
from catalog.repositories.base import new_id
from catalog.repositories.courses import CourseRepository
from catalog.selectors.courses import course_get
from catalog.services.common import archived, now
from catalog.types import Course
from learnstream.errors import Conflict, NotFound, ValidationFailed

MAX_SECTIONS_PER_COURSE = 100
RELATIVE_ATTEMPTS = 4

LayoutChange = Callable[[Course], tuple[list[Section], list[str]]]


class SectionNotEmpty(Conflict):
    code = "section_not_empty"
    default_message = "The section still has lessons; move or delete them first."


def layout_conflict(field: str) -> Conflict:
    return Conflict(
        "The course's structure changed meanwhile; reload and retry.",
        details={field: ["The course's sections or lessons changed concurrently."]},
    )


def write_layout(*, course: Course, change: LayoutChange, relative: bool, field: str) -> Course:
    """Apply `change` (current course → new sections and lesson order) by compare-and-set. `relative`
    changes are recomputed on the fresh course after a lost race; absolute ones answer 409 at once."""
    repo = CourseRepository()
    attempts = RELATIVE_ATTEMPTS if relative else 1
    current: Course | None = course
    for _attempt in range(attempts):
        if current is None:
            raise NotFound()
        if current["status"] == "archived":
            raise archived()
        sections, lesson_ids = layout_of(*change(current))
        updated = repo.replace_layout(
            course_id=current["id"],
            expected_rev=current["layout_rev"],
            sections=sections,
            lesson_ids=lesson_ids,
            now=now(),
            unless_status="archived",
        )
        if updated is not None:
            catalog_cache.course_lessons_invalidate(
                lesson_ids=sorted(set(current["lesson_ids"]) | set(lesson_ids))
            )
            return updated
        current = course_get(course_id=current["id"])
    if current is not None and current["status"] == "archived":
        raise archived()
    raise layout_conflict(field)


def find_section(course: Course, section_id: str) -> Section:
    for section in course["sections"]:
        if section["id"] == section_id:
            return section
    raise NotFound("No such section.")


def section_create(*, course: Course, title: str, position: int | None = None) -> tuple[Course, Section]:
    """Add a section, appended unless `position` (1-based) is given. Archived course → 409."""
    if course["status"] == "archived":
        raise archived()
    if len(course["sections"]) >= MAX_SECTIONS_PER_COURSE:
        raise Conflict(
            f"A course can have at most {MAX_SECTIONS_PER_COURSE} sections.",
            details={"sections": [f"At most {MAX_SECTIONS_PER_COURSE} sections per course."]},
        )
    section: Section = {"id": new_id(), "title": title, "lesson_ids": []}
    index = None if position is None else max(0, position - 1)
    updated = CourseRepository().add_section(
        course_id=course["id"], section=section, index=index, unless_status="archived", now=now()
    )
    if updated is None:
        raise archived()
    catalog_cache.catalog_invalidate()
    return updated, find_section(updated, section["id"])


def section_update(*, course: Course, section_id: str, title: str | None, position: int | None) -> Course:
    """Rename and/or move a section (relative: re-applied after a concurrent structure change)."""

    def change(current: Course) -> tuple[list[Section], list[str]]:
        found = find_section(current, section_id)
        renamed: Section = {**found, "title": title if title is not None else found["title"]}
        others = [s for s in current["sections"] if s["id"] != section_id]
        index = (
            current["sections"].index(found) if position is None else min(max(position - 1, 0), len(others))
        )
        return [*others[:index], renamed, *others[index:]], current["lesson_ids"]

    return write_layout(course=course, change=change, relative=True, field="section")


def section_delete(*, course: Course, section_id: str) -> Course:
    """Delete an empty section; one that still has lessons → 409 `section_not_empty`."""

    def change(current: Course) -> tuple[list[Section], list[str]]:
        found = find_section(current, section_id)
        if found["lesson_ids"]:
            raise SectionNotEmpty(details={"lesson_ids": found["lesson_ids"]})
        return [s for s in current["sections"] if s["id"] != section_id], current["lesson_ids"]

    return write_layout(course=course, change=change, relative=True, field="section")


def sections_reorder(*, course: Course, section_ids: list[str]) -> Course:
    """Replace the section order with a permutation of the course's sections (one compare-and-set)."""
    current_ids = [s["id"] for s in course["sections"]]
    if len(section_ids) != len(set(section_ids)) or set(section_ids) != set(current_ids):
        raise ValidationFailed(
            details={"section_ids": ["Must list every section of the course exactly once."]}
        )
    if course["status"] == "archived":
        raise archived()

    def change(current: Course) -> tuple[list[Section], list[str]]:
        by_id = {s["id"]: s for s in current["sections"]}
        return [by_id[sid] for sid in section_ids], current["lesson_ids"]

    return write_layout(course=course, change=change, relative=False, field="section_ids")


def check_section(course: Course, section_id: str | None) -> None:
    """A lesson may only be placed in a section of its own course (400 otherwise)."""
    if section_id is not None and section_id not in {s["id"] for s in course["sections"]}:
        raise ValidationFailed(details={"section_id": ["No such section in this course."]})


def lesson_place(
    *, course: Course, lesson_id: str, section_id: str | None, position: int | None, adding: bool = False
) -> Course:
    """Move a lesson (or, `adding`, a new one) into a section (None: unsectioned) at `position` within
    it. Its progress stays: it is keyed by the lesson, which does not change."""
    check_section(course, section_id)

    def change(current: Course) -> tuple[list[Section], list[str]]:
        if not adding and lesson_id not in current["lesson_ids"]:
            raise NotFound()
        check_section(current, section_id)
        return place_lesson(
            current["sections"],
            current["lesson_ids"],
            lesson_id=lesson_id,
            section_id=section_id,
            position=position,
        )

    return write_layout(course=course, change=change, relative=True, field="section_id")


def lesson_section(course: Course, lesson_id: str) -> str | None:
    return section_of(course["sections"], lesson_id)


def lessons_reorder(
    *, course: Course, lesson_ids: list[str], placement: dict[str, str | None] | None
) -> Course:
    """A permutation of the lessons, optionally with new sections for some of them (`placement`), as
    one compare-and-set: concurrent reorders → one wins, the other 409; nothing half-written."""
    current = course["lesson_ids"]
    if len(lesson_ids) != len(set(lesson_ids)) or set(lesson_ids) != set(current):
        raise ValidationFailed(details={"lesson_ids": ["Must list every lesson of the course exactly once."]})
    if placement:
        unknown = sorted(set(placement) - set(current))
        if unknown:
            raise ValidationFailed(
                details={"placement": [f"Not a lesson of this course: {', '.join(unknown)}."]}
            )
        for section_id in placement.values():
            try:
                check_section(course, section_id)
            except ValidationFailed:
                raise ValidationFailed(details={"placement": ["No such section in this course."]}) from None
    if course["status"] == "archived":
        raise archived()

    def change(fresh: Course) -> tuple[list[Section], list[str]]:
        if not placement:
            return reorder_lessons(fresh["sections"], fresh["lesson_ids"], order=lesson_ids)
        return assign_lessons(fresh["sections"], fresh["lesson_ids"], order=lesson_ids, placement=placement)

    return write_layout(course=course, change=change, relative=False, field="lesson_ids")
