"""Enrollments in the Django admin: course titles from MongoDB in one batch, course/user filters."""

import pytest

from catalog import services
from learnstream.permissions import Actor
from tests.admin.builders import course_with_lessons
from tests.support.roundtrips import command_recorder

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/catalog/enrollment/"


def _rows(response):
    return [(e.user.email, e._admin_course_title) for e in response.context["cl"].result_list]


@pytest.fixture
def catalog(instructor, student, other_student):
    python, _ = course_with_lessons(instructor, title="Python", lessons=["L1"], publish=True)
    django, _ = course_with_lessons(instructor, title="Django", lessons=["L1"], publish=True)
    services.enrollment_create(actor=Actor.of(student), course_id=python["id"])
    services.enrollment_create(actor=Actor.of(student), course_id=django["id"])
    services.enrollment_create(actor=Actor.of(other_student), course_id=python["id"])
    return {"python": python, "django": django}


def test_changelist_resolves_course_titles_with_one_mongodb_query(admin_web, catalog, student, other_student):
    recorder = command_recorder()
    with recorder.recording() as commands:
        response = admin_web.get(CHANGELIST)

    assert response.status_code == 200
    assert _rows(response) == [
        (other_student.email, "Python"),
        (student.email, "Django"),
        (student.email, "Python"),
    ]
    assert commands == [("find", "courses")]
    html = response.content.decode()
    assert f'href="?course={catalog["python"]["id"]}"' in html
    assert f'href="/admin/catalog/courses/{catalog["python"]["id"]}/"' in html


def test_filter_by_course_and_by_user(admin_web, catalog, student, other_student):
    response = admin_web.get(CHANGELIST, {"course": catalog["python"]["id"]})
    assert _rows(response) == [(other_student.email, "Python"), (student.email, "Python")]
    assert "Python" in response.content.decode()  # the active course filter is labelled by its title

    response = admin_web.get(CHANGELIST, {"user": str(student.id)})
    assert _rows(response) == [(student.email, "Django"), (student.email, "Python")]

    response = admin_web.get(CHANGELIST, {"user": "nope"})
    assert _rows(response) == []


def test_search_by_email_or_exact_course_id(admin_web, catalog, student, other_student):
    response = admin_web.get(CHANGELIST, {"q": other_student.email})
    assert _rows(response) == [(other_student.email, "Python")]
    response = admin_web.get(CHANGELIST, {"q": catalog["django"]["id"]})
    assert _rows(response) == [(student.email, "Django")]


def test_enrollments_are_read_only_in_the_admin(admin_web, catalog):
    from catalog.models import Enrollment

    enrollment = Enrollment.objects.order_by("id").first()
    page = admin_web.get(f"{CHANGELIST}{enrollment.pk}/change/")
    assert page.status_code == 200
    assert "Python" in page.content.decode()  # the detail shows the course title too
    assert admin_web.post(f"{CHANGELIST}{enrollment.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_web.get(f"{CHANGELIST}add/").status_code == 403
    assert Enrollment.objects.count() == 3


def test_changelist_survives_mongodb_down(admin_web, catalog, mongo_down, student):
    response = admin_web.get(CHANGELIST)
    assert response.status_code == 200
    assert {title for _email, title in _rows(response)} == {"(course title unavailable)"}


@pytest.mark.parametrize("value", ["²", "9" * 30])
def test_an_odd_user_filter_matches_nothing_instead_of_a_500(admin_web, catalog, value):
    response = admin_web.get(CHANGELIST, {"user": value})
    assert response.status_code == 200
    assert _rows(response) == []
