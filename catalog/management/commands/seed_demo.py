"""`manage.py seed_demo`: demo users, a published paid course with lessons, one learner with progress.

The demo course has a price, so it can be bought end to end (with `make run`, against the local Stripe
emulator): the first student got it complimentary (granted), the second can buy it.

Idempotent: users, courses, enrollments and progress are found or created, never duplicated. Passwords
are generated on first creation and printed once; they are stored nowhere but the password hash, and a
re-run neither shows nor resets them. One function per step.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, OutputWrapper
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from catalog import cache as catalog_cache
from catalog import selectors, services
from catalog.models import Enrollment
from catalog.types import Course, Price
from catalog.video.demo import seed_demo_video
from learnstream.errors import ApplicationError
from learnstream.permissions import Actor

DEMO_COURSE_SLUG = "django-from-zero"
DRAFT_COURSE_SLUG = "mongodb-patterns-draft"
DEMO_PRICE: Price = {"amount": 1900, "currency": "usd"}

DEMO_USERS = (
    ("admin@learnstream.local", "Ada Admin", Role.ADMIN),
    ("instructor@learnstream.local", "Ian Instructor", Role.INSTRUCTOR),
    ("student@learnstream.local", "Sam Student", Role.STUDENT),
    ("student2@learnstream.local", "Sasha Student", Role.STUDENT),
    ("student3@learnstream.local", "Cara Complete", Role.STUDENT),
)

DEMO_LESSONS = (
    ("Welcome and setup", "Install Python, create a virtualenv and a Django project.", 312.0, True),
    ("Models and migrations", "Describe data with models; evolve it with migrations.", 545.0, False),
    ("Views and URLs", "Map URLs to views and return responses.", 780.0, False),
    ("Templates", "Render HTML with the template language.", 421.0, False),
    ("Testing your app", "pytest-django, fixtures and the test client.", 655.0, False),
)


@dataclass
class DemoUsers:
    admin: User
    instructor: User
    student: User
    student2: User
    student3: User


def seed_users(out: OutputWrapper) -> DemoUsers:
    users: list[User] = []
    for email, name, role in DEMO_USERS:
        user = User.objects.filter(email=email).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_user(
                email=email, password=password, name=name, role=role, email_verified=True
            )
            out.write(f"  created {role:<10} {email}  password: {password}")
        else:
            out.write(f"  exists  {user.role:<10} {email}  (password unchanged, not shown)")
        users.append(user)
    return DemoUsers(*users)


def seed_courses(out: OutputWrapper, *, instructor: User) -> Course:
    """The published demo course with its lessons, plus one draft (visible to its instructor only)."""
    course = selectors.course_get_by_slug(slug=DEMO_COURSE_SLUG)
    if course is None:
        course = services.course_create(
            owner_id=instructor.pk,
            title="Django from Zero",
            slug=DEMO_COURSE_SLUG,
            description="Build and test a small Django application, one short lesson at a time.",
            tags=["python", "django", "web"],
            level="beginner",
            price=DEMO_PRICE,
        )
        out.write(f"  created course {DEMO_COURSE_SLUG} ({course['id']}), price 19.00 USD")
    else:
        out.write(f"  exists  course {DEMO_COURSE_SLUG} ({course['id']})")
    if course["price"] is None:  # seeded before courses had prices
        course = services.course_update(course=course, fields={"price": DEMO_PRICE})
        out.write("  priced 19.00 USD")
    if not course["lesson_ids"]:
        for title, description, duration, preview in DEMO_LESSONS:
            services.lesson_create(
                course=course, title=title, description=description, duration=duration, is_preview=preview
            )
            course = selectors.course_get(course_id=course["id"]) or course
        out.write(f"  added {len(DEMO_LESSONS)} lessons")
    if course["status"] == "draft":
        course = services.course_publish(course=course)
        out.write("  published")
    if selectors.course_get_by_slug(slug=DRAFT_COURSE_SLUG) is None:
        services.course_create(
            owner_id=instructor.pk,
            title="MongoDB Patterns (draft)",
            slug=DRAFT_COURSE_SLUG,
            description="Work in progress: only its instructor and admins can see it.",
            tags=["mongodb"],
            level="intermediate",
        )
        out.write(f"  created course {DRAFT_COURSE_SLUG} (draft)")
    return course


DEMO_SECTIONS = (("Getting started", 2), ("Building the app", 3))  # (title, how many lessons, in order)
DEMO_DRIP_DAYS = 7  # the last lesson opens a week after enrolling


def seed_structure(out: OutputWrapper, *, course: Course) -> Course:
    """Sections over the demo course's lessons, and a drip on its last lesson (once)."""
    if course["sections"]:
        out.write("  exists  sections")
        return course
    order = list(course["lesson_ids"])
    placement: dict[str, str | None] = {}
    for title, count in DEMO_SECTIONS:
        course, section = services.section_create(course=course, title=title)
        placement.update({lesson_id: section["id"] for lesson_id in order[:count]})
        order = order[count:]
    course = services.lesson_reorder(course=course, lesson_ids=course["lesson_ids"], placement=placement)
    last = course["lesson_ids"][-1]
    lesson = selectors.lesson_get(lesson_id=last)
    if lesson is not None:
        services.lesson_update(lesson=lesson, course=course, fields={"available_after_days": DEMO_DRIP_DAYS})
    out.write(
        f"  added sections {', '.join(t for t, _n in DEMO_SECTIONS)}; "
        f"last lesson opens {DEMO_DRIP_DAYS} days after enrolling"
    )
    return selectors.course_get(course_id=course["id"]) or course


