"""Account self-service by email, end to end through the API: the mail goes through the outbox and the
delivery task to a real SMTP server on loopback (tests/support/smtp.py), and each test takes the token
from the link in the delivered message, as a person would."""

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from freezegun import freeze_time
from rest_framework.test import APIClient

from accounts.models import OneTimeToken, User
from accounts.tests.conftest import ME, REFRESH, TOKEN, assert_error, bearer
from accounts.tests.conftest import PASSWORD as PASSWORD_URL
from accounts.tests.test_session_revocation import session_for
from accounts.tokens import issue_token_pair
from learnstream.models import OutgoingMail
from tests.support.tasks import run_db_worker_once

pytestmark = pytest.mark.django_db

RESET = "/api/v1/auth/password/reset"
RESET_CONFIRM = "/api/v1/auth/password/reset/confirm"
VERIFY = "/api/v1/auth/email/verify"
RESEND = "/api/v1/auth/email/verify/resend"
CHANGE = "/api/v1/auth/me/email"
CHANGE_CONFIRM = "/api/v1/auth/me/email/confirm"
REGISTER = "/api/v1/auth/register"
PASSWORD = "a-Very-long-passphrase-1"  # make_user's
NEW_PASSWORD = "a-Brand-new-passphrase-7"


@pytest.fixture
def post(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """POST as JSON and run what the request queued for after its commit (the delivery task), as
    the immediate task backend does outside the test's wrapping transaction."""

    def do(
        url: str, body: dict[str, Any] | None = None, client: APIClient | None = None, **extra: Any
    ) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return (client or APIClient()).post(url, body or {}, format="json", **extra)

    return do


@pytest.fixture
def hour_window():
    """The mail limits count per hour: start at the top of an hour so no test straddles a window."""
    with freeze_time(datetime.now(UTC).replace(minute=0, second=1, microsecond=0), tick=True):
        yield


def login(email: str, password: str) -> Any:
    return APIClient().post(TOKEN, {"email": email, "password": password}, format="json")


def nothing_written() -> None:
    assert OneTimeToken.objects.count() == 0
    assert OutgoingMail.objects.count() == 0


# --- password reset ---------------------------------------------------------------------------------


def test_password_reset_end_to_end_revokes_every_session(post, mailbox, student, settings):
    access, refresh = issue_token_pair(student)
    browser = session_for(student)

    response = post(RESET, {"email": student.email.upper()})

    assert response.status_code == 202
    assert response.content == b""
    [mail] = mailbox.messages
    assert mail.rcpt_tos == [student.email]
    assert mail.subject == "Reset your LearnStream password"
    assert mail.links()[0].startswith(f"{settings.FRONTEND_BASE_URL}/reset-password?token=")
    assert "expires in 60 minutes" in mail.text
    assert f'href="{settings.FRONTEND_BASE_URL}/reset-password?token={mail.token()}"' in mail.html
    assert bearer(access).get(ME).status_code == 200  # asking changes nothing yet

    confirmed = post(RESET_CONFIRM, {"token": mail.token(), "new_password": NEW_PASSWORD})

    assert confirmed.status_code == 204
    assert_error(bearer(access).get(ME), 401, "token_revoked")
    assert APIClient().post(REFRESH, {"refresh": refresh}, format="json").status_code == 401
    assert browser.get(ME).status_code == 401
    assert login(student.email, NEW_PASSWORD).status_code == 200
    assert login(student.email, PASSWORD).status_code == 401
    assert User.objects.get(pk=student.pk).email_verified is True  # the link proved the address
    again = post(RESET_CONFIRM, {"token": mail.token(), "new_password": "yet-Another-passphrase-8"})
    assert_error(again, 400, "invalid_token")
    assert login(student.email, NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize("case", ["unknown", "inactive", "unusable_password"])
def test_a_reset_for_no_usable_account_answers_the_same_and_sends_nothing(post, mailbox, make_user, case):
    email = "nobody@example.com"
    if case == "inactive":
        make_user(email=email, is_active=False)
    elif case == "unusable_password":
        user = make_user(email=email)
        user.set_unusable_password()
        user.save()

    response = post(RESET, {"email": email})

    assert (response.status_code, response.content) == (202, b"")
    assert mailbox.messages == []
    nothing_written()


def test_a_rejected_new_password_does_not_use_the_token(post, mailbox, student):
    access, _refresh = issue_token_pair(student)
    post(RESET, {"email": student.email})
    token = mailbox.messages[0].token()

    refused = post(RESET_CONFIRM, {"token": token, "new_password": "short"})

    error = assert_error(refused, 400, "validation_error")
    assert list(error["details"]) == ["new_password"]
    assert bearer(access).get(ME).status_code == 200  # no session ended
    assert login(student.email, PASSWORD).status_code == 200
    assert OneTimeToken.objects.count() == 1
    assert post(RESET_CONFIRM, {"token": token, "new_password": NEW_PASSWORD}).status_code == 204


def test_a_newer_reset_link_supersedes_the_older_one(post, mailbox, student):
    post(RESET, {"email": student.email})
    post(RESET, {"email": student.email})
    first, second = (m.token() for m in mailbox.messages)

    assert_error(post(RESET_CONFIRM, {"token": first, "new_password": NEW_PASSWORD}), 400, "invalid_token")
    assert login(student.email, PASSWORD).status_code == 200
    assert post(RESET_CONFIRM, {"token": second, "new_password": NEW_PASSWORD}).status_code == 204


def test_a_reset_link_expires_after_an_hour(post, mailbox, student):
    post(RESET, {"email": student.email})
    token = mailbox.messages[0].token()
    row = OneTimeToken.objects.get()
    assert timedelta(minutes=59) < row.expires_at - timezone.now() <= timedelta(hours=1)

    with freeze_time(row.expires_at + timedelta(seconds=1)):
        refused = post(RESET_CONFIRM, {"token": token, "new_password": NEW_PASSWORD})

    assert_error(refused, 400, "invalid_token")
    assert login(student.email, PASSWORD).status_code == 200


def test_a_password_change_invalidates_a_pending_reset_link(post, mailbox, student, client_for):
    post(RESET, {"email": student.email})
    token = mailbox.messages[0].token()
    changed = client_for(student).post(
        PASSWORD_URL,
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )
    assert changed.status_code == 204

    refused = post(RESET_CONFIRM, {"token": token, "new_password": "yet-Another-passphrase-8"})

    assert_error(refused, 400, "invalid_token")
    assert login(student.email, NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"token": "forged-token-value", "new_password": NEW_PASSWORD}, "invalid_token"),
        ({"token": "x" * 129, "new_password": NEW_PASSWORD}, "validation_error"),
        ({"new_password": NEW_PASSWORD}, "validation_error"),
        ({"token": "", "new_password": NEW_PASSWORD}, "validation_error"),
        ({"token": ["a"], "new_password": NEW_PASSWORD}, "validation_error"),
    ],
)
def test_bad_reset_confirmations_are_refused_and_change_nothing(post, student, body, code):
    before = User.objects.values().get(pk=student.pk)

    assert_error(post(RESET_CONFIRM, body), 400, code)

    assert User.objects.values().get(pk=student.pk) == before


