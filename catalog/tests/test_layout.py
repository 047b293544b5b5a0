"""The curriculum layout's pure rules (catalog/layout.py), by property: every change keeps every lesson
exactly once, keeps sections and memberships as asked, and the stored `lesson_ids` is the curriculum
order."""

from hypothesis import given
from hypothesis import strategies as st

from catalog.layout import (
    assign_lessons,
    curriculum_order,
    layout_of,
    place_lesson,
    previous_lesson,
    reorder_lessons,
    section_of,
)

LESSONS = [f"l{i}" for i in range(8)]
SECTIONS = ["s0", "s1", "s2"]


@st.composite
def layouts(draw):
    lesson_ids = draw(st.permutations(LESSONS))
    owner = {lid: draw(st.sampled_from([None, *SECTIONS])) for lid in lesson_ids}
    sections = [
        {"id": sid, "title": sid, "lesson_ids": [lid for lid in lesson_ids if owner[lid] == sid]}
        for sid in SECTIONS
    ]
    return layout_of(sections, lesson_ids)


def _members(sections, lesson_ids):
    return {lid: section_of(sections, lid) for lid in lesson_ids}


@given(layouts(), st.permutations(LESSONS))
def test_reorder_keeps_memberships_and_follows_the_order(layout, order):
    sections, lesson_ids = layout
    new_sections, new_ids = reorder_lessons(sections, lesson_ids, order=order)

    assert sorted(new_ids) == sorted(LESSONS)
    assert new_ids == curriculum_order(new_sections, new_ids)
    assert _members(new_sections, new_ids) == _members(sections, lesson_ids)
    for section in new_sections:
        assert section["lesson_ids"] == [lid for lid in order if lid in section["lesson_ids"]]


@given(
    layouts(), st.sampled_from(LESSONS), st.sampled_from([None, *SECTIONS]), st.none() | st.integers(-3, 12)
)
def test_place_moves_one_lesson_and_nothing_else(layout, lesson_id, section_id, position):
    sections, lesson_ids = layout
    new_sections, new_ids = place_lesson(
        sections, lesson_ids, lesson_id=lesson_id, section_id=section_id, position=position
    )

    assert sorted(new_ids) == sorted(LESSONS)
    assert section_of(new_sections, lesson_id) == section_id
    before, after = _members(sections, lesson_ids), _members(new_sections, new_ids)
    assert {k: v for k, v in after.items() if k != lesson_id} == {
        k: v for k, v in before.items() if k != lesson_id
    }
    assert [s["id"] for s in new_sections] == SECTIONS


@given(
    layouts(),
    st.permutations(LESSONS),
    st.dictionaries(st.sampled_from(LESSONS), st.sampled_from([None, *SECTIONS])),
)
def test_assign_applies_the_placement_and_the_order(layout, order, placement):
    sections, lesson_ids = layout
    new_sections, new_ids = assign_lessons(sections, lesson_ids, order=order, placement=placement)

    assert sorted(new_ids) == sorted(LESSONS)
    expected = {**_members(sections, lesson_ids), **placement}
    assert _members(new_sections, new_ids) == expected
    assert new_ids == curriculum_order(new_sections, new_ids)


@given(layouts())
def test_previous_lesson_is_the_one_before_in_curriculum_order(layout):
    sections, lesson_ids = layout
    order = curriculum_order(sections, lesson_ids)
    assert [previous_lesson(sections, lesson_ids, lid) for lid in order] == [None, *order[:-1]]


def test_ids_a_section_lists_but_the_course_lost_are_ignored():
    sections = [{"id": "s0", "title": "S", "lesson_ids": ["gone", "l1"]}]
    assert curriculum_order(sections, ["l0", "l1"]) == ["l1", "l0"]
    assert layout_of(sections, ["l0", "l1"])[0][0]["lesson_ids"] == ["l1"]
