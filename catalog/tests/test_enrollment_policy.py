"""The course's enrollment policy (catalog/policy.py): invite-only, the enrollment window, the seat cap
(exact under 50 concurrent attempts on PostgreSQL), and `access_days` expiry on playback, progress
and the learner's lists — with the warm playback path still at zero PostgreSQL queries."""

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from catalog import cache as catalog_cache
from catalog import selectors, services
from catalog.models import Enrollment, EnrollmentStatus
from catalog.repositories.base import collection
from catalog.tests.helpers import assert_error
from learnstream.permissions import Actor
from tests.support.concurrency import run_at_once
from tests.support.roundtrips import count_round_trips

COURSES = "/api/v1/courses/"
# freezegun must not freeze the drivers' own clocks (timeouts, server selection).
REAL_CLOCKS = ["pymongo", "redis", "django_redis", "psycopg", "django.db"]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def patch(client, course, body):
    return client.patch(f"{COURSES}{course['id']}", body, format="json")


def stored(course):
    current = selectors.course_get(course_id=course["id"])
    assert current is not None
    return current


# --- the fields ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_policy_fields_default_and_round_trip(client_for, instructor, make_course):
    course = make_course(instructor, lessons=1, publish=True)
    client = client_for(instructor)
    body = client.get(f"{COURSES}{course['id']}").json()
    assert {k: body[k] for k in ("enrollment", "capacity", "enrollment_opens_at")} == {
        "enrollment": "open",
        "capacity": None,
        "enrollment_opens_at": None,
    }
    assert (body["enrollment_closes_at"], body["access_days"]) == (None, None)

    opens = datetime(2030, 1, 1, 9, tzinfo=UTC)
    response = patch(
        client,
        course,
        {
            "enrollment": "invite_only",
            "capacity": 30,
            "enrollment_opens_at": iso(opens),
            "enrollment_closes_at": iso(opens + timedelta(days=14)),
            "access_days": 90,
        },
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["enrollment"], body["capacity"], body["access_days"]) == ("invite_only", 30, 90)
    assert body["enrollment_opens_at"] == "2030-01-01T09:00:00Z"
    assert body["enrollment_closes_at"] == "2030-01-15T09:00:00Z"
    current = stored(course)
    assert current["enrollment_closes_at"] == opens + timedelta(days=14)
    # The public (cached) detail follows the write.
    assert client_for(instructor).get(f"{COURSES}{course['id']}").json()["capacity"] == 30


@pytest.mark.django_db
def test_create_with_policy(client_for, instructor):
    response = client_for(instructor).post(
        COURSES, {"title": "Cohort", "level": "beginner", "capacity": 5, "access_days": 30}, format="json"
    )
    assert response.status_code == 201
    current = selectors.course_get(course_id=response.json()["id"])
    assert current is not None
    assert (current["capacity"], current["access_days"], current["enrollment"]) == (5, 30, "open")


@pytest.mark.django_db
def test_bad_policy_values_are_400_and_nothing_changes(client_for, instructor, make_course):
    course = make_course(instructor, lessons=1, publish=True)
    client = client_for(instructor)
    opens = datetime(2030, 1, 1, tzinfo=UTC)
    patch(client, course, {"enrollment_opens_at": iso(opens)})
    before = stored(course)

    # Closes before (or when) it opens: in one body, or against the stored value.
    body = assert_error(
        patch(client, course, {"enrollment_closes_at": iso(opens - timedelta(hours=1))}),
        400,
        "validation_error",
    )
    assert body["details"] == {"enrollment_closes_at": ["Enrollment must close after it opens."]}
    assert_error(
        patch(
            client,
            course,
            {"enrollment_opens_at": iso(opens), "enrollment_closes_at": iso(opens), "capacity": 3},
        ),
        400,
        "validation_error",
    )
    for bad in (
        {"enrollment": "closed"},
        {"capacity": -1},
        {"capacity": "many"},
        {"capacity": True},
        {"access_days": 0},
        {"access_days": 10**9},
        {"enrollment_opens_at": "tomorrow"},
    ):
        details = assert_error(patch(client, course, bad), 400, "validation_error")["details"]
        assert set(details) == set(bad), bad
    assert stored(course) == before
    # Same rule on create: nothing is inserted.
    assert_error(
        client.post(
            COURSES,
            {
                "title": "Backwards",
                "level": "beginner",
                "enrollment_opens_at": iso(opens),
                "enrollment_closes_at": iso(opens - timedelta(days=1)),
            },
            format="json",
        ),
        400,
        "validation_error",
    )
    assert collection("courses").count_documents({"title": "Backwards"}) == 0


