"""Certificates: issued exactly once when an enrolled learner has completed every lesson of a course."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from catalog.models import Certificate, Enrollment, EnrollmentStatus
from catalog.repositories.progress import ProgressRepository
from catalog.selectors.courses import course_get


def certificate_issue_if_complete(*, user_id: int, course_id: str) -> Certificate | None:
    """Called after a lesson completion: if the learner is actively enrolled and has now completed every
    lesson of the course, the course's certificate (issued now, or the one issued before). Two last
    lessons completing concurrently both see the other's completion here (each counts after its own
    write), and the unique (user, course) constraint lets exactly one insert win."""
    course = course_get(course_id=course_id)
    if course is None or not course["lesson_ids"]:
        return None
    done = ProgressRepository().count_completed(
        user_id=user_id, course_id=course_id, lesson_ids=course["lesson_ids"]
    )
    if done < len(course["lesson_ids"]):
        return None
    existing = Certificate.objects.filter(user_id=user_id, course_id=course_id).first()
    if existing is not None:
        return existing
    if not Enrollment.objects.filter(
        user_id=user_id, course_id=course_id, status=EnrollmentStatus.ACTIVE
    ).exists():
        return None
    users = get_user_model().objects.in_bulk([user_id, course["owner_id"]])
    learner, instructor = users.get(user_id), users.get(course["owner_id"])
    if learner is None:
        return None
    try:
        with transaction.atomic():
            return Certificate.objects.create(
                user_id=user_id,
                course_id=course_id,
                course_title=course["title"],
                learner_name=getattr(learner, "name", "") or "",
                instructor_name=(getattr(instructor, "name", "") or "") if instructor else "",
            )
    except IntegrityError:  # the concurrent completion issued it first
        return Certificate.objects.filter(user_id=user_id, course_id=course_id).first()