@pytest.mark.parametrize("body", [{}, {"email": "not-an-email"}, {"email": "a@" + "b" * 300 + ".com"}])
def test_a_malformed_reset_request_is_400_and_sends_nothing(post, mailbox, body):
    assert_error(post(RESET, body), 400, "validation_error")
    assert mailbox.messages == []
    nothing_written()


@pytest.mark.usefixtures("hour_window")
def test_reset_requests_are_limited_per_address_and_per_network(post, mailbox, student):
    statuses = [post(RESET, {"email": student.email}).status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 429]
    assert len(mailbox.messages) == 3
    # Per address whether or not it has an account (the limit itself must not tell them apart).
    assert [post(RESET, {"email": "ghost@example.com"}).status_code for _ in range(4)] == [202, 202, 202, 429]

    others = [post(RESET, {"email": f"u{i}@example.com"}).status_code for i in range(3)]
    assert others == [202, 202, 429]  # 10 per network and hour: 4 + 4 counted above
    assert post(RESET, {"email": "u9@example.com"}, REMOTE_ADDR="10.7.7.7").status_code == 202
    assert len(mailbox.messages) == 3


@pytest.mark.usefixtures("hour_window")
def test_token_confirmations_are_limited_per_network(post, student):
    statuses = [post(VERIFY, {"token": f"guess-{i}"}).status_code for i in range(31)]
    assert statuses == [400] * 30 + [429]
    assert post(VERIFY, {"token": "guess"}, REMOTE_ADDR="10.7.7.7").status_code == 400


# --- email verification -----------------------------------------------------------------------------