@pytest.mark.django_db
def test_capacity_below_active_enrollments_is_409_and_unchanged(
    client_for, instructor, make_course, make_user, enroll
):
    course = make_course(instructor, lessons=1, publish=True)
    learners = [make_user() for _ in range(3)]
    for learner in learners:
        enroll(learner, course)
    services.enrollment_cancel(actor=Actor.of(learners[0]), course_id=course["id"])  # frees its seat
    client = client_for(instructor)

    body = assert_error(
        patch(client, course, {"capacity": 1, "title": "Renamed"}), 409, "capacity_below_enrollments"
    )

    assert body["details"]["active_enrollments"] == 2
    assert (stored(course)["capacity"], stored(course)["title"]) == (None, course["title"])
    assert patch(client, course, {"capacity": 2}).status_code == 200
    assert stored(course)["capacity"] == 2
    assert patch(client, course, {"capacity": None}).json()["capacity"] is None


# --- invite-only and the window ---------------------------------------------------------------------
@pytest.mark.django_db
def test_invite_only_refuses_self_enrollment(
    client_for, student, other_student, instructor, make_course, enroll
):
    course = make_course(instructor, lessons=1, publish=True)
    enroll(other_student, course)  # enrolled before the course became invite-only
    services.course_update(course=course, fields={"enrollment": "invite_only"})

    body = assert_error(client_for(student).post(f"{COURSES}{course['id']}/enroll"), 403, "invite_only")

    assert body["message"].startswith("This course is invite-only")
    assert not Enrollment.objects.filter(user=student).exists()
    # Somebody already enrolled is still enrolled: idempotent 200, not a refusal.
    assert client_for(other_student).post(f"{COURSES}{course['id']}/enroll").status_code == 200


@pytest.mark.django_db
def test_outside_the_window_is_409_enrollment_closed(client_for, student, instructor, make_course):
    now = datetime.now(UTC)
    later = make_course(instructor, lessons=1, publish=True)
    services.course_update(course=later, fields={"enrollment_opens_at": now + timedelta(days=1)})
    over = make_course(instructor, lessons=1, publish=True)
    services.course_update(
        course=over,
        fields={
            "enrollment_opens_at": now - timedelta(days=9),
            "enrollment_closes_at": now - timedelta(days=1),
        },
    )
    current = make_course(instructor, lessons=1, publish=True)
    services.course_update(
        course=current,
        fields={
            "enrollment_opens_at": now - timedelta(days=1),
            "enrollment_closes_at": now + timedelta(days=1),
        },
    )
    client = client_for(student)

    early = assert_error(client.post(f"{COURSES}{later['id']}/enroll"), 409, "enrollment_closed")
    assert_error(client.post(f"{COURSES}{over['id']}/enroll"), 409, "enrollment_closed")
    assert client.post(f"{COURSES}{current['id']}/enroll").status_code == 201

    assert early["details"]["enrollment_closes_at"] is None
    assert list(Enrollment.objects.values_list("course_id", flat=True)) == [current["id"]]


