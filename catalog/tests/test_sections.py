"""Course structure: sections CRUD, lesson placement, atomic reorders (also concurrent), the curriculum
read (one MongoDB round trip, cached, invalidated by writes) and bad input, on the real stores."""

import threading

import pytest

from catalog import selectors, services
from catalog.repositories.base import collection, new_id, oid
from catalog.tests.helpers import assert_error
from learnstream.errors import Conflict

pytestmark = pytest.mark.django_db


def _sections_url(course_id):
    return f"/api/v1/courses/{course_id}/sections/"


def _add_section(client, course_id, title, **extra):
    response = client.post(_sections_url(course_id), {"title": title, **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _stored(course_id):
    return collection("courses").find_one({"_id": oid(course_id)})


def test_owner_creates_lists_renames_moves_and_deletes_sections(client_for, instructor, make_course):
    course = make_course(instructor, lessons=2)
    client = client_for(instructor)

    a = _add_section(client, course["id"], "Basics")
    c = _add_section(client, course["id"], "Advanced")
    b = _add_section(client, course["id"], "Middle", position=2)

    assert set(a) == {"id", "title", "position", "lesson_ids"}
    assert (a["title"], a["position"], a["lesson_ids"]) == ("Basics", 1, [])
    assert b["position"] == 2
    listed = client.get(_sections_url(course["id"])).json()
    assert [(s["title"], s["position"]) for s in listed] == [("Basics", 1), ("Middle", 2), ("Advanced", 3)]

    renamed = client.patch(f"/api/v1/sections/{c['id']}", {"title": "Expert", "position": 1}, format="json")
    assert renamed.status_code == 200, renamed.content
    assert (renamed.json()["title"], renamed.json()["position"]) == ("Expert", 1)
    assert [s["title"] for s in client.get(_sections_url(course["id"])).json()] == [
        "Expert",
        "Basics",
        "Middle",
    ]

    assert client.delete(f"/api/v1/sections/{b['id']}").status_code == 204
    assert [s["id"] for s in client.get(_sections_url(course["id"])).json()] == [c["id"], a["id"]]
    assert_error(client.delete(f"/api/v1/sections/{b['id']}"), 404, "not_found")


def test_lessons_carry_section_id_and_move_keeping_progress(
    client_for, instructor, student, make_course, enroll
):
    course = make_course(instructor, lessons=3, publish=True)
    l1, l2, l3 = course["lesson_ids"]
    owner = client_for(instructor)
    intro = _add_section(owner, course["id"], "Intro")
    deep = _add_section(owner, course["id"], "Deep")
    enroll(student, course)
    learner = client_for(student)
    assert learner.post(f"/api/v1/lessons/{l3}/complete").status_code == 200

    moved = owner.patch(f"/api/v1/lessons/{l3}", {"section_id": intro["id"]}, format="json")
    assert moved.status_code == 200, moved.content
    assert (moved.json()["section_id"], moved.json()["position"]) == (intro["id"], 1)
    created = owner.post(
        f"/api/v1/courses/{course['id']}/lessons/", {"title": "New", "section_id": deep["id"]}, format="json"
    )
    assert created.status_code == 201, created.content
    assert (created.json()["section_id"], created.json()["position"]) == (deep["id"], 2)
    to_front = owner.patch(f"/api/v1/lessons/{l2}", {"section_id": intro["id"], "position": 1}, format="json")
    assert to_front.json()["position"] == 1

    curriculum = owner.get(f"/api/v1/courses/{course['id']}/curriculum").json()
    assert [(s["title"], [x["id"] for x in s["lessons"]]) for s in curriculum["sections"]] == [
        ("Intro", [l2, l3]),
        ("Deep", [created.json()["id"]]),
    ]
    assert [x["id"] for x in curriculum["unsectioned"]] == [l1]
    assert [x["position"] for x in curriculum["unsectioned"]] == [4]
    listed = owner.get(f"/api/v1/courses/{course['id']}/lessons/").json()["results"]
    assert [(x["id"], x["position"], x["section_id"]) for x in listed] == [
        (l2, 1, intro["id"]), (l3, 2, intro["id"]), (created.json()["id"], 3, deep["id"]), (l1, 4, None),
    ]  # fmt: skip
    # The move kept the learner's progress.
    progress = learner.get(f"/api/v1/courses/{course['id']}/progress").json()
    assert {r["lesson_id"]: r["completed"] for r in progress["lessons"]}[l3] is True
    # Back to unsectioned.
    back = owner.patch(f"/api/v1/lessons/{l3}", {"section_id": None}, format="json")
    assert (back.json()["section_id"], back.json()["position"]) == (None, 4)


def test_deleting_a_section_with_lessons_is_409_and_keeps_it(client_for, instructor, make_course):
    course = make_course(instructor, lessons=1)
    client = client_for(instructor)
    section = _add_section(client, course["id"], "Full")
    client.patch(f"/api/v1/lessons/{course['lesson_ids'][0]}", {"section_id": section["id"]}, format="json")
    before = _stored(course["id"])

    error = assert_error(client.delete(f"/api/v1/sections/{section['id']}"), 409, "section_not_empty")

    assert error["details"]["lesson_ids"] == [course["lesson_ids"][0]]
    assert _stored(course["id"]) == before


def test_sections_reorder_needs_a_permutation(client_for, instructor, make_course):
    course = make_course(instructor)
    client = client_for(instructor)
    a, b, c = (_add_section(client, course["id"], t)["id"] for t in "ABC")
    url = f"/api/v1/courses/{course['id']}/sections/reorder"

    ok = client.post(url, {"section_ids": [c, a, b]}, format="json")
    assert ok.status_code == 200, ok.content
    assert [s["id"] for s in ok.json()] == [c, a, b]
    assert [s["position"] for s in ok.json()] == [1, 2, 3]
    before = _stored(course["id"])
    for bad in ([c, a], [c, a, b, b], [c, a, new_id()], [c, a, "nope"], []):
        error = assert_error(client.post(url, {"section_ids": bad}, format="json"), 400, "validation_error")
        assert "section_ids" in error["details"]
    assert _stored(course["id"]) == before


def test_bad_section_input_is_400_and_writes_nothing(client_for, instructor, other_instructor, make_course):
    course = make_course(instructor, lessons=2, publish=True)
    other = make_course(other_instructor, lessons=1)
    owner = client_for(instructor)
    foreign = _add_section(client_for(other_instructor), other["id"], "Theirs")
    mine = _add_section(owner, course["id"], "Mine")
    before_course, before_lessons = _stored(course["id"]), collection("lessons").count_documents({})

    # A section of another course: on create, on PATCH and in a reorder's placement.
    error = assert_error(
        owner.post(
            f"/api/v1/courses/{course['id']}/lessons/",
            {"title": "X", "section_id": foreign["id"]},
            format="json",
        ),
        400,
        "validation_error",
    )
    assert "section_id" in error["details"]
    assert_error(
        owner.patch(
            f"/api/v1/lessons/{course['lesson_ids'][0]}", {"section_id": foreign["id"]}, format="json"
        ),
        400,
        "validation_error",
    )
    assert_error(
        owner.post(
            f"/api/v1/courses/{course['id']}/lessons/reorder",
            {"lesson_ids": course["lesson_ids"], "placement": {course["lesson_ids"][0]: foreign["id"]}},
            format="json",
        ),
        400,
        "validation_error",
    )
    for payload in ({}, {"title": ""}, {"title": "   "}, {"title": "x" * 201}, {"title": "T", "position": 0}):
        assert_error(owner.post(_sections_url(course["id"]), payload, format="json"), 400, "validation_error")
    assert_error(
        owner.patch(f"/api/v1/sections/{mine['id']}", {"title": ""}, format="json"), 400, "validation_error"
    )
    assert_error(owner.patch("/api/v1/sections/not-an-id", {"title": "T"}, format="json"), 404, "not_found")
    # Another instructor cannot touch my section.
    assert_error(
        client_for(other_instructor).delete(f"/api/v1/sections/{mine['id']}"), 403, "permission_denied"
    )

    assert _stored(course["id"]) == before_course
    assert collection("lessons").count_documents({}) == before_lessons


def test_reorder_moves_lessons_within_and_across_sections_in_one_step(client_for, instructor, make_course):
    course = make_course(instructor, lessons=4)
    l1, l2, l3, l4 = course["lesson_ids"]
    client = client_for(instructor)
    s1 = _add_section(client, course["id"], "One")
    s2 = _add_section(client, course["id"], "Two")
    client.post(
        f"/api/v1/courses/{course['id']}/lessons/reorder",
        {"lesson_ids": [l1, l2, l3, l4], "placement": {l1: s1["id"], l2: s1["id"], l3: s2["id"]}},
        format="json",
    )

    response = client.post(
        f"/api/v1/courses/{course['id']}/lessons/reorder",
        {"lesson_ids": [l4, l3, l2, l1], "placement": {l4: s2["id"], l1: None}},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["lesson_ids"] == [l2, l4, l3, l1]
    sections = client.get(_sections_url(course["id"])).json()
    assert [s["lesson_ids"] for s in sections] == [[l2], [l4, l3]]


def test_concurrent_reorders_one_wins_the_other_409_nothing_half_written(instructor, make_course):
    course = make_course(instructor, lessons=4)
    owner = selectors.course_get(course_id=course["id"])
    services.section_create(course=owner, title="A")
    services.section_create(course=selectors.course_get(course_id=course["id"]), title="B")
    stale = selectors.course_get(course_id=course["id"])
    a, b = (s["id"] for s in stale["sections"])
    ids = stale["lesson_ids"]
    placements = [{ids[0]: a, ids[1]: a}, {ids[2]: b, ids[3]: b}]
    results: list[object] = []
    barrier = threading.Barrier(4)

    def run(kind: int) -> None:
        barrier.wait()
        try:
            if kind == 0:
                results.append(services.sections_reorder(course=stale, section_ids=[b, a]))
            elif kind == 1:
                results.append(
                    services.lesson_reorder(
                        course=stale, lesson_ids=list(reversed(ids)), placement=placements[0]
                    )
                )
            else:
                results.append(services.lesson_reorder(course=stale, lesson_ids=ids, placement=placements[1]))
        except Conflict as exc:
            results.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in (0, 1, 2, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    wins = [r for r in results if isinstance(r, dict)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert (len(wins), len(conflicts)) == (1, 3)
    final = selectors.course_get(course_id=course["id"])
    assert final["layout_rev"] == stale["layout_rev"] + 1
    assert (final["sections"], final["lesson_ids"]) == (wins[0]["sections"], wins[0]["lesson_ids"])
    assert sorted(final["lesson_ids"]) == sorted(ids)


def test_reorder_loses_to_a_concurrent_section_change(instructor, make_course):
    course = make_course(instructor, lessons=2)
    stale = selectors.course_get(course_id=course["id"])
    services.section_create(course=stale, title="Meanwhile")

    with pytest.raises(Conflict):
        services.lesson_reorder(course=stale, lesson_ids=list(reversed(stale["lesson_ids"])))

    assert selectors.course_get(course_id=course["id"])["lesson_ids"] == stale["lesson_ids"]


def test_curriculum_is_one_mongo_round_trip_cold_none_warm_and_invalidated_by_writes(
    api_client, client_for, instructor, make_course, mongo_commands
):
    course = make_course(instructor, lessons=2, publish=True)
    owner = client_for(instructor)
    section = _add_section(owner, course["id"], "Part 1")
    url = f"/api/v1/courses/{course['id']}/curriculum"

    with mongo_commands.recording() as cold_trips:
        cold = api_client.get(url)
    cold_commands = [name for name, _target in cold_trips]
    with mongo_commands.recording() as warm_trips:
        warm = api_client.get(url)
    warm_commands = [name for name, _target in warm_trips]

    assert cold.status_code == warm.status_code == 200
    assert cold_commands == ["aggregate"]
    assert warm_commands == []
    assert warm.json() == cold.json()
    assert set(cold.json()) == {"sections", "unsectioned"}
    assert [s["id"] for s in cold.json()["sections"]] == [section["id"]]
    assert "locked" not in cold.json()["unsectioned"][0]  # learner fields only for enrolled learners

    owner.patch(f"/api/v1/lessons/{course['lesson_ids'][1]}", {"section_id": section["id"]}, format="json")
    after = api_client.get(url).json()
    assert [x["id"] for x in after["sections"][0]["lessons"]] == [course["lesson_ids"][1]]
    owner.patch(f"/api/v1/sections/{section['id']}", {"title": "Renamed"}, format="json")
    assert api_client.get(url).json()["sections"][0]["title"] == "Renamed"


def test_drafts_curriculum_and_sections_are_hidden(api_client, client_for, instructor, student, make_course):
    course = make_course(instructor, lessons=1)
    _add_section(client_for(instructor), course["id"], "Hidden")

    for client in (api_client, client_for(student)):
        assert_error(client.get(f"/api/v1/courses/{course['id']}/curriculum"), 404, "not_found")
        assert_error(client.get(_sections_url(course["id"])), 404, "not_found")
    assert client_for(instructor).get(_sections_url(course["id"])).status_code == 200


def test_archived_course_refuses_structure_writes(client_for, instructor, make_course):
    course = make_course(instructor, lessons=1)
    client = client_for(instructor)
    section = _add_section(client, course["id"], "S")
    services.course_archive(course=selectors.course_get(course_id=course["id"]))
    before = _stored(course["id"])

    assert_error(client.post(_sections_url(course["id"]), {"title": "T"}, format="json"), 409)
    assert_error(client.patch(f"/api/v1/sections/{section['id']}", {"title": "T"}, format="json"), 409)
    assert_error(client.delete(f"/api/v1/sections/{section['id']}"), 409)
    assert_error(
        client.post(
            f"/api/v1/courses/{course['id']}/sections/reorder",
            {"section_ids": [section["id"]]},
            format="json",
        ),
        409,
    )
    assert _stored(course["id"]) == before


def test_deleting_a_sectioned_lesson_leaves_the_section_consistent(client_for, instructor, make_course):
    course = make_course(instructor, lessons=2)
    client = client_for(instructor)
    section = _add_section(client, course["id"], "S")
    lesson = course["lesson_ids"][0]
    client.patch(f"/api/v1/lessons/{lesson}", {"section_id": section["id"]}, format="json")

    assert client.delete(f"/api/v1/lessons/{lesson}").status_code == 204

    assert client.get(_sections_url(course["id"])).json()[0]["lesson_ids"] == []
    assert client.delete(f"/api/v1/sections/{section['id']}").status_code == 204
