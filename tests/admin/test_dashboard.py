"""The admin index dashboard: analytics overview figures and webhook inbox health."""

import pytest

from catalog import services
from learnstream.dashboard import Block, Figure
from learnstream.permissions import Actor
from tests.admin.builders import course_with_lessons, current
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def _inbox(status: str, n: int) -> None:
    for i in range(n):
        WebhookEvent.objects.create(
            event_id=f"{status}-{i}", type="video.asset.ready", raw_body="{}", payload={}, status=status
        )


def test_anonymous_is_sent_to_the_admin_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"


@pytest.mark.parametrize("role", ["student", "instructor"])
def test_non_admins_cannot_see_the_dashboard(login, make_user, role):
    response = login(make_user(role)).get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_dashboard_shows_the_overview_figures(admin_web, student, other_student, instructor):
    published, lessons = course_with_lessons(instructor, title="Published", lessons=["L1"], publish=True)
    course_with_lessons(instructor, title="Draft")
    archived, _ = course_with_lessons(instructor, title="Gone")
    services.course_archive(course=archived)
    services.enrollment_create(actor=Actor.of(student), course_id=published["id"])
    services.progress_record(actor=Actor.of(student), lesson_id=lessons[0]["id"], position=10.0)

    response = admin_web.get("/admin/")

    assert response.status_code == 200
    assert response.context["overview_blocks"] == [
        Block(
            title="Users by role",
            figures=[Figure("Student", 2), Figure("Instructor", 1), Figure("Admin", 1)],
        ),
        Block(
            title="Courses by status",
            figures=[Figure("Draft", 1), Figure("Published", 1), Figure("Archived", 1)],
        ),
        Block(title="Totals", figures=[Figure("Enrollments", 1), Figure("Lessons watched (last 7 days)", 1)]),
    ]
    html = response.content.decode()
    assert "Lessons watched (last 7 days)" in html
    assert current(published)["status"] == "published"


def test_dashboard_counts_webhook_events_by_status_and_flags_failures(admin_web):
    _inbox("failed", 2)
    _inbox("pending", 1)
    _inbox("processed", 3)

    response = admin_web.get("/admin/")

    changelist = "/admin/webhooks/webhookevent/"
    assert response.context["webhook_block"] == Block(
        title="Mux webhook inbox",
        figures=[
            Figure("Failed", 2, url=f"{changelist}?status__exact=failed", alert=True),
            Figure("Pending", 1, url=f"{changelist}?status__exact=pending"),
            Figure("Processed", 3, url=f"{changelist}?status__exact=processed"),
        ],
    )
    assert f'href="{changelist}?status__exact=failed"' in response.content.decode()


def test_dashboard_without_failures_raises_no_alert(admin_web):
    _inbox("processed", 1)
    block = admin_web.get("/admin/").context["webhook_block"]
    assert [f.alert for f in block.figures] == [False, False, False]


def test_dashboard_links_the_mongodb_catalog_pages(admin_web):
    response = admin_web.get("/admin/")
    assert [(f.label, f.url) for f in response.context["catalog_links"]] == [
        ("Courses", "/admin/catalog/courses/"),
        ("Lessons", "/admin/catalog/lessons/"),
    ]


def test_dashboard_still_renders_when_mongodb_is_down(admin_web, mongo_down):
    _inbox("failed", 1)

    response = admin_web.get("/admin/")

    assert response.status_code == 200
    assert response.context["overview_blocks"] == [
        Block(title="Platform overview", error="Unavailable: a data store is not answering.")
    ]
    assert response.context["webhook_block"].figures[0] == Figure(
        "Failed", 1, url="/admin/webhooks/webhookevent/?status__exact=failed", alert=True
    )
    assert "Unavailable: a data store is not answering." in response.content.decode()