@pytest.mark.django_db
def test_invite_only_is_checked_before_the_window(client_for, student, instructor, make_course):
    course = make_course(instructor, lessons=1, publish=True)
    services.course_update(
        course=course,
        fields={"enrollment": "invite_only", "enrollment_closes_at": datetime.now(UTC) - timedelta(days=1)},
    )
    assert_error(client_for(student).post(f"{COURSES}{course['id']}/enroll"), 403, "invite_only")


# --- capacity ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_full_course_is_409_course_full(
    client_for, student, other_student, make_user, instructor, make_course
):
    course = make_course(instructor, lessons=1, publish=True)
    services.course_update(course=course, fields={"capacity": 1})
    first = client_for(student)
    assert first.post(f"{COURSES}{course['id']}/enroll").status_code == 201
    assert first.post(f"{COURSES}{course['id']}/enroll").status_code == 200  # holding a seat: idempotent

    body = assert_error(client_for(other_student).post(f"{COURSES}{course['id']}/enroll"), 409, "course_full")

    assert body["details"] == {"capacity": 1}
    assert list(Enrollment.objects.values_list("user_id", flat=True)) == [student.id]
    # A cancelled seat is free again; reactivating a cancelled enrollment needs a seat too.
    assert first.delete(f"{COURSES}{course['id']}/enroll").status_code == 204
    assert client_for(other_student).post(f"{COURSES}{course['id']}/enroll").status_code == 201
    assert_error(first.post(f"{COURSES}{course['id']}/enroll"), 409, "course_full")
    assert Enrollment.objects.get(user=student).status == EnrollmentStatus.CANCELLED


@pytest.mark.django_db
def test_expired_enrollments_do_not_hold_seats(client_for, student, other_student, instructor, make_course):
    course = make_course(instructor, lessons=1, publish=True)
    services.course_update(course=course, fields={"capacity": 1, "access_days": 1})
    with freeze_time(datetime.now(UTC) - timedelta(days=2), ignore=REAL_CLOCKS):
        services.enrollment_create(actor=Actor.of(student), course_id=course["id"])

    assert client_for(other_student).post(f"{COURSES}{course['id']}/enroll").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_learners_get_exactly_capacity_seats(client_for, make_user, instructor, make_course):
    """50 threads, 50 PostgreSQL connections, 50 different learners, capacity 7: exactly 7 rows and 7 x
    201, 43 x 409 `course_full`, no 5xx."""
    course = make_course(instructor, lessons=1, publish=True)
    services.course_update(course=course, fields={"capacity": 7})
    clients = [client_for(make_user()) for _ in range(50)]
    results: list[tuple[int, str | None]] = []  # list.append is atomic: no lock needed

    def hit(client) -> None:
        response = client.post(f"{COURSES}{course['id']}/enroll")
        results.append(
            (response.status_code, response.json()["error"]["code"] if response.status_code >= 400 else None)
        )

    errors = run_at_once([lambda c=c: hit(c) for c in clients], timeout=60)

    assert errors == []
    assert len(results) == 50
    assert results.count((201, None)) == 7
    assert results.count((409, "course_full")) == 43
    assert Enrollment.objects.filter(course_id=course["id"], status=EnrollmentStatus.ACTIVE).count() == 7


# --- access_days ------------------------------------------------------------------------------------
def _enroll_days_ago(user, course, *, days: float) -> Enrollment:
    """Enroll `user` as if `days` ago (the service's clock is frozen then; the drivers' are not)."""
    with freeze_time(datetime.now(UTC) - timedelta(days=days), ignore=REAL_CLOCKS):
        enrollment, _created = services.enrollment_create(actor=Actor.of(user), course_id=course["id"])
    return enrollment


