"""Lesson rollups: exact per-lesson figures (watch time, drop-off), rebuild == incremental after a
random concurrent workload, and course analytics whose reads do not grow with learners."""

import random
import threading
from datetime import UTC, datetime
from functools import partial

import pytest
from django.core.management import call_command
from django.db import connection
from freezegun import freeze_time

from catalog import analytics, services
from catalog.repositories.activity import ActivityRepository
from catalog.repositories.progress import Heartbeat, ProgressRepository, _record, _transition
from catalog.repositories.rollups import RollupRepository
from catalog.services.rollups import rollups_compute
from learnstream.errors import NotFound, PermissionDenied
from learnstream.permissions import Actor
from tests.support.concurrency import run_at_once

pytestmark = pytest.mark.django_db


def _rollups(course):
    return RollupRepository().for_lessons(lesson_ids=course["lesson_ids"])


def test_watch_time_and_dropoff_per_lesson(client_for, instructor, make_user, make_course, enroll):
    course = make_course(instructor, durations=[100.0, 50.0], publish=True)
    first = course["lesson_ids"][0]
    ann, ben, cid = (make_user("student") for _ in range(3))
    for user in (ann, ben, cid):
        enroll(user, course)
    with freeze_time(datetime.now(UTC)) as clock:
        for user, position, segments in ((ann, 95, [[0, 60]]), (ben, 34, [[0, 30]]), (cid, 5, [])):
            services.progress_record(actor=Actor.of(user), lesson_id=first, position=0)  # playback starts
            clock.tick(60)
            services.progress_record(
                actor=Actor.of(user), lesson_id=first, position=position, segments=segments
            )
    services.progress_record(actor=Actor.of(instructor), lesson_id=first, position=100)  # preview: excluded

    body = client_for(instructor).get(f"/api/v1/courses/{course['id']}/analytics").json()

    one, two = body["lessons"]
    assert (one["starts"], one["completions"], one["watch_time_seconds"]) == (3, 0, 90.0)
    # furthest positions 95, 34, 5: all reached 0 %; two reached 10-30 %; one reached 40-90 %
    assert one["dropoff"] == [1.0, 0.6667, 0.6667, 0.6667, 0.3333, 0.3333, 0.3333, 0.3333, 0.3333, 0.3333]
    # cid's heartbeat at 5 % was no transition (still decile 0): the rollup holds the 0 % of their start
    # until their next transition (documented lag, under one tenth of the lesson).
    assert one["average_percent"] == round((95 + 34 + 0) / 3, 1)
    assert (two["starts"], two["watch_time_seconds"], two["dropoff"]) == (0, 0.0, [0.0] * 10)


def test_unenrolling_takes_a_learner_out_and_reenrolling_puts_them_back(instructor, student, make_course):
    course = make_course(instructor, durations=[100.0], publish=True)
    lesson_id = course["lesson_ids"][0]
    services.enrollment_create(actor=Actor.of(student), course_id=course["id"])
    services.progress_record(actor=Actor.of(student), lesson_id=lesson_id, position=50)
    before = _rollups(course)[lesson_id]

    services.enrollment_cancel(actor=Actor.of(student), course_id=course["id"])
    gone = _rollups(course)[lesson_id]
    services.enrollment_create(actor=Actor.of(student), course_id=course["id"])
    back = _rollups(course)[lesson_id]

    assert (before["starts"], before["reached"][:6]) == (1, [1, 1, 1, 1, 1, 1])
    assert (gone["starts"], gone["percent_sum"], gone["reached"]) == (0, 0.0, [0] * 10)
    assert back == before


@pytest.mark.django_db(transaction=True)
def test_rebuild_equals_incremental_after_a_random_concurrent_workload(
    instructor, make_user, make_course, patient_mongo
):
    course = make_course(instructor, durations=[120.0, 60.0, None, 30.0], publish=True)
    lessons = course["lesson_ids"]
    learners = [make_user("student") for _ in range(6)]
    for learner in learners:
        services.enrollment_create(actor=Actor.of(learner), course_id=course["id"])
    errors: list[BaseException] = []

    def work(index: int) -> None:
        rng = random.Random(index)
        learner = learners[index % len(learners)]
        actor = Actor.of(learner)
        try:
            for _ in range(25):
                lesson_id = rng.choice(lessons)
                roll = rng.random()
                if roll < 0.1:
                    services.progress_complete(actor=actor, lesson_id=lesson_id)
                elif roll < 0.13 and index % 3 == 0:
                    services.enrollment_cancel(actor=actor, course_id=course["id"])
                    services.enrollment_create(actor=actor, course_id=course["id"])
                else:
                    start = rng.uniform(0, 120)
                    services.progress_record(
                        actor=actor, lesson_id=lesson_id, position=rng.uniform(0, 130),
                        segments=[[start, start + rng.uniform(0, 40)]],
                    )  # fmt: skip
        except (PermissionDenied, NotFound):
            pass  # the learner's other thread had them unenrolled at that moment: refused, as it should be
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]  # two threads per learner
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=110)

    assert errors == []
    incremental = _rollups(course)
    assert sum(r["starts"] for r in incremental.values()) > 0
    recomputed = rollups_compute(course=course)
    activity_rebuilt = (
        ActivityRepository().learners_for_course(course_id=course["id"]),
        ActivityRepository().buckets_for_course(course_id=course["id"]),
    )
    call_command("rebuild_rollups", course=[course["id"]], stdout=open("/dev/null", "w"))  # noqa: SIM115
    rebuilt = _rollups(course)
    assert rebuilt.keys() == incremental.keys() == recomputed.keys()
    for lesson_id, row in incremental.items():
        exact = {k: v for k, v in row.items() if k != "percent_sum"}
        assert exact == {k: v for k, v in rebuilt[lesson_id].items() if k != "percent_sum"}, lesson_id
        assert row["percent_sum"] == pytest.approx(rebuilt[lesson_id]["percent_sum"]), lesson_id
    # the learners' last active hours and their buckets too (rebuilt by the same command)
    assert activity_rebuilt == (
        ActivityRepository().learners_for_course(course_id=course["id"]),
        ActivityRepository().buckets_for_course(course_id=course["id"]),
    )
    assert sum(activity_rebuilt[1].values()) == len(learners)


