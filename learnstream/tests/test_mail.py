"""Outgoing mail (learnstream/mail.py): rendered into the outbox, delivered by a task to a real SMTP
server on loopback (tests/support/smtp.py), retried, and never sent for a rolled-back transaction."""

import io
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from learnstream.mail import (
    MAX_AUTOMATIC_ATTEMPTS,
    frontend_url,
    mail_deliver,
    mail_due,
    retry_delay,
    send_templated_mail,
)
from learnstream.models import OutgoingMail
from tests.support.tasks import run_db_worker_once

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = {
    "name": "Ada <Lovelace>",
    "email": "ada@example.com",
    "link": "https://app.example.com/verify-email?token=abc&x=1",
    "valid_hours": 24,
}


def replay() -> str:
    out = io.StringIO()
    call_command("mail_replay", stdout=out)
    return out.getvalue()


def test_frontend_url_joins_base_path_and_query(settings):
    settings.FRONTEND_BASE_URL = "https://app.example.com/learn"

    assert frontend_url("/reset-password", token="a b&c") == (
        "https://app.example.com/learn/reset-password?token=a+b%26c"
    )
    assert frontend_url("verify-email") == "https://app.example.com/learn/verify-email"


@pytest.mark.django_db
def test_a_mail_goes_through_the_task_to_the_smtp_server_with_both_parts(
    mailbox, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        row = send_templated_mail(to="ada@example.com", template="verify_email", context=CONTEXT)
        assert mailbox.messages == []  # nothing leaves before the commit
    assert len(callbacks) == 1

    [message] = mailbox.messages
    assert message.rcpt_tos == ["ada@example.com"]
    assert message.to == "ada@example.com"
    assert message.mail_from == "no-reply@learnstream.local"
    assert message.subject == "Confirm your email address"
    assert message.message.get_content_type() == "multipart/alternative"
    # The text part keeps the link verbatim; the HTML part escapes what it must.
    assert message.links() == [CONTEXT["link"]]
    assert "Hello Ada <Lovelace>," in message.text
    assert "expires in 24 hours" in message.text
    assert 'href="https://app.example.com/verify-email?token=abc&amp;x=1"' in message.html
    assert "Ada &lt;Lovelace&gt;" in message.html
    sent = OutgoingMail.objects.get(pk=row.pk)
    assert (sent.status, sent.attempts, sent.next_attempt_at, sent.last_error) == ("sent", 1, None, "")
    assert sent.sent_at is not None
    assert (sent.text_body, sent.html_body) == ("", "")  # the link does not stay in the database
    assert (sent.to, sent.template, sent.subject) == ("ada@example.com", "verify_email", message.subject)


@pytest.mark.django_db
def test_a_rolled_back_transaction_sends_nothing(mailbox, django_capture_on_commit_callbacks):
    def failing_request() -> None:
        with transaction.atomic():
            send_templated_mail(to="ada@example.com", template="verify_email", context=CONTEXT)
            raise RuntimeError("the request failed after queueing the mail")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        failing_request()

    assert callbacks == []
    assert OutgoingMail.objects.count() == 0
    assert mailbox.messages == []


@pytest.mark.django_db
def test_a_refused_delivery_is_recorded_and_retried_when_due(mailbox, django_capture_on_commit_callbacks):
    mailbox.refuse_next(1)
    with django_capture_on_commit_callbacks(execute=True):
        row = send_templated_mail(to="ada@example.com", template="verify_email", context=CONTEXT)

    failed = OutgoingMail.objects.get(pk=row.pk)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "451" in failed.last_error
    assert failed.text_body == row.text_body  # kept for the retry
    assert failed.next_attempt_at is not None
    expected = timezone.now() + retry_delay(attempts=1)
    assert abs((failed.next_attempt_at - expected).total_seconds()) < 5
    assert mailbox.messages == []
    assert list(mail_due()) == []  # not due yet
    assert "0 selected" in replay()

    OutgoingMail.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert "1 selected, 1 sent, 0 failed" in replay()

    assert [m.rcpt_tos for m in mailbox.messages] == [["ada@example.com"]]
    sent = OutgoingMail.objects.get(pk=row.pk)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, "")
    assert mail_deliver(mail_pk=row.pk) is None  # sent is final: never delivered twice
    assert len(mailbox.messages) == 1