@pytest.mark.django_db
def test_access_days_sets_expires_at_and_a_change_applies_to_new_enrollments_only(
    client_for, student, other_student, instructor, make_course
):
    course = make_course(instructor, lessons=1, publish=True)
    services.course_update(course=course, fields={"access_days": 30})
    client_for(student).post(f"{COURSES}{course['id']}/enroll")
    first = Enrollment.objects.get(user=student)
    assert first.expires_at == first.created_at + timedelta(days=30)

    services.course_update(course=stored(course), fields={"access_days": 5})
    client_for(other_student).post(f"{COURSES}{course['id']}/enroll")

    first.refresh_from_db()
    assert first.expires_at == first.created_at + timedelta(days=30)  # unchanged
    second = Enrollment.objects.get(user=other_student)
    assert second.expires_at == second.created_at + timedelta(days=5)


@pytest.mark.django_db
def test_expired_learner_is_refused_progress_and_complete_and_cannot_self_renew(
    client_for, student, instructor, make_course, mongo_db
):
    course = make_course(instructor, lessons=2, publish=True)
    services.course_update(course=course, fields={"access_days": 1})
    _enroll_days_ago(student, course, days=2)
    lesson_id = course["lesson_ids"][0]
    client = client_for(student)

    assert_error(
        client.put(f"/api/v1/lessons/{lesson_id}/progress", {"position": 5}, format="json"),
        403,
        "enrollment_expired",
    )
    assert_error(client.post(f"/api/v1/lessons/{lesson_id}/complete"), 403, "enrollment_expired")
    assert_error(client.get(f"{COURSES}{course['id']}/progress"), 403, "enrollment_expired")
    assert mongo_db["progress"].count_documents({}) == 0
    # Enrolling again does not restart the access period; unenroll + enroll keeps the expiry too.
    assert_error(client.post(f"{COURSES}{course['id']}/enroll"), 403, "enrollment_expired")
    assert client.delete(f"{COURSES}{course['id']}/enroll").status_code == 204
    assert_error(client.post(f"{COURSES}{course['id']}/enroll"), 403, "enrollment_expired")
    assert Enrollment.objects.get(user=student).status == EnrollmentStatus.CANCELLED
    # The owner still previews.
    owner = client_for(instructor)
    assert (
        owner.put(f"/api/v1/lessons/{lesson_id}/progress", {"position": 5}, format="json").status_code == 200
    )


@pytest.mark.django_db
def test_unenroll_and_enroll_again_keeps_the_original_expiry(client_for, student, instructor, make_course):
    course = make_course(instructor, lessons=1, publish=True)
    services.course_update(course=course, fields={"access_days": 10})
    original = _enroll_days_ago(student, course, days=3)
    client = client_for(student)

    assert client.delete(f"{COURSES}{course['id']}/enroll").status_code == 204
    assert client.post(f"{COURSES}{course['id']}/enroll").status_code == 201

    assert Enrollment.objects.get(user=student).expires_at == original.expires_at


@pytest.mark.django_db
def test_learner_lists_show_expires_at_and_flag_expired(client_for, student, instructor, make_course):
    expired_course = make_course(instructor, lessons=1, publish=True, title="Expired one")
    services.course_update(course=expired_course, fields={"access_days": 1})
    live_course = make_course(instructor, lessons=1, publish=True, title="Live one")
    services.course_update(course=live_course, fields={"access_days": 10})
    forever = make_course(instructor, lessons=1, publish=True, title="Forever")
    old = _enroll_days_ago(student, expired_course, days=2)
    live = _enroll_days_ago(student, live_course, days=1)
    services.enrollment_create(actor=Actor.of(student), course_id=forever["id"])
    client = client_for(student)

    rows = {r["course_title"]: r for r in client.get("/api/v1/enrollments/").json()["results"]}
    progress = {r["title"]: r for r in client.get("/api/v1/me/progress").json()["results"]}

    assert {t: (r["expired"], r["expires_at"]) for t, r in rows.items()} == {
        "Expired one": (True, iso(old.expires_at)),
        "Live one": (False, iso(live.expires_at)),
        "Forever": (False, None),
    }
    assert {t: (r["expired"], r["expires_at"]) for t, r in progress.items()} == {
        "Expired one": (True, iso(old.expires_at)),
        "Live one": (False, iso(live.expires_at)),
        "Forever": (False, None),
    }


