"""Watched coverage: the store's single upsert against the pure reference (`catalog/coverage.py`), order
independence of replayed/reordered/duplicated heartbeats, the credit bound, completion by coverage, the
409 of POST complete on a video lesson, bad input, and the round trips of a heartbeat."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import cache as catalog_cache
from catalog import coverage, selectors
from catalog.repositories.base import collection, new_id, oid
from catalog.repositories.lessons import LessonRepository
from catalog.repositories.progress import Heartbeat, ProgressRepository
from catalog.tests.helpers import assert_error

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def give_video(lesson_id: str, *, duration: float) -> None:
    """Make the lesson playable, as the video lifecycle does when Mux reports the asset ready."""
    lesson = selectors.lesson_get(lesson_id=lesson_id)
    assert lesson is not None
    assert LessonRepository().video_compare_and_set(
        lesson_id=lesson_id,
        expected_rev=int(lesson["video"].get("rev", 0)),
        video={"status": "ready", "asset_id": "as-1", "playback_id": "pb-1", "playback_asset_id": "as-1"},
        duration=duration,
    )
    catalog_cache.lesson_invalidate(lesson_id=lesson_id)


@pytest.fixture
def course(instructor, make_course):
    return make_course(instructor, durations=[100.0, 3000.0, None], publish=True)


@pytest.fixture
def learner(student, course, enroll):
    enroll(student, course)
    return student


def _put(client, lesson_id, body):
    return client.put(f"/api/v1/lessons/{lesson_id}/progress", body, format="json")


def _doc(user_id, lesson_id):
    return collection("progress").find_one({"user_id": user_id, "lesson_id": oid(lesson_id)})


# --- the pure rules ----------------------------------------------------------------------------------
def test_grid_is_whole_seconds_up_to_1000_s_and_bounds_the_union_beyond():
    assert [coverage.grid_seconds(d) for d in (None, 0, 100.0, 1000.0, 1000.5, 36_000.0)] == [
        1,
        1,
        1,
        1,
        2,
        36,
    ]
    # The worst union (every other cell watched) of a 10-hour lesson stays within GRID_CELLS / 2 intervals.
    grid = coverage.grid_seconds(36_000.0)
    worst = coverage.normalise(
        [[i * 2 * grid, (i * 2 + 1) * grid] for i in range(2000)], duration=36_000.0, grid=grid
    )
    assert len(worst) == coverage.GRID_CELLS // 2


def test_normalise_clips_snaps_and_merges():
    assert coverage.normalise([[5.4, 9.6], [0, 2.5], [9.5, 12], [95, 130]], duration=100.0, grid=1) == [
        (0, 3),
        (5, 12),
        (95, 100),
    ]
    assert coverage.normalise([[3.2, 3.4], [100, 120]], duration=100.0, grid=1) == []


def test_reference_credit_bound_takes_new_parts_in_order():
    state = coverage.CoverageState(union=((0, 10),), beat_at=T0)
    after = coverage.heartbeat_apply(
        state, segments=[[0, 60]], duration=100.0, now=T0 + timedelta(seconds=10)
    )
    # budget 10 * 2 + 5 = 25 s of new time: [10, 35]; the rewatched [0, 10] costs nothing
    assert after.union == ((0, 35),)
    first = coverage.heartbeat_apply(coverage.CoverageState(), segments=[[0, 60]], duration=100.0, now=T0)
    assert first.union == ((0, 5),)


# --- the store against the reference -------------------------------------------------------------------
def _store_beat(*, user_id: int, lesson_id: str, course_id: str, segments, duration, now) -> dict:
    grid = coverage.grid_seconds(duration)
    ProgressRepository().advance(
        beat=Heartbeat(
            user_id=user_id, lesson_id=lesson_id, course_id=course_id, position=None,
            segments=coverage.normalise(segments, duration=duration, grid=grid), grid=grid, duration=duration,
            threshold=0.9, complete=False, preview=False, now=now,
        )
    )  # fmt: skip
    doc = collection("progress").find_one({"user_id": user_id, "lesson_id": oid(lesson_id)})
    assert doc is not None
    return doc


segment = st.tuples(st.floats(0, 1200, allow_nan=False), st.floats(0, 300, allow_nan=False)).map(
    lambda p: [p[0], p[0] + p[1]]
)
beats = st.lists(
    st.tuples(st.lists(segment, max_size=4), st.floats(0, 120, allow_nan=False)), min_size=1, max_size=10
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=beats, duration=st.sampled_from([100.0, 600.5, 1000.0, 2500.0, None]))
def test_store_upsert_equals_the_reference_heartbeat_by_heartbeat(stream, duration):
    """Whatever the segments (overlapping, beyond the duration, over the credit bound) and the spacing
    in time, the one pipeline upsert leaves exactly the union the reference computes."""
    lesson_id, course_id = new_id(), new_id()
    state, now = coverage.CoverageState(), T0
    for segments, gap in stream:
        now += timedelta(milliseconds=int(gap * 1000))
        state = coverage.heartbeat_apply(state, segments=segments, duration=duration, now=now)
        doc = _store_beat(user_id=1, lesson_id=lesson_id, course_id=course_id, segments=segments,
                          duration=duration, now=now)  # fmt: skip
        assert [tuple(s) for s in doc["segs"]] == list(state.union)
        assert doc["watched_seconds"] == state.watched
        assert doc["coverage"] == pytest.approx(
            coverage.coverage_of(watched=state.watched, duration=duration)
        )


def _clean_stream(rng: random.Random, duration: float) -> list[tuple[list[list[float]], datetime]]:
    """A player's stream: a heartbeat without segments when playback starts, then every 10 s the ~10 s
    played since (with seeks back)."""
    out: list[tuple[list[list[float]], datetime]] = [([], T0)]
    at, t = 0.0, T0 + timedelta(seconds=10)
    while at < duration:
        if rng.random() < 0.15:
            at = max(0.0, at - rng.uniform(0, 30))  # seek back: rewatch
        played = rng.uniform(6, 10)
        out.append(([[at, min(duration, at + played)]], t))
        at += played
        t += timedelta(seconds=10)
    return out


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), duplicates=st.integers(0, 8))
def test_replayed_reordered_duplicated_heartbeats_give_the_clean_result(seed, duplicates):
    rng = random.Random(seed)
    duration = 120.0
    clean = _clean_stream(rng, duration)
    expected = coverage.CoverageState()
    for segments, at in clean:
        expected = coverage.heartbeat_apply(expected, segments=segments, duration=duration, now=at)
    # After the start, delivered shuffled, with duplicates (retries) and one overlapping re-send of two
    # heartbeats in one.
    played = [s for s, _ in clean[1:]]
    delivered = played + [rng.choice(played) for _ in range(duplicates)]
    delivered.append(rng.choice(played) + rng.choice(played))
    rng.shuffle(delivered)
    delivered.insert(0, [])
    lesson_id, course_id = new_id(), new_id()
    now, doc = T0, None
    model = coverage.CoverageState()
    for segments in delivered:
        now += timedelta(seconds=10)  # the same cadence: every heartbeat is within its credit bound
        model = coverage.heartbeat_apply(model, segments=segments, duration=duration, now=now)
        doc = _store_beat(user_id=2, lesson_id=lesson_id, course_id=course_id, segments=segments,
                          duration=duration, now=now)  # fmt: skip
    assert doc is not None
    assert model.union == expected.union
    assert [tuple(s) for s in doc["segs"]] == list(expected.union)
    assert doc["watched_seconds"] == expected.watched


# --- over HTTP --------------------------------------------------------------------------------------
def test_first_heartbeat_credits_five_seconds_and_later_ones_wall_clock_times_two(
    client_for, learner, course
):
    lesson_id = course["lesson_ids"][0]
    client = client_for(learner)
    with freeze_time(datetime.now(UTC)) as clock:
        first = _put(client, lesson_id, {"position": 60, "segments": [[0, 60]]}).json()
        clock.tick(10)
        second = _put(client, lesson_id, {"position": 60, "segments": [[0, 60]]}).json()
        clock.tick(100)
        third = _put(client, lesson_id, {"position": 100, "segments": [[0, 60], [50, 250]]}).json()

    assert (first["watched_seconds"], first["coverage"]) == (5.0, 0.05)
    assert (second["watched_seconds"], second["coverage"]) == (30.0, 0.3)  # 5 + 10 * 2 + 5
    assert (third["watched_seconds"], third["coverage"], third["completed"]) == (100.0, 1.0, True)
    assert _doc(learner.id, lesson_id)["segs"] == [[0, 100]]  # clipped to the duration


def test_completes_at_the_coverage_threshold_not_by_position(client_for, learner, course, settings):
    settings.COMPLETION_COVERAGE = 0.5
    lesson_id = course["lesson_ids"][0]
    client = client_for(learner)
    with freeze_time(datetime.now(UTC)) as clock:
        _put(client, lesson_id, {"position": 100})  # starts the wall-clock bound; completes nothing
        clock.tick(30)
        short = _put(client, lesson_id, {"position": 100, "segments": [[0, 49]]}).json()
        clock.tick(30)
        done = _put(client, lesson_id, {"position": 100, "segments": [[49, 50]]}).json()

    assert (short["completed"], short["coverage"], short["max_position"]) == (False, 0.49, 100.0)
    assert (done["completed"], done["coverage"], done["percent"]) == (True, 0.5, 100.0)
    assert done["completed_at"] is not None


def test_complete_on_a_video_lesson_needs_coverage_and_writes_nothing_before(client_for, learner, course):
    lesson_id = course["lesson_ids"][0]
    give_video(lesson_id, duration=100.0)
    client = client_for(learner)

    refused = client.post(f"/api/v1/lessons/{lesson_id}/complete")

    error = assert_error(refused, 409, "not_watched_enough")
    assert error["details"] == {"coverage": 0.0, "required": 0.9}
    assert _doc(learner.id, lesson_id) is None
    with freeze_time(datetime.now(UTC)) as clock:
        _put(client, lesson_id, {"position": 0})
        clock.tick(20)
        partial = _put(client, lesson_id, {"position": 40, "segments": [[0, 40]]}).json()
        assert_error(client.post(f"/api/v1/lessons/{lesson_id}/complete"), 409, "not_watched_enough")
        assert _doc(learner.id, lesson_id)["updated_at"].replace(tzinfo=UTC) == datetime.fromisoformat(
            partial["updated_at"].replace("Z", "+00:00")
        )
        clock.tick(60)
        _put(client, lesson_id, {"position": 95, "segments": [[40, 95]]})
    done = client.post(f"/api/v1/lessons/{lesson_id}/complete")
    assert done.status_code == 200
    assert (done.json()["completed"], done.json()["coverage"]) == (True, 0.95)


def test_lesson_without_video_still_completes_through_post(client_for, learner, course):
    lesson_id = course["lesson_ids"][2]  # no video, no duration
    body = client_for(learner).post(f"/api/v1/lessons/{lesson_id}/complete").json()
    assert (body["completed"], body["coverage"], body["watched_seconds"]) == (True, 0.0, 0.0)


def test_existing_progress_documents_keep_their_completion(client_for, learner, course):
    """A document as the pre-coverage release wrote it (client-reported watched time, completed by
    position) stays completed and gets a union from the next heartbeat on."""
    lesson_id = course["lesson_ids"][0]
    give_video(lesson_id, duration=100.0)
    collection("progress").insert_one(
        {"user_id": learner.id, "lesson_id": oid(lesson_id), "course_id": oid(course["id"]),
         "position": 95.0, "max_position": 95.0, "watched_seconds": 400.0, "completed": True,
         "completed_at": T0, "preview": False, "created_at": T0, "updated_at": T0}
    )  # fmt: skip

    body = _put(client_for(learner), lesson_id, {"position": 10, "segments": [[0, 3]]}).json()
    again = client_for(learner).post(f"/api/v1/lessons/{lesson_id}/complete")

    assert (body["completed"], body["watched_seconds"], body["max_position"]) == (True, 3.0, 95.0)
    assert body["completed_at"].startswith("2026-03-01T12:00:00")
    assert again.status_code == 200
    assert again.json()["completed"] is True


@pytest.mark.parametrize(
    "segments",
    [
        [[-1, 5]],
        [[5, 4]],
        [["a", 5]],
        [[True, 5]],
        [[0, None]],
        [[0, 5, 6]],
        [[0]],
        "0-5",
        [5],
        [[0, 1e12]],
        [[0, "Infinity"]],
        [[0, "NaN"]],
        [[i, i + 0.5] for i in range(1001)],
    ],
)
def test_bad_segments_are_400_and_nothing_is_written(client_for, learner, course, segments):
    lesson_id = course["lesson_ids"][0]
    error = assert_error(_put(client_for(learner), lesson_id, {"position": 1, "segments": segments}), 400)
    assert set(error["details"]) == {"segments"}
    assert collection("progress").count_documents({}) == 0


def test_non_finite_json_numbers_are_400(client_for, learner, course):
    lesson_id = course["lesson_ids"][0]
    for raw in ('{"position": 1, "segments": [[0, Infinity]]}', '{"position": 1, "segments": [[NaN, 1]]}'):
        response = client_for(learner).put(
            f"/api/v1/lessons/{lesson_id}/progress", raw, content_type="application/json"
        )
        assert response.status_code == 400, response.content
    assert collection("progress").count_documents({}) == 0


def test_a_thousand_segments_are_accepted(client_for, learner, course):
    lesson_id = course["lesson_ids"][1]  # 3000 s: grid of 3 s
    body = _put(
        client_for(learner), lesson_id, {"position": 1, "segments": [[i * 3, i * 3 + 2] for i in range(1000)]}
    ).json()
    assert body["watched_seconds"] == 3.0  # the first heartbeat's 5 s, in whole 3 s grid steps


# --- round trips ------------------------------------------------------------------------------------
def test_heartbeat_is_one_mongo_command_unless_a_transition(
    client_for, learner, course, django_assert_num_queries, mongo_commands
):
    lesson_id = course["lesson_ids"][0]
    client = client_for(learner)
    with freeze_time(datetime.now(UTC)) as clock:
        _put(client, lesson_id, {"position": 1, "segments": [[0, 1]]})  # warms caches; the start
        clock.tick(2)
        with django_assert_num_queries(0), mongo_commands.recording() as plain:
            _put(client, lesson_id, {"position": 3, "segments": [[1, 3]]})
        clock.tick(20)
        with django_assert_num_queries(0), mongo_commands.recording() as decile:
            _put(client, lesson_id, {"position": 12, "segments": [[3, 12]]})  # furthest position: decile 1

    assert plain == [("findAndModify", "progress")]
    assert decile == [("findAndModify", "progress"), ("update", "lesson_rollups")]
