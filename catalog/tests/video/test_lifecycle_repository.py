"""The lesson video repository against the real MongoDB-compatible server."""

from datetime import UTC, datetime

import pytest
from bson import ObjectId

from catalog.repositories.base import INSERT_BATCH, DuplicateKey, insert_all, insert_new
from catalog.repositories.courses import CourseRepository
from catalog.repositories.lessons import LessonRepository
from learnstream import mongo


def _course_and_lesson(db, *, status="published", listed=True, owner_id=7, is_preview=False):
    now = datetime.now(tz=UTC)
    course_id, lesson_id = ObjectId(), ObjectId()
    db.courses.insert_one(
        {
            "_id": course_id,
            "title": "C",
            "slug": f"c-{course_id}",
            "status": status,
            "owner_id": owner_id,
            "level": "beginner",
            "lesson_ids": [lesson_id] if listed else [],
            "created_at": now,
            "updated_at": now,
        }
    )
    db.lessons.insert_one(
        {
            "_id": lesson_id,
            "course_id": course_id,
            "title": "L1",
            "description": "",
            "duration": None,
            "is_preview": is_preview,
            "video": {"status": "none"},
            "created_at": now,
            "updated_at": now,
        }
    )
    return str(course_id), str(lesson_id)


def test_context_reads_lesson_and_course_in_one_command(mongo_db):
    course_id, lesson_id = _course_and_lesson(mongo_db, owner_id=42, is_preview=True)
    context = LessonRepository().video_context(lesson_id=lesson_id)
    assert context is not None
    assert (context.lesson_id, context.course_id, context.title) == (lesson_id, course_id, "L1")
    assert (context.course_status, context.course_owner_id, context.is_preview) == ("published", 42, True)
    assert context.video == {"status": "none"}


def test_context_hides_lessons_the_course_does_not_list(mongo_db):
    _course_id, lesson_id = _course_and_lesson(mongo_db, listed=False)
    context = LessonRepository().video_context(lesson_id=lesson_id)
    assert context is not None
    assert context.course_status is None


def test_context_of_unknown_or_malformed_id_is_none(mongo_db):
    repo = LessonRepository()
    assert repo.video_context(lesson_id=str(ObjectId())) is None
    assert repo.video_context(lesson_id="not-an-id") is None
    assert repo.video_context(lesson_id="") is None


def test_compare_and_set_refuses_a_stale_revision(mongo_db):
    _course_id, lesson_id = _course_and_lesson(mongo_db)
    repo = LessonRepository()
    assert repo.video_compare_and_set(lesson_id=lesson_id, expected_rev=0, video={"status": "waiting_upload"})
    assert not repo.video_compare_and_set(lesson_id=lesson_id, expected_rev=0, video={"status": "ready"})
    assert repo.video_compare_and_set(
        lesson_id=lesson_id, expected_rev=1, video={"status": "processing"}, duration=3.5
    )
    doc = mongo_db.lessons.find_one({"_id": ObjectId(lesson_id)})
    assert doc["video"] == {"status": "processing", "rev": 2}
    assert doc["duration"] == 3.5


def test_find_prefers_the_passthrough_lesson(mongo_db):
    _c1, first = _course_and_lesson(mongo_db)
    _c2, second = _course_and_lesson(mongo_db)
    repo = LessonRepository()
    repo.video_compare_and_set(
        lesson_id=first, expected_rev=0, video={"status": "waiting_upload", "upload_id": "u1"}
    )
    repo.video_compare_and_set(
        lesson_id=second,
        expected_rev=0,
        video={"status": "ready", "asset_id": "a2", "playback_asset_id": "a2"},
    )
    assert repo.video_find(lesson_id=None, upload_id="u1", asset_id=None).lesson_id == first
    assert repo.video_find(lesson_id=None, upload_id=None, asset_id="a2").lesson_id == second
    assert repo.video_find(lesson_id=second, upload_id="u1", asset_id=None).lesson_id == second
    assert repo.video_find(lesson_id="garbage", upload_id="nope", asset_id="nope") is None
    assert repo.video_find(lesson_id=None, upload_id=None, asset_id=None) is None


