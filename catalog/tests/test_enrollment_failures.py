"""Enrollment failure paths answer a documented error, never a 500."""

from unittest import mock

import pytest
from django.db import IntegrityError

from catalog.models import Enrollment
from catalog.tests.helpers import assert_error

COURSES = "/api/v1/courses/"


@pytest.mark.django_db
def test_enroll_refused_by_another_constraint_is_409_not_500(client_for, student, instructor, make_course):
    course = make_course(instructor, lessons=1, publish=True)
    with mock.patch.object(Enrollment.objects, "get_or_create", side_effect=IntegrityError("fk")):
        response = client_for(student).post(f"{COURSES}{course['id']}/enroll")

    assert_error(response, 409)
    assert not Enrollment.objects.filter(user=student, course_id=course["id"]).exists()