def seed_learning(out: OutputWrapper, *, student: User, course: Course) -> None:
    """The first student is enrolled (a complimentary grant: the course is paid), finished lesson 1 and is
    halfway through lesson 2."""
    with transaction.atomic():
        services.enrollment_grant(user_id=student.pk, course_id=course["id"])
    first, second = course["lesson_ids"][:2]
    # Before any lesson has a video (seed_video runs later), so completing needs no watched coverage.
    services.progress_record(actor=Actor.of(student), lesson_id=first, position=DEMO_LESSONS[0][2])
    services.progress_complete(actor=Actor.of(student), lesson_id=first)
    services.progress_record(actor=Actor.of(student), lesson_id=second, position=DEMO_LESSONS[1][2] / 2)
    out.write(f"  {student.email} enrolled, lesson 1 completed, lesson 2 at 50 %")


def seed_certificate_ready(out: OutputWrapper, *, learner: User, course: Course) -> None:
    """The third student is one lesson away from a certificate: enrolled (complimentary) long enough ago
    that the drip lesson is open, every lesson but the last completed. Completing the last one (it has no
    video: `POST lessons/{id}/complete`) issues the certificate. Done once, on the first seed."""
    if Enrollment.objects.filter(user_id=learner.pk, course_id=course["id"]).exists():
        out.write(f"  exists  {learner.email} enrollment")
        return
    started = timezone.now() - timedelta(days=DEMO_DRIP_DAYS + 1)
    with transaction.atomic():
        services.enrollment_grant(user_id=learner.pk, course_id=course["id"])
        # Backdated so the drip lesson is open: the demo shows a certificate, not a week's wait.
        Enrollment.objects.filter(user_id=learner.pk, course_id=course["id"]).update(created_at=started)
        catalog_cache.enrollment_changed(
            user_id=learner.pk, course_id=course["id"], active=True, started_at=started
        )
    *done, last = course["lesson_ids"]
    # Before any lesson has a video (seed_video runs later), so completing needs no watched coverage.
    for lesson_id in done:
        services.progress_complete(actor=Actor.of(learner), lesson_id=lesson_id)
    out.write(
        f"  {learner.email} enrolled, {len(done)} of {len(done) + 1} lessons completed: completing "
        f"lesson {last} issues a certificate"
    )


def seed_video(out: OutputWrapper, *, course: Course) -> None:
    """With the local Mux emulator, the preview lesson gets a real (tiny) video through the real flow:
    direct upload, PUT of the bytes, signed webhooks back to the app. Skipped against real Mux."""
    if not settings.MUX_API_BASE_URL.startswith(("http://127.0.0.1", "http://localhost")):
        out.write("  Mux is real: upload your own videos (README → Video walk-through)")
        return
    lesson_id = course["lesson_ids"][0]
    try:
        ticket = seed_demo_video(lesson_id=lesson_id)
    except ApplicationError as exc:
        out.write(f"  demo video skipped: {exc.message} (is the Mux emulator running?)")
        return
    if ticket is None:
        out.write("  exists  demo video on lesson 1")
    else:
        out.write(f"  uploaded demo video for lesson 1 ({lesson_id}); it becomes ready via webhooks")


class Command(BaseCommand):
    help = "Create demo users, a published course with lessons and a learner with progress (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("Seeding demo data")
        users = seed_users(self.stdout)
        course = seed_courses(self.stdout, instructor=users.instructor)
        course = seed_structure(self.stdout, course=course)
        seed_learning(self.stdout, student=users.student, course=course)
        seed_certificate_ready(self.stdout, learner=users.student3, course=course)
        seed_video(self.stdout, course=course)
        self.stdout.write(
            self.style.SUCCESS("Demo data ready. Passwords are printed only when users are created.")
        )