def test_retired_asset_remove_pulls_one_id(mongo_db):
    _course_id, lesson_id = _course_and_lesson(mongo_db)
    repo = LessonRepository()
    repo.video_compare_and_set(
        lesson_id=lesson_id, expected_rev=0, video={"status": "ready", "retired_asset_ids": ["a", "b"]}
    )
    repo.video_retired_asset_remove(lesson_id=lesson_id, asset_id="a")
    assert repo.video_get(lesson_id=lesson_id).video["retired_asset_ids"] == ["b"]


def test_find_is_one_indexed_equality_query_per_lookup_never_an_or(mongo_db, mongo_commands):
    _c, lesson_id = _course_and_lesson(mongo.get_db())  # the recorder replaced the client
    repo = LessonRepository()
    repo.video_compare_and_set(
        lesson_id=lesson_id,
        expected_rev=0,
        video={"status": "ready", "upload_id": "u9", "asset_id": "a9", "playback_asset_id": "p9"},
    )

    with mongo_commands.recording():
        by_passthrough = repo.video_find(lesson_id=lesson_id, upload_id="u9", asset_id="a9")
        by_playable_asset = repo.video_find(lesson_id=None, upload_id=None, asset_id="p9")
    filters = [doc["filter"] for doc in mongo_commands.documents]

    assert (by_passthrough.lesson_id, by_playable_asset.lesson_id) == (lesson_id, lesson_id)
    assert filters == [{"_id": ObjectId(lesson_id)}, {"mux_ids": {"$in": ["p9"]}}]
    plan = mongo.get_db().lessons.find({"mux_ids": {"$in": ["p9"]}}).explain()
    assert "mux_ids" in str(plan["queryPlanner"]["winningPlan"])


def test_lessons_written_before_mux_ids_are_backfilled_once(mongo_db):
    _c, lesson_id = _course_and_lesson(mongo_db)
    mongo_db.lessons.update_one(
        {"_id": ObjectId(lesson_id)},
        {"$set": {"video": {"status": "processing", "upload_id": "old-u", "rev": 3}}},
    )
    repo = LessonRepository()
    assert repo.video_find(lesson_id=None, upload_id="old-u", asset_id=None) is None

    assert repo.video_mux_ids_backfill() == 1
    assert repo.video_mux_ids_backfill() == 0
    found = repo.video_find(lesson_id=None, upload_id="old-u", asset_id=None)
    stored = mongo_db.lessons.find_one({"_id": ObjectId(lesson_id)})
    assert (found.lesson_id, found.video["rev"], stored["mux_ids"]) == (lesson_id, 3, ["old-u"])


def test_an_insert_retried_after_it_landed_is_a_success_not_a_duplicate(mongo_db):
    # What pymongo's retryable write does when the first answer was lost: the same document again.
    doc = {"_id": ObjectId(), "title": "once"}
    insert_new(mongo_db.lessons, doc)
    insert_new(mongo_db.lessons, dict(doc))

    assert list(mongo_db.lessons.find({"_id": doc["_id"]})) == [doc]


def test_a_real_unique_violation_still_raises(mongo_db):
    CourseRepository().insert(
        course_id=str(ObjectId()), title="A", slug="taken", description="", tags=[], level="beginner",
        owner_id=1, now=datetime.now(tz=UTC),
    )  # fmt: skip
    with pytest.raises(DuplicateKey) as refused:
        CourseRepository().insert(
            course_id=str(ObjectId()), title="B", slug="taken", description="", tags=[], level="beginner",
            owner_id=1, now=datetime.now(tz=UTC),
        )  # fmt: skip
    assert refused.value.key == "slug"
    assert mongo_db.courses.count_documents({"slug": "taken"}) == 1


def test_insert_all_writes_every_document_one_batch_per_command(mongo_db, mongo_commands):
    docs = [{"_id": n, "n": n} for n in range(2 * INSERT_BATCH + 1)]
    with mongo_commands.recording() as commands:
        insert_all(mongo_db.scratch, docs)
        insert_all(mongo_db.scratch, [])  # nothing to write: no command

    assert commands == [("insert", "scratch")] * 3
    assert mongo_db.scratch.count_documents({}) == len(docs)
    assert [d["n"] for d in mongo_db.scratch.find().sort("_id", 1)] == list(range(len(docs)))
