"""`mongo_indexes` and `seed_demo` management commands."""

import io
import re

import pytest
from django.core.management import call_command

from accounts.models import User
from catalog import selectors
from catalog.indexes import ensure_indexes
from catalog.models import Certificate, Enrollment
from catalog.repositories.base import collection

pytestmark = pytest.mark.django_db


def _run(name: str) -> str:
    out = io.StringIO()
    call_command(name, stdout=out)
    return out.getvalue()


def test_mongo_indexes_is_idempotent_and_declares_the_expected_indexes():
    first = _run("mongo_indexes")
    second = _run("mongo_indexes")

    assert first == second
    courses = collection("courses").index_information()
    assert courses["slug_unique"]["unique"] is True
    assert courses["status_published_at_created_at_id"]["key"] == [
        ("status", 1), ("published_at", -1), ("created_at", -1), ("_id", -1),
    ]  # fmt: skip
    assert courses["status_created_at_id"]["key"] == [("status", 1), ("created_at", -1), ("_id", -1)]
    assert courses["status_title_sort_id"]["key"] == [("status", 1), ("title_sort", 1), ("_id", 1)]
    assert not {"status_published_at", "status_created_at", "status_title"} & set(courses)
    assert courses["owner_created_at"]["key"] == [("owner_id", 1), ("created_at", -1)]
    assert courses["tags"]["key"] == [("tags", 1)]
    assert collection("lessons").index_information()["course_created_at"]["key"] == [
        ("course_id", 1),
        ("created_at", 1),
    ]
    progress = collection("progress").index_information()
    assert progress["user_lesson_unique"]["unique"] is True
    assert progress["course_user"]["key"] == [("course_id", 1), ("user_id", 1)]
    assert progress["course_updated_at"]["key"] == [("course_id", 1), ("updated_at", -1)]
    assert "progress.user_lesson_unique" in ensure_indexes()


def test_seed_demo_creates_everything_once_and_prints_passwords_once():
    first = _run("seed_demo")
    second = _run("seed_demo")

    passwords = dict(re.findall(r"created \w+\s+(\S+@learnstream\.local)\s+password: (\S+)", first))
    assert set(passwords) == {
        "admin@learnstream.local", "instructor@learnstream.local", "student@learnstream.local",
        "student2@learnstream.local", "student3@learnstream.local",
    }  # fmt: skip
    for email, password in passwords.items():
        user = User.objects.get(email=email)
        assert user.check_password(password)
        assert password not in second
    assert "password:" not in second
    assert second.count("password unchanged") == 5
    assert User.objects.get(email="admin@learnstream.local").role == "admin"
    assert User.objects.get(email="instructor@learnstream.local").role == "instructor"

    course = selectors.course_get_by_slug(slug="django-from-zero")
    assert course["status"] == "published"
    assert len(course["lesson_ids"]) == 5
    assert collection("courses").count_documents({}) == 2
    assert collection("lessons").count_documents({}) == 5
    student = User.objects.get(email="student@learnstream.local")
    assert list(Enrollment.objects.filter(user=student).values_list("user_id", "course_id")) == [
        (student.id, course["id"])
    ]
    progress = selectors.course_progress_get(user_id=student.id, course=course)
    assert (progress["completed_lessons"], progress["percent"], progress["last_lesson_id"]) == (
        1, 20.0, course["lesson_ids"][1],
    )  # fmt: skip
    assert collection("progress").count_documents({"user_id": student.id}) == 2


def test_seed_demo_course_has_sections_and_a_drip_lesson():
    _run("seed_demo")
    second = _run("seed_demo")

    course = selectors.course_get_by_slug(slug="django-from-zero")
    assert [(s["title"], len(s["lesson_ids"])) for s in course["sections"]] == [
        ("Getting started", 2),
        ("Building the app", 3),
    ]
    assert selectors.lesson_get(lesson_id=course["lesson_ids"][-1])["available_after_days"] == 7
    assert "exists  sections" in second


def test_seed_demo_has_a_learner_one_lesson_from_a_certificate(client_for):
    _run("seed_demo")
    second = _run("seed_demo")

    course = selectors.course_get_by_slug(slug="django-from-zero")
    cara = User.objects.get(email="student3@learnstream.local")
    progress = selectors.course_progress_get(user_id=cara.id, course=course)
    assert (progress["completed_lessons"], progress["lesson_count"]) == (4, 5)
    assert not Certificate.objects.exists()
    assert "exists  student3@learnstream.local enrollment" in second

    last = course["lesson_ids"][-1]
    completed = client_for(cara).post(f"/api/v1/lessons/{last}/complete")

    assert completed.status_code == 200, completed.content
    certificate = Certificate.objects.get()
    assert (certificate.user_id, certificate.course_id) == (cara.id, course["id"])
    mine = client_for(cara).get("/api/v1/me/certificates/").json()
    assert [c["course_title"] for c in mine["results"]] == ["Django from Zero"]