def test_a_write_keeps_its_own_delta_whatever_lands_after_it(instructor, student, make_course, enroll):
    """The read-back after SecantusDB's null answer to a colliding upsert finds the document after later
    writes: the delta of ours must come from our record, not from the document's current state."""
    course = make_course(instructor, durations=[100.0], publish=True)
    enroll(student, course)
    repo = ProgressRepository()

    def beat(position: float) -> Heartbeat:
        return Heartbeat(
            user_id=student.id, lesson_id=course["lesson_ids"][0], course_id=course["id"], position=position,
            segments=[], grid=1, duration=100.0, threshold=0.95, complete=False, preview=False,
            now=datetime.now(UTC),
        )  # fmt: skip

    first, second = beat(35.0), beat(72.0)
    told = repo.advance(beat=first).transition
    repo.advance(beat=second)
    for position in (73.0, 74.0, 75.0):  # non-transitions: records of their own
        repo.advance(beat=beat(position))
    doc = repo.col.find_one({"user_id": student.id})

    record = _record(doc, write_id=first.write_id)
    assert record is not None
    assert _transition(record) == told
    assert told is not None
    assert (told.started, told.deciles, told.percent) == (True, (1, 1, 1, 1, 0, 0, 0, 0, 0, 0), 35.0)
    later = _transition(_record(doc, write_id=second.write_id) or {})
    assert later is not None
    assert (later.started, later.deciles, later.percent) == (False, (0, 0, 0, 0, 1, 1, 1, 1, 0, 0), 37.0)
    assert [r["w"] for r in doc["_w"]][:2] == [first.write_id, second.write_id]
    assert "_prev" not in doc


@pytest.mark.django_db(transaction=True)
def test_colliding_first_heartbeats_of_one_learner_on_one_lesson_count_exactly(
    instructor, make_user, make_course, patient_mongo
):
    course = make_course(instructor, durations=[100.0], publish=True)
    lesson_id = course["lesson_ids"][0]
    learners = [make_user("student") for _ in range(2)]
    for learner in learners:
        services.enrollment_create(actor=Actor.of(learner), course_id=course["id"])
    errors = run_at_once(
        [
            partial(
                services.progress_record, actor=Actor.of(learner), lesson_id=lesson_id, position=5.0 + 9.5 * i
            )
            for learner in learners
            for i in range(6)
        ]
    )

    assert errors == []
    incremental = _rollups(course)[lesson_id]
    assert incremental == rollups_compute(course=course)[lesson_id]
    assert incremental["starts"] == 2
    assert ActivityRepository().learners_for_course(course_id=course["id"]).keys() == {u.id for u in learners}


def test_analytics_reads_do_not_grow_with_learners(
    instructor, make_user, make_course, mongo_commands, settings
):
    settings.CATALOG_ANALYTICS_CACHE_SECONDS = 0
    course = make_course(instructor, durations=[100.0, 100.0, 100.0], publish=True)

    def measure():
        with mongo_commands.recording() as commands:
            result = analytics.course_analytics_get(course=course)
        return list(commands), result

    learner = make_user("student")
    services.enrollment_create(actor=Actor.of(learner), course_id=course["id"])
    services.progress_record(actor=Actor.of(learner), lesson_id=course["lesson_ids"][0], position=10)
    few, few_result = measure()
    for _ in range(30):
        learner = make_user("student")
        services.enrollment_create(actor=Actor.of(learner), course_id=course["id"])
        for lesson_id in course["lesson_ids"]:
            services.progress_record(actor=Actor.of(learner), lesson_id=lesson_id, position=50)
    many, many_result = measure()

    assert [name for name, _ in few] == [name for name, _ in many] == ["find", "find", "aggregate"]
    assert [coll for _, coll in many] == ["lessons", "lesson_rollups", "course_activity_hours"]
    assert (few_result["enrollments"], many_result["enrollments"]) == (1, 31)
    assert [row["starts"] for row in many_result["lessons"]] == [31, 30, 30]