def test_registration_mails_a_verification_link_that_verifies_the_address(post, mailbox, settings):
    body = {"email": "New.Learner@Example.com", "password": PASSWORD, "name": "New Learner"}
    assert post(REGISTER, body).status_code == 201
    user = User.objects.get(email="new.learner@example.com")
    [mail] = mailbox.messages
    assert mail.rcpt_tos == ["new.learner@example.com"]
    assert mail.subject == "Confirm your email address"
    assert mail.links()[0].startswith(f"{settings.FRONTEND_BASE_URL}/verify-email?token=")
    assert "Hello New Learner," in mail.text
    access, _refresh = issue_token_pair(user)
    assert bearer(access).get(ME).json()["email_verified"] is False

    assert post(VERIFY, {"token": mail.token()}).status_code == 204

    assert bearer(access).get(ME).json()["email_verified"] is True
    assert_error(post(VERIFY, {"token": mail.token()}), 400, "invalid_token")


def test_a_refused_registration_sends_nothing(post, mailbox, student):
    taken = post(REGISTER, {"email": student.email, "password": PASSWORD, "name": "Again"})
    weak = post(REGISTER, {"email": "weak@example.com", "password": "short", "name": "Weak"})

    assert_error(taken, 409, "email_taken")
    assert_error(weak, 400, "validation_error")
    assert mailbox.messages == []
    nothing_written()


@pytest.mark.usefixtures("hour_window")
def test_resend_supersedes_the_earlier_link_and_is_rate_limited(post, mailbox, client_for):
    assert (
        post(REGISTER, {"email": "late@example.com", "password": PASSWORD, "name": "Late"}).status_code == 201
    )
    user = User.objects.get(email="late@example.com")
    client = client_for(user)

    assert post(RESEND, client=client).status_code == 202

    first, second = (m.token() for m in mailbox.to("late@example.com"))
    assert_error(post(VERIFY, {"token": first}), 400, "invalid_token")
    assert [post(RESEND, client=client).status_code for _ in range(3)] == [202, 202, 429]
    assert len(mailbox.messages) == 4
    assert_error(post(VERIFY, {"token": second}), 400, "invalid_token")  # superseded by the later ones
    assert post(VERIFY, {"token": mailbox.messages[-1].token()}).status_code == 204
    assert User.objects.get(pk=user.pk).email_verified is True


def test_resend_for_a_verified_address_sends_nothing(post, mailbox, student, client_for):
    User.objects.filter(pk=student.pk).update(email_verified=True)

    assert post(RESEND, client=client_for(student)).status_code == 202

    assert mailbox.messages == []
    nothing_written()


def test_resend_needs_a_login(post, mailbox):
    assert_error(post(RESEND), 401, "not_authenticated")
    assert mailbox.messages == []


# --- email change ------------------------------------------------------------------------------------


def test_email_change_confirmed_from_the_new_address_with_a_notice_to_the_old(
    post, mailbox, student, client_for
):
    old = student.email
    access, _refresh = issue_token_pair(student)

    response = post(
        CHANGE, {"new_email": "Moved@Example.com", "current_password": PASSWORD}, client=bearer(access)
    )

    assert (response.status_code, response.content) == (202, b"")
    [confirm] = mailbox.to("moved@example.com")
    [notice] = mailbox.to(old)
    assert len(mailbox.messages) == 2
    assert confirm.subject == "Confirm your new LearnStream email address"
    assert "/confirm-email?token=" in confirm.links()[0]
    assert notice.subject == "Your LearnStream email address is about to change"
    assert notice.links() == []  # the old address gets no token
    assert "moved@example.com" in notice.text
    assert "moved@example.com" in notice.html
    assert User.objects.get(pk=student.pk).email == old  # nothing changes before the confirmation

    assert post(CHANGE_CONFIRM, {"token": confirm.token()}).status_code == 204

    changed = User.objects.get(pk=student.pk)
    assert (changed.email, changed.email_verified) == ("moved@example.com", True)
    assert bearer(access).get(ME).json()["email"] == "moved@example.com"  # sessions live on
    assert login("moved@example.com", PASSWORD).status_code == 200
    assert login(old, PASSWORD).status_code == 401
    assert_error(post(CHANGE_CONFIRM, {"token": confirm.token()}), 400, "invalid_token")


def test_a_wrong_current_password_is_invalid_password_and_sends_nothing(post, mailbox, student, client_for):
    response = post(
        CHANGE,
        {"new_email": "moved@example.com", "current_password": "wrong-Passphrase-0"},
        client=client_for(student),
    )

    assert_error(response, 400, "invalid_password")
    assert mailbox.messages == []
    nothing_written()


