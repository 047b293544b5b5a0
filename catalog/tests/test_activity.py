"""Learners active in the last 7 days from last-active-hour buckets (`catalog/repositories/activity.py`):
exact counts through the real progress path, one bucket per learner, transitions only on a learner-
lesson's first write of an hour, rebuild == incremental."""

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from django.core.management import call_command
from freezegun import freeze_time

from catalog import analytics, services
from catalog.indexes import ensure_indexes
from catalog.repositories.activity import ActivityRepository, State
from catalog.repositories.base import collection
from catalog.repositories.progress import hour_of
from learnstream.permissions import Actor
from tests.support.concurrency import run_at_once

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def _active(course):
    return analytics.course_analytics_compute(course=course)["active_learners_7d"]


def _beat(user, lesson_id, position=10.0):
    services.progress_record(actor=Actor.of(user), lesson_id=lesson_id, position=position)


def _rebuild(course):
    call_command("rebuild_rollups", course=[course["id"]], stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_learners_active_in_the_last_7_days_count_once_each(instructor, make_user, make_course, enroll):
    course = make_course(instructor, durations=[100.0, 100.0, 100.0], publish=True)
    one, two, three = course["lesson_ids"]
    ann, ben, cid, dan, eve = (make_user("student") for _ in range(5))
    for user in (ann, ben, cid, dan, eve):
        enroll(user, course)
    with freeze_time(NOW - timedelta(days=8)) as clock:
        _beat(ben, one)  # only 8 days ago: not counted
        _beat(cid, one)  # 8 days ago, and again below: counted once, in the later hour
        clock.move_to(NOW - timedelta(days=6, hours=23))
        _beat(eve, two)
        clock.move_to(NOW - timedelta(minutes=20))
        for lesson_id in (one, two, three):  # ann on three lessons: one learner
            _beat(ann, lesson_id)
        _beat(cid, two)
        _beat(cid, one, position=20.0)
        _beat(dan, one)
        _beat(instructor, one)  # the owner's preview: never counted
        clock.move_to(NOW)
        services.enrollment_cancel(actor=Actor.of(dan), course_id=course["id"])  # unenrolled: out

        active = _active(course)
        buckets = ActivityRepository().buckets_for_course(course_id=course["id"])
        learners = ActivityRepository().learners_for_course(course_id=course["id"])

    assert active == 3  # ann, cid, eve
    assert buckets == {  # ben still sits in his hour: it is just outside the window
        hour_of(NOW): 2,
        hour_of(NOW - timedelta(days=6, hours=23)): 1,
        hour_of(NOW - timedelta(days=8)): 1,
    }
    assert learners == {
        ann.id: State(hour=hour_of(NOW), retired=0),
        ben.id: State(hour=hour_of(NOW - timedelta(days=8)), retired=0),
        cid.id: State(hour=hour_of(NOW), retired=0),
        dan.id: State(hour=hour_of(NOW), retired=1),
        eve.id: State(hour=hour_of(NOW - timedelta(days=6, hours=23)), retired=0),
    }
    assert instructor.id not in learners

    with freeze_time(NOW):
        services.enrollment_create(actor=Actor.of(dan), course_id=course["id"])  # back in, with their hour
        assert _active(course) == 4
        incremental = ActivityRepository().buckets_for_course(course_id=course["id"])
        _rebuild(course)
        assert ActivityRepository().buckets_for_course(course_id=course["id"]) == incremental
        assert ActivityRepository().learners_for_course(course_id=course["id"])[dan.id] == State(
            hour=hour_of(NOW), retired=0
        )
    # Seven days and 31 minutes on, the 15:00 hour of ann, cid and dan has left the window too
    with freeze_time(NOW + timedelta(days=7, minutes=31)):
        assert _active(course) == 0
    with freeze_time(NOW + timedelta(days=6, hours=23)):
        assert _active(course) == 3  # ann, cid, dan (eve's hour left the window)


def test_the_window_counts_the_whole_hour_that_began_7_days_ago(instructor, student, make_course, enroll):
    course = make_course(instructor, durations=[100.0], publish=True)
    enroll(student, course)
    with freeze_time(NOW) as clock:
        _beat(student, course["lesson_ids"][0])
        clock.move_to(NOW + timedelta(days=7, minutes=29))  # 15:59 seven days on: the 15:00 hour still counts
        assert _active(course) == 1
        clock.move_to(NOW + timedelta(days=7, minutes=30))  # 16:00: it no longer does
        assert _active(course) == 0


def test_only_a_learner_lessons_first_write_of_an_hour_moves_the_learner(
    instructor, student, make_course, enroll, mongo_commands
):
    course = make_course(instructor, durations=[100.0, 100.0], publish=True)
    one, two = course["lesson_ids"]
    enroll(student, course)

    def commands(lesson_id):
        with mongo_commands.recording() as recorded:
            _beat(student, lesson_id, position=1.0)
        return [(name, coll) for name, coll in recorded if name != "find"]  # the writes (reads: cold caches)

    with freeze_time(NOW) as clock:
        first = commands(one)  # new document: rollup start, learner created in this hour's bucket
        again = commands(one)  # same lesson, same hour, same decile: the heartbeat alone
        other = commands(two)  # new lesson, learner already in this hour: their document, no bucket
        clock.move_to(NOW + timedelta(hours=1))
        next_hour = commands(one)  # first write of the next hour: the learner moves bucket
        settled = commands(one)

        assert first == [
            ("findAndModify", "progress"),
            ("findAndModify", "course_activity"),
            ("update", "course_activity_hours"),
            ("update", "lesson_rollups"),
        ]
        assert again == settled == [("findAndModify", "progress")]
        assert other == [
            ("findAndModify", "progress"),
            ("findAndModify", "course_activity"),
            ("update", "lesson_rollups"),
        ]
        assert next_hour == [
            ("findAndModify", "progress"),
            ("findAndModify", "course_activity"),
            ("update", "course_activity_hours"),
        ]
        buckets = ActivityRepository().buckets_for_course(course_id=course["id"])
    assert buckets == {hour_of(NOW + timedelta(hours=1)): 1}


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_heartbeats_of_one_learner_count_once(
    instructor, make_user, make_course, patient_mongo
):
    course = make_course(instructor, durations=[100.0] * 4, publish=True)
    learners = [make_user("student") for _ in range(3)]
    for learner in learners:
        services.enrollment_create(actor=Actor.of(learner), course_id=course["id"])
    errors = run_at_once(
        [partial(_beat, learner, lesson_id) for learner in learners for lesson_id in course["lesson_ids"]]
    )

    assert errors == []
    assert _active(course) == 3
    learned = ActivityRepository().learners_for_course(course_id=course["id"])
    assert {state.retired for state in learned.values()} == {0}
    assert sorted(learned) == sorted(learner.id for learner in learners)
    hours = {state.hour for state in learned.values()}
    assert sum(ActivityRepository().buckets_for_course(course_id=course["id"]).values()) == 3
    assert len(hours) in (1, 2)  # all in the current hour (two if the test straddled an hour boundary)


def test_deleting_a_lesson_keeps_an_unenrolled_learner_countable_on_return(
    client_for, instructor, student, make_course, enroll
):
    course = make_course(instructor, durations=[100.0, 100.0], publish=True)
    first, second = course["lesson_ids"]
    enroll(student, course)
    with freeze_time(NOW) as clock:
        _beat(student, first)
        clock.tick(60)
        _beat(student, second)
        services.enrollment_cancel(actor=Actor.of(student), course_id=course["id"])
        retired = ActivityRepository().learners_for_course(course_id=course["id"])[student.id]

        response = client_for(instructor).delete(f"/api/v1/lessons/{first}/")
        assert response.status_code == 204
        services.enrollment_create(actor=Actor.of(student), course_id=course["id"])

        assert retired == State(hour=hour_of(NOW), retired=2)
        assert _active(course) == 1
        learners = ActivityRepository().learners_for_course(course_id=course["id"])
        assert learners == {student.id: State(hour=hour_of(NOW), retired=0)}
        _rebuild(course)
        assert ActivityRepository().learners_for_course(course_id=course["id"]) == learners
        assert ActivityRepository().buckets_for_course(course_id=course["id"]) == {hour_of(NOW): 1}


def test_rebuild_repairs_lost_activity_writes_and_the_indexes_are_declared(
    instructor, make_user, make_course, enroll
):
    assert {"course_activity.course", "course_activity_hours.course_hour"} <= set(ensure_indexes())
    course = make_course(instructor, durations=[100.0, 100.0], publish=True)
    ann, ben = make_user("student"), make_user("student")
    for user in (ann, ben):
        enroll(user, course)
    with freeze_time(NOW) as clock:
        _beat(ann, course["lesson_ids"][0])
        clock.tick(3600)
        _beat(ben, course["lesson_ids"][1])
        _beat(instructor, course["lesson_ids"][1])
        expected = (
            ActivityRepository().learners_for_course(course_id=course["id"]),
            ActivityRepository().buckets_for_course(course_id=course["id"]),
        )
        # a crash between the progress write and the activity writes (or data from before them)
        collection("course_activity").delete_many({})
        collection("course_activity_hours").update_many({}, {"$inc": {"n": 5}})
        assert _active(course) == 12

        _rebuild(course)

        assert _active(course) == 2
        assert expected == (
            ActivityRepository().learners_for_course(course_id=course["id"]),
            ActivityRepository().buckets_for_course(course_id=course["id"]),
        )
        assert expected[1] == {hour_of(NOW): 1, hour_of(NOW + timedelta(hours=1)): 1}
