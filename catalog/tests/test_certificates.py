"""Certificates: issued exactly once on the last completion (also under concurrent completions, threads
on real PostgreSQL), listed, publicly verifiable without personal ids, rendered as a PDF."""

import threading

import pytest
from django.db import connection

from catalog import services
from catalog.models import Certificate
from catalog.tests.helpers import assert_error
from learnstream.permissions import Actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(instructor, make_course):
    return make_course(instructor, title="Django from Zero", durations=[100.0, 200.0], publish=True)


def _complete(user, lesson_id):
    return services.progress_complete(actor=Actor.of(user), lesson_id=lesson_id)


def test_issued_once_on_the_last_lesson_and_listed(client_for, student, course, enroll):
    enroll(student, course)
    first, second = course["lesson_ids"]

    _complete(student, first)
    assert Certificate.objects.count() == 0
    _complete(student, second)
    _complete(student, second)  # idempotent completion: still one certificate

    cert = Certificate.objects.get()
    assert (cert.user_id, cert.course_id, cert.course_title) == (student.id, course["id"], "Django from Zero")
    assert len(cert.code) >= 22
    client = client_for(student)
    mine = client.get("/api/v1/me/certificates/").json()
    assert mine["count"] == 1
    assert mine["results"] == [
        {
            "id": str(cert.id),
            "code": cert.code,
            "course_id": course["id"],
            "course_title": "Django from Zero",
            "learner_name": student.name,
            "instructor_name": cert.instructor_name,
            "issued_at": mine["results"][0]["issued_at"],
        }
    ]
    progress = client.get("/api/v1/me/progress").json()["results"]
    assert [(r["course_id"], r["certificate_code"]) for r in progress] == [(course["id"], cert.code)]


def test_public_verification_shows_no_email_or_user_id(api_client, student, instructor, course, enroll):
    enroll(student, course)
    for lesson_id in course["lesson_ids"]:
        _complete(student, lesson_id)
    cert = Certificate.objects.get()

    body = api_client.get(f"/api/v1/certificates/{cert.code}").json()

    assert set(body) == {
        "id",
        "code",
        "course_id",
        "course_title",
        "learner_name",
        "instructor_name",
        "issued_at",
    }
    assert (body["learner_name"], body["instructor_name"]) == (student.name, instructor.name)
    assert student.email not in str(body)
    assert str(student.id) not in [str(v) for v in body.values()]
    assert_error(api_client.get("/api/v1/certificates/not-a-real-code"), 404, "not_found")
    assert_error(api_client.get(f"/api/v1/certificates/{'x' * 200}"), 404, "not_found")


def test_pdf_carries_the_names_date_and_verification_url(api_client, student, instructor, course, enroll):
    enroll(student, course)
    for lesson_id in course["lesson_ids"]:
        _complete(student, lesson_id)
    cert = Certificate.objects.get()

    response = api_client.get(f"/api/v1/certificates/{cert.code}/pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF-")
    for text in (student.name, "Django from Zero", instructor.name, cert.issued_at.date().isoformat()):
        assert text.encode() in pdf, text
    assert f"http://testserver/api/v1/certificates/{cert.code}".encode() in pdf
    # The QR code: its dark modules are drawn as rectangles (the page frame is one more).
    assert pdf.count(b" re") > 100
    assert_error(api_client.get("/api/v1/certificates/nope/pdf"), 404, "not_found")


def test_no_certificate_for_previews_or_unenrolled_or_partial(
    client_for, instructor, student, course, enroll
):
    for lesson_id in course["lesson_ids"]:
        _complete(instructor, lesson_id)  # the owner's preview progress
    enroll(student, course)
    _complete(student, course["lesson_ids"][0])

    assert Certificate.objects.count() == 0
    assert client_for(student).get("/api/v1/me/certificates/").json() == {
        "count": 0, "next": None, "previous": None, "results": [],
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_concurrent_last_completions_issue_exactly_one(make_user, instructor, make_course):
    """Each learner completes both lessons at the same moment from two threads: whichever write lands
    second sees both completions, and the unique constraint keeps it to one certificate."""
    course = make_course(instructor, durations=[100.0, 100.0], publish=True)
    learners = [make_user("student") for _ in range(6)]
    for learner in learners:
        services.enrollment_create(actor=Actor.of(learner), course_id=course["id"])
    errors: list[BaseException] = []

    def run(learner, lesson_id, barrier):
        try:
            barrier.wait(timeout=30)
            _complete(learner, lesson_id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    for learner in learners:
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=run, args=(learner, lid, barrier)) for lid in course["lesson_ids"]]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)

    assert errors == []
    rows = list(Certificate.objects.filter(course_id=course["id"]).values_list("user_id", flat=True))
    assert sorted(rows) == sorted(learner.id for learner in learners)