@pytest.mark.parametrize(
    ("new_email", "status", "code"),
    [
        ("taken", 409, "email_taken"),
        ("same", 400, "validation_error"),
        ("not-an-email", 400, "validation_error"),
    ],
)
def test_an_unusable_new_address_is_refused_and_sends_nothing(
    post, mailbox, student, other_student, client_for, new_email, status, code
):
    address = {"taken": other_student.email.upper(), "same": student.email}.get(new_email, new_email)

    response = post(CHANGE, {"new_email": address, "current_password": PASSWORD}, client=client_for(student))

    assert_error(response, status, code)
    assert mailbox.messages == []
    nothing_written()


def test_an_address_taken_before_the_confirmation_is_409_and_the_token_survives(
    post, mailbox, student, make_user
):
    post(
        CHANGE,
        {"new_email": "moved@example.com", "current_password": PASSWORD},
        client=bearer(issue_token_pair(student)[0]),
    )
    token = mailbox.to("moved@example.com")[0].token()
    squatter = make_user(email="moved@example.com")

    assert_error(post(CHANGE_CONFIRM, {"token": token}), 409, "email_taken")

    assert User.objects.get(pk=student.pk).email == student.email
    assert OneTimeToken.objects.filter(purpose="email_change").count() == 1
    squatter.delete()
    assert post(CHANGE_CONFIRM, {"token": token}).status_code == 204


def test_a_password_change_cancels_a_pending_email_change(post, mailbox, student, client_for):
    client = client_for(student)
    post(CHANGE, {"new_email": "moved@example.com", "current_password": PASSWORD}, client=client)
    token = mailbox.to("moved@example.com")[0].token()
    client.post(
        PASSWORD_URL,
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )

    assert_error(post(CHANGE_CONFIRM, {"token": token}), 400, "invalid_token")
    assert User.objects.get(pk=student.pk).email == student.email


def test_an_email_change_token_does_not_reset_a_password_or_verify(post, mailbox, student, client_for):
    post(CHANGE, {"new_email": "moved@example.com", "current_password": PASSWORD}, client=client_for(student))
    token = mailbox.to("moved@example.com")[0].token()

    assert_error(post(RESET_CONFIRM, {"token": token, "new_password": NEW_PASSWORD}), 400, "invalid_token")
    assert_error(post(VERIFY, {"token": token}), 400, "invalid_token")
    assert login(student.email, PASSWORD).status_code == 200
    assert User.objects.get(pk=student.pk).email_verified is False


@pytest.mark.usefixtures("hour_window")
def test_email_changes_are_rate_limited_per_account(post, mailbox, student, client_for):
    client = client_for(student)
    statuses = [
        post(
            CHANGE, {"new_email": f"moved{i}@example.com", "current_password": PASSWORD}, client=client
        ).status_code
        for i in range(6)
    ]

    assert statuses == [202] * 5 + [429]
    assert len(mailbox.messages) == 10


def _shape(sql: str) -> str:
    """A statement without its literal values (emails, ids, timestamps)."""
    return re.sub(r"\b\d+\b", "N", re.sub(r"'(?:[^']|'')*'", "?", sql))


@pytest.mark.django_db(transaction=True)
def test_a_reset_request_does_the_same_work_for_known_and_unknown_addresses(mailbox, settings, student):
    """No enumeration by answer or timing: with the production task backend the request runs the same
    statements for an existing and a missing account (queue one task) and answers the same; only the
    worker looks the address up."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

    def request(email: str) -> tuple[Any, list[str]]:
        with CaptureQueriesContext(connection) as queries:
            response = APIClient().post(RESET, {"email": email}, format="json")
        return response, [_shape(q["sql"]) for q in queries.captured_queries]

    known, known_sql = request(student.email)
    unknown, unknown_sql = request("nobody@example.com")

    assert (known.status_code, known.content) == (unknown.status_code, unknown.content) == (202, b"")
    assert known_sql == unknown_sql
    assert len(known_sql) == 1
    assert known_sql[0].startswith('INSERT INTO "django_tasks_database_dbtaskresult"')  # only the task
    queued = DBTaskResult.objects.order_by("enqueued_at")
    assert [t.args_kwargs["kwargs"] for t in queued] == [
        {"email": student.email},
        {"email": "nobody@example.com"},
    ]
    nothing_written()
    assert mailbox.messages == []

    run_db_worker_once()

    assert [m.rcpt_tos for m in mailbox.messages] == [[student.email]]
    assert OneTimeToken.objects.count() == 1
    assert list(OutgoingMail.objects.values_list("to", "status")) == [(student.email, "sent")]
