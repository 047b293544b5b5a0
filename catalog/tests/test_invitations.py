"""Course invitations: staff enrollment invites unknown addresses (hashed token, a real mail through the
loopback SMTP server); registering with the address or following the link enrolls; bad, used,
superseded and expired tokens are 400 `invalid_token` with nothing written."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from accounts.onetime import token_digest
from catalog import selectors, services
from catalog.models import Enrollment, EnrollmentStatus, Invitation
from catalog.tests.helpers import assert_error
from learnstream.models import OutgoingMail

COURSES = "/api/v1/courses/"
ACCEPT = "/api/v1/invitations/accept"


@pytest.fixture
def course(make_course, instructor):
    return make_course(instructor, lessons=1, publish=True)


@pytest.fixture
def invite(client_for, instructor, django_capture_on_commit_callbacks, mailbox):
    """Staff-enroll `email` into `course` through the API and return the token mailed to it."""

    def do(course, email: str) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(instructor).post(
                f"{COURSES}{course['id']}/enrollments/", {"emails": [email]}, format="json"
            )
        assert response.json()["invited"] == [email], response.json()
        return mailbox.to(email)[-1].token()

    return do


def register(api_client, email: str):
    return api_client.post(
        "/api/v1/auth/register", {"email": email, "password": "a-Very-long-passphrase-1", "name": "Newbie"}
    )


def test_unknown_address_is_invited_with_a_hashed_token_and_a_real_mail(invite, course, mailbox, instructor):
    token = invite(course, "newbie@example.com")

    [message] = mailbox.to("newbie@example.com")
    assert message.subject == f"You are invited to {course['title']}"
    assert "Ins Tructor invited newbie@example.com" in message.text
    assert message.links()[0].startswith("http")
    assert "/invitations/accept?token=" in message.links()[0]
    assert "Join the course" in message.html
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.course_id, invitation.invited_by_id) == (
        "newbie@example.com",
        course["id"],
        instructor.id,
    )
    assert invitation.digest == token_digest(token)
    assert token not in invitation.digest
    assert invitation.accepted_at is None
    assert Enrollment.objects.count() == 0


def test_registering_with_the_invited_address_enrolls(invite, course, api_client, make_course, instructor):
    other = make_course(instructor, lessons=1, publish=True)
    invite(course, "newbie@example.com")
    invite(other, "newbie@example.com")
    services.course_update(course=selectors.course_get(course_id=other["id"]), fields={"capacity": 0})

    response = register(api_client, "NewBie@Example.com")

    assert response.status_code == 201
    user = User.objects.get(email="newbie@example.com")
    assert list(Enrollment.objects.values_list("user_id", "course_id", "status")) == [
        (user.id, course["id"], EnrollmentStatus.ACTIVE)
    ]
    assert selectors.enrollment_is_active(user_id=user.id, course_id=course["id"]) is True
    accepted = Invitation.objects.get(course_id=course["id"])
    assert (accepted.accepted_by_id, accepted.accepted_at is not None) == (user.id, True)
    # The full course keeps its invitation pending: registration still succeeded.
    assert Invitation.objects.get(course_id=other["id"]).accepted_at is None


def test_following_the_link_enrolls_the_signed_in_user_once(
    invite, course, client_for, student, other_student
):
    services.course_update(course=course, fields={"enrollment": "invite_only", "access_days": 7})
    token = invite(selectors.course_get(course_id=course["id"]), "someone@example.com")

    response = client_for(student).post(ACCEPT, {"token": token}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["course_id"], body["course_title"], body["status"]) == (
        course["id"],
        course["title"],
        "active",
    )
    enrollment = Enrollment.objects.get(user=student)
    assert enrollment.expires_at == enrollment.created_at + timedelta(days=7)
    assert Invitation.objects.get().accepted_by_id == student.id
    # Used: a second use, by anyone, is refused and writes nothing.
    assert_error(
        client_for(other_student).post(ACCEPT, {"token": token}, format="json"), 400, "invalid_token"
    )
    assert Enrollment.objects.count() == 1


def test_bad_expired_and_superseded_tokens_are_invalid(invite, course, client_for, student, api_client):
    first = invite(course, "someone@example.com")
    second = invite(course, "someone@example.com")  # a new invitation supersedes the first link
    client = client_for(student)

    assert_error(client.post(ACCEPT, {"token": first}, format="json"), 400, "invalid_token")
    assert_error(client.post(ACCEPT, {"token": "forged-" + second[7:]}, format="json"), 400, "invalid_token")
    assert_error(client.post(ACCEPT, {"token": ""}, format="json"), 400, "validation_error")
    assert_error(client.post(ACCEPT, {"token": "x" * 129}, format="json"), 400, "validation_error")
    assert_error(api_client.post(ACCEPT, {"token": second}, format="json"), 401)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(client.post(ACCEPT, {"token": second}, format="json"), 400, "invalid_token")
    assert Invitation.objects.count() == 1
    assert Enrollment.objects.count() == 0
    # An expired invitation does not enroll at registration either.
    assert register(api_client, "someone@example.com").status_code == 201
    assert Enrollment.objects.count() == 0


def test_a_full_course_refuses_the_link_and_keeps_the_invitation(
    invite, course, client_for, student, make_user
):
    token = invite(course, "someone@example.com")
    seated = make_user()
    services.course_update(course=course, fields={"capacity": 0})

    assert_error(client_for(student).post(ACCEPT, {"token": token}, format="json"), 409, "course_full")
    assert Enrollment.objects.count() == 0
    assert Invitation.objects.get().accepted_at is None

    services.course_update(course=selectors.course_get(course_id=course["id"]), fields={"capacity": 1})
    assert client_for(student).post(ACCEPT, {"token": token}, format="json").status_code == 200
    assert list(Enrollment.objects.values_list("user_id", flat=True)) == [student.id]
    assert seated.id != student.id


def test_a_thousand_invitations_in_one_roster(client_for, instructor, course, capsys):
    """Each unknown address costs one invitation row (bulk) and one outbox row with its rendered mail;
    1 000 of them stay far within the request timeout (figure printed for the report)."""
    emails = [f"invitee{n}@example.com" for n in range(1000)]

    started = time.perf_counter()
    response = client_for(instructor).post(
        f"{COURSES}{course['id']}/enrollments/", {"emails": emails}, format="json"
    )
    elapsed = time.perf_counter() - started

    assert response.json()["invited"] == emails
    assert Invitation.objects.filter(course_id=course["id"]).count() == 1000
    assert OutgoingMail.objects.filter(template="course_invitation").count() == 1000
    assert elapsed < 15.0, elapsed
    with capsys.disabled():
        print(f"\ninvitations: 1 000 unknown addresses in {elapsed:.2f} s")


def test_more_than_2000_invitations_in_one_roster_is_400_and_nothing_is_written(
    client_for, instructor, course, make_user
):
    known = make_user()
    emails = [known.email, *[f"invitee{n}@example.com" for n in range(2001)]]
    url = f"{COURSES}{course['id']}/enrollments/"

    error = assert_error(
        client_for(instructor).post(url, {"emails": emails}, format="json"), 400, "validation_error"
    )

    assert error["details"] == {
        "emails": ["2001 addresses have no account; at most 2000 invitations per request. Split the roster."]
    }
    assert (Invitation.objects.count(), Enrollment.objects.count(), OutgoingMail.objects.count()) == (0, 0, 0)
