"""A course's curriculum layout: ordered sections and the lesson order. The one home of "which lesson
comes where"; pure functions over plain data (no store, no HTTP).

Storage (see `catalog/repositories/courses.py`): the course document holds `lesson_ids` (which lessons
the course has: the membership truth) and `sections: [{id, title, lesson_ids}]` (section order, each
section's lessons in order). The curriculum order is every section's lessons in section order, then the
unsectioned lessons in `lesson_ids` order; a lesson's `position` is its index in that order + 1. A
course without sections therefore keeps exactly its old order. Writers store `lesson_ids` already in
curriculum order (`layout_of`), so both arrays agree; readers still derive the order with
`curriculum_order`, which also ignores ids a section lists but the course no longer has (a lesson
deleted by a plain `$pull` on `lesson_ids`).
"""

from collections.abc import Sequence
from typing import TypedDict


class Section(TypedDict):
    id: str
    title: str
    lesson_ids: list[str]


def member_sections(sections: Sequence[Section], lesson_ids: Sequence[str]) -> list[Section]:
    """The sections with only lessons the course still has (each listed once, in the first section)."""
    members, seen = set(lesson_ids), set()
    cleaned: list[Section] = []
    for section in sections:
        kept = [lid for lid in section["lesson_ids"] if lid in members and lid not in seen]
        seen.update(kept)
        cleaned.append({"id": section["id"], "title": section["title"], "lesson_ids": kept})
    return cleaned


def unsectioned(sections: Sequence[Section], lesson_ids: Sequence[str]) -> list[str]:
    placed = {lid for section in sections for lid in section["lesson_ids"]}
    return [lid for lid in lesson_ids if lid not in placed]


def curriculum_order(sections: Sequence[Section], lesson_ids: Sequence[str]) -> list[str]:
    """Every lesson once: the sections' lessons in section order, then the unsectioned ones."""
    cleaned = member_sections(sections, lesson_ids)
    return [lid for section in cleaned for lid in section["lesson_ids"]] + unsectioned(cleaned, lesson_ids)


def previous_lesson(sections: Sequence[Section], lesson_ids: Sequence[str], lesson_id: str) -> str | None:
    """The lesson just before `lesson_id` in curriculum order (what a sequential course waits for)."""
    order = curriculum_order(sections, lesson_ids)
    try:
        index = order.index(lesson_id)
    except ValueError:
        return None
    return order[index - 1] if index > 0 else None


def section_of(sections: Sequence[Section], lesson_id: str) -> str | None:
    for section in sections:
        if lesson_id in section["lesson_ids"]:
            return section["id"]
    return None


def layout_of(sections: Sequence[Section], lesson_ids: Sequence[str]) -> tuple[list[Section], list[str]]:
    """What writers store: cleaned sections and `lesson_ids` in curriculum order."""
    cleaned = member_sections(sections, lesson_ids)
    return cleaned, curriculum_order(cleaned, lesson_ids)


def _insert(items: list[str], item: str, position: int | None) -> list[str]:
    index = len(items) if position is None else min(max(position - 1, 0), len(items))
    return [*items[:index], item, *items[index:]]


def place_lesson(
    sections: Sequence[Section],
    lesson_ids: Sequence[str],
    *,
    lesson_id: str,
    section_id: str | None,
    position: int | None,
) -> tuple[list[Section], list[str]]:
    """Put `lesson_id` (new or present) into `section_id` (None: unsectioned) at `position` (1-based
    within that group; None or beyond the end: last). The caller checked that the section exists."""
    cleaned = member_sections(sections, lesson_ids)
    rest_ids = [lid for lid in lesson_ids if lid != lesson_id]
    moved: list[Section] = [
        {**s, "lesson_ids": [lid for lid in s["lesson_ids"] if lid != lesson_id]} for s in cleaned
    ]
    loose = unsectioned(moved, rest_ids)
    if section_id is None:
        loose = _insert(loose, lesson_id, position)
    else:
        moved = [
            {**s, "lesson_ids": _insert(s["lesson_ids"], lesson_id, position)} if s["id"] == section_id else s
            for s in moved
        ]
    return moved, [lid for s in moved for lid in s["lesson_ids"]] + loose


def reorder_lessons(
    sections: Sequence[Section], lesson_ids: Sequence[str], *, order: Sequence[str]
) -> tuple[list[Section], list[str]]:
    """Apply a permutation of the lessons: every section keeps its lessons, in the order's relative
    order; so do the unsectioned lessons. Without sections this is exactly the new order."""
    rank = {lid: i for i, lid in enumerate(order)}
    cleaned = member_sections(sections, lesson_ids)
    resorted: list[Section] = [
        {**s, "lesson_ids": sorted(s["lesson_ids"], key=rank.__getitem__)} for s in cleaned
    ]
    loose = sorted(unsectioned(resorted, lesson_ids), key=rank.__getitem__)
    return resorted, [lid for s in resorted for lid in s["lesson_ids"]] + loose


def assign_lessons(
    sections: Sequence[Section],
    lesson_ids: Sequence[str],
    *,
    order: Sequence[str],
    placement: dict[str, str | None],
) -> tuple[list[Section], list[str]]:
    """A permutation plus new section memberships (`placement`: lesson → section id or None) in one
    step: lessons move across sections and are ordered by `order` within each group."""
    rank = {lid: i for i, lid in enumerate(order)}
    cleaned = member_sections(sections, lesson_ids)
    current = {lid: s["id"] for s in cleaned for lid in s["lesson_ids"]}
    target = {lid: placement[lid] if lid in placement else current.get(lid) for lid in order}
    regrouped: list[Section] = [
        {**s, "lesson_ids": sorted((lid for lid in order if target[lid] == s["id"]), key=rank.__getitem__)}
        for s in cleaned
    ]
    loose = [lid for lid in order if target[lid] is None]
    return regrouped, [lid for s in regrouped for lid in s["lesson_ids"]] + loose