@pytest.mark.django_db
def test_the_last_automatic_attempt_leaves_the_mail_failed_and_not_due(
    mailbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        row = send_templated_mail(to="ada@example.com", template="verify_email", context=CONTEXT)
    OutgoingMail.objects.filter(pk=row.pk).update(attempts=MAX_AUTOMATIC_ATTEMPTS - 1)
    mailbox.refuse_next(1)

    assert mail_deliver(mail_pk=row.pk) == "failed"

    exhausted = OutgoingMail.objects.get(pk=row.pk)
    assert (exhausted.status, exhausted.attempts, exhausted.next_attempt_at) == (
        "failed",
        MAX_AUTOMATIC_ATTEMPTS,
        None,
    )
    assert row.pk not in set(mail_due(now=timezone.now() + timedelta(days=1)).values_list("pk", flat=True))
    assert mailbox.messages == []


def test_retries_cover_the_one_hour_link_lifetime():
    waited = sum((retry_delay(attempts=n) for n in range(1, MAX_AUTOMATIC_ATTEMPTS)), timedelta(0))
    assert waited >= timedelta(hours=1)
    assert waited - retry_delay(attempts=MAX_AUTOMATIC_ATTEMPTS - 1) < timedelta(hours=1)


@pytest.mark.django_db(transaction=True)
def test_with_the_database_backend_the_request_only_queues_and_the_worker_delivers(mailbox, settings):
    """The production path: sending writes the outbox row and a task row; only the worker talks SMTP."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with transaction.atomic():
        row = send_templated_mail(to="ada@example.com", template="verify_email", context=CONTEXT)

    assert mailbox.messages == []
    assert OutgoingMail.objects.get(pk=row.pk).status == "pending"
    task = DBTaskResult.objects.get()
    assert (task.status, task.args_kwargs["kwargs"]) == ("READY", {"mail_pk": row.pk})

    run_db_worker_once()

    assert [m.rcpt_tos for m in mailbox.messages] == [["ada@example.com"]]
    assert OutgoingMail.objects.get(pk=row.pk).status == "sent"
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


@pytest.mark.django_db(transaction=True)
def test_with_the_database_backend_a_refused_delivery_defers_its_retry(mailbox, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    mailbox.refuse_next(1)
    row = send_templated_mail(to="ada@example.com", template="verify_email", context=CONTEXT)

    run_db_worker_once()

    failed = OutgoingMail.objects.get(pk=row.pk)
    deferred = DBTaskResult.objects.get(status="READY")
    assert failed.status == "failed"
    assert deferred.run_after == failed.next_attempt_at
    assert deferred.args_kwargs["kwargs"] == {"mail_pk": row.pk}
    assert mailbox.messages == []


@pytest.mark.slow
def test_the_development_default_writes_mail_to_files_under_var_mail(tmp_path):
    """What `make run` does with mail: no server needed, a file a person can open (scripts/run.sh says
    where)."""
    var = tmp_path / "var"
    removed = {"DATABASE_URL", "REDIS_URL", "DJANGO_ENV", "EMAIL_URL", "DATABASE_TEST_NAME"}
    env = {k: v for k, v in os.environ.items() if k not in removed} | {
        "LS_VAR_DIR": str(var),
        "DJANGO_ENV": "development",
    }
    send = (
        "from learnstream.mail import send_templated_mail; "
        f"send_templated_mail(to='ada@example.com', template='verify_email', context={CONTEXT!r})"
    )
    for args in (["migrate", "-v", "0"], ["shell", "-c", send]):
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    [written] = list((var / "mail").iterdir())
    content = written.read_text()
    assert "Subject: Confirm your email address" in content
    assert "To: ada@example.com" in content
    assert CONTEXT["link"] in content
    assert "Content-Type: text/html" in content


@pytest.mark.django_db
def test_replay_prunes_sent_mail_after_30_days_and_keeps_the_rest(
    mailbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        old_sent = send_templated_mail(to="a@example.com", template="verify_email", context=CONTEXT)
        recent_sent = send_templated_mail(to="b@example.com", template="verify_email", context=CONTEXT)
    with django_capture_on_commit_callbacks(execute=False):
        old_unsent = send_templated_mail(to="c@example.com", template="verify_email", context=CONTEXT)
    month_ago = timezone.now() - timedelta(days=30, seconds=1)
    OutgoingMail.objects.filter(pk__in=[old_sent.pk, old_unsent.pk]).update(
        created_at=month_ago, next_attempt_at=timezone.now() + timedelta(hours=1)
    )

    assert "0 selected, 0 sent, 0 failed, 0 skipped, 1 old sent pruned" in replay()

    assert set(OutgoingMail.objects.values_list("pk", flat=True)) == {recent_sent.pk, old_unsent.pk}