@pytest.mark.django_db
def test_playback_gate_expired_vs_active_warm_and_cold(
    client_for, student, other_student, instructor, make_course, django_capture_on_commit_callbacks
):
    """A lesson without video: an active learner passes the gate (409 not ready), an expired one is
    stopped by it (403 `enrollment_expired`) — from the warm cache (the expiry is in the cached value)
    and from PostgreSQL after the cache is gone."""
    course = make_course(instructor, lessons=1, publish=True)
    services.course_update(course=course, fields={"access_days": 1})
    with django_capture_on_commit_callbacks(execute=True):
        _enroll_days_ago(student, course, days=2)
        services.enrollment_create(actor=Actor.of(other_student), course_id=course["id"])
    url = f"/api/v1/lessons/{course['lesson_ids'][0]}/playback"
    expired, active = client_for(student), client_for(other_student)
    expired.get(url), active.get(url)  # warm the auth state and the lesson's access facts

    with count_round_trips() as warm:
        assert_error(expired.get(url), 403, "enrollment_expired")
        assert_error(active.get(url), 409)
    assert warm.pg == 0, warm.describe()

    catalog_cache.cache.delete(catalog_cache.enrollment_key(student.id, course["id"]))
    assert_error(expired.get(url), 403, "enrollment_expired")
    assert selectors.enrollment_state(user_id=student.id, course_id=course["id"]) == "expired"
    assert selectors.enrollment_is_active(user_id=student.id, course_id=course["id"]) is False


@pytest.mark.django_db
def test_enrolling_again_reads_the_cached_course_and_follows_catalog_writes_at_once(
    client_for,
    student,
    instructor,
    make_course,
    mongo_commands,
    django_assert_num_queries,
    django_capture_on_commit_callbacks,
):
    """The repeat call (the usual one) is one Redis MGET and one indexed read: no MongoDB, no write. The
    cached course is kept under the catalog generation, so a policy change or an unpublish is seen by the
    very next call."""
    course = make_course(instructor, lessons=1, publish=True)
    client, url = client_for(student), f"{COURSES}{course['id']}/enroll"
    with django_capture_on_commit_callbacks(execute=True):  # the enrollment answer is cached on commit
        first = client.post(url)
    assert first.status_code == 201

    with django_assert_num_queries(1), mongo_commands.recording() as commands:
        again = client.post(url)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert commands == []
    assert Enrollment.objects.filter(user=student, course_id=course["id"]).count() == 1

    # The policy changes: an active enrollment still answers 200; a newcomer is refused.
    services.course_update(course=stored(course), fields={"enrollment": "invite_only"})
    assert client.post(url).status_code == 200
    # Unpublished (a draft is invisible to learners): 404 at once, although the learner is enrolled.
    services.course_unpublish(course=stored(course))
    assert_error(client.post(url), 404, "not_found")
    assert Enrollment.objects.get(user=student, course_id=course["id"]).status == EnrollmentStatus.ACTIVE


@pytest.mark.django_db
def test_a_stale_enrollment_answer_in_the_cache_falls_back_to_the_full_path(
    client_for, student, instructor, make_course, django_capture_on_commit_callbacks
):
    course = make_course(instructor, lessons=1, publish=True)
    client, url = client_for(student), f"{COURSES}{course['id']}/enroll"
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 201
    # The row was cancelled behind the cache's back (e.g. Redis missed the change): not "already enrolled".
    Enrollment.objects.filter(user=student).update(status=EnrollmentStatus.CANCELLED)
    assert catalog_cache.enrollment_cached(user_id=student.pk, course_id=course["id"]) == "active"

    response = client.post(url)

    assert response.status_code == 201  # reactivated by the full path
    assert Enrollment.objects.get(user=student).status == EnrollmentStatus.ACTIVE
