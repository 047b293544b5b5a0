"""Outgoing mail: render now, deliver in the background, retry, never inside the request's transaction.

`send_templated_mail` renders `templates/email/<template>/{subject.txt,body.txt,body.html}` and stores the
message as an `OutgoingMail` row in the caller's transaction (the outbox), then enqueues the
`deliver_mail` task after that transaction commits. The row is the source of truth; the task is only a
trigger. A rolled-back request therefore sends nothing, and a message whose enqueue was lost or whose
delivery failed is found again by its status (`manage.py mail_replay`, run by the scheduler).

Delivery follows the lease rule of `learnstream.leases` (shared with the webhook inbox): claim the row,
talk SMTP with no transaction open, record the outcome; failures are retried with capped exponential
backoff for `RETRY_HORIZON`, then left `failed` for the admin.

Task backends:
- production (`django_tasks_db`): the request only writes the row and the task row; a worker delivers
  and a failed delivery re-enqueues itself with `run_after` (the backend supports deferral).
- development and tests (`ImmediateBackend`): the task runs right after the commit, in the same
  thread. Delivery errors are recorded on the row and never reach the response; retries come from
  `mail_replay` (the immediate backend cannot defer).
"""

import functools
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template import Context, Engine
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task

from learnstream.leases import attempts_covering, backoff_delay, lease_claim, lease_release
from learnstream.models import OutgoingMail, OutgoingMailStatus

logger = logging.getLogger(__name__)

# 30 s, 1 min, 2 min, ... for an hour: a reset link lives one hour, so later delivery is useless.
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 30 * 60
RETRY_HORIZON = timedelta(hours=1)
# Far above one SMTP conversation (EMAIL_TIMEOUT bounds each socket operation).
LEASE_SECONDS = 120
LAST_ERROR_MAX_CHARS = 2000
# Sent messages keep only their envelope (for the admin); after this long they go altogether.
SENT_KEEP = timedelta(days=30)
SUBJECT_MAX_CHARS = 255


def retry_delay(*, attempts: int) -> timedelta:
    return backoff_delay(attempts=attempts, base_seconds=RETRY_BASE_SECONDS, max_seconds=RETRY_MAX_SECONDS)


MAX_AUTOMATIC_ATTEMPTS = attempts_covering(
    horizon=RETRY_HORIZON, delay=lambda attempts: retry_delay(attempts=attempts)
)


def frontend_url(path: str, **query: str) -> str:
    """A link to the client app's page `path` (e.g. "/reset-password"), with `query` parameters."""
    url = f"{settings.FRONTEND_BASE_URL}/{path.lstrip('/')}"
    return f"{url}?{urlencode(query)}" if query else url


@functools.cache
def _text_engine() -> Engine:
    """The project's templates without HTML autoescaping: text parts and subjects must keep `&` in a
    link as `&`. (HTML parts go through the configured engine, which escapes.)"""
    templates: list[dict[str, Any]] = settings.TEMPLATES
    dirs = [str(d) for entry in templates for d in entry.get("DIRS", [])]
    return Engine(dirs=dirs, app_dirs=True, autoescape=False)


def _render(*, template: str, context: Mapping[str, object]) -> tuple[str, str, str]:
    values = dict(context)
    base = f"email/{template}"
    subject = _text_engine().get_template(f"{base}/subject.txt").render(Context(values, autoescape=False))
    text = _text_engine().get_template(f"{base}/body.txt").render(Context(values, autoescape=False))
    html = render_to_string(f"{base}/body.html", values)
    # One line: a newline in a header is refused by Django (header injection), never sent.
    return " ".join(subject.split())[:SUBJECT_MAX_CHARS], text, html


def send_templated_mail(*, to: str, template: str, context: Mapping[str, object]) -> OutgoingMail:
    """Queue `template` rendered with `context` for `to`; delivered after the caller's transaction
    commits (at once when there is none). Returns the outbox row."""
    subject, text, html = _render(template=template, context=context)
    mail = OutgoingMail.objects.create(
        to=to,
        template=template,
        subject=subject,
        text_body=text,
        html_body=html,
        next_attempt_at=timezone.now(),
    )
    pk = mail.pk
    # robust: a failed enqueue must not fail the committed request; mail_replay finds the row.
    transaction.on_commit(lambda: mail_enqueue(mail_pk=pk), robust=True)
    return mail


@task()
def deliver_mail(mail_pk: int) -> str | None:
    """The Django Tasks entry point. Idempotent: a sent or leased message is left alone."""
    return mail_deliver(mail_pk=mail_pk)


def mail_enqueue(*, mail_pk: int, run_after: datetime | None = None) -> None:
    deliver = deliver_mail
    if run_after is not None:
        if not deliver.get_backend().supports_defer:
            return  # the immediate backend: mail_replay retries when due
        deliver = deliver.using(run_after=run_after)
    deliver.enqueue(mail_pk=mail_pk)


def mail_deliver(*, mail_pk: int) -> str | None:
    """Send one stored message unless it is sent or another worker holds it. Returns "sent",
    "failed", or None when there was nothing to do."""
    claim = lease_claim(
        model=OutgoingMail, pk=mail_pk, lease_seconds=LEASE_SECONDS, done_status=OutgoingMailStatus.SENT.value
    )
    if claim is None:
        return None
    mail, token = claim
    message = EmailMultiAlternatives(
        subject=mail.subject, body=mail.text_body, from_email=settings.DEFAULT_FROM_EMAIL, to=[mail.to]
    )
    message.attach_alternative(mail.html_body, "text/html")
    try:
        message.send()
    except Exception as exc:  # SMTP, DNS, TLS, timeouts: recorded on the row and retried, never raised
        logger.warning("mail %s (%s) not delivered: %s", mail.pk, mail.template, type(exc).__name__)
        retry_at = (
            timezone.now() + retry_delay(attempts=mail.attempts)
            if mail.attempts < MAX_AUTOMATIC_ATTEMPTS
            else None  # exhausted: stays failed, visible in the admin
        )
        recorded = lease_release(
            model=OutgoingMail,
            pk=mail.pk,
            token=token,
            status=OutgoingMailStatus.FAILED,
            last_error=f"{type(exc).__name__}: {exc}"[:LAST_ERROR_MAX_CHARS],
            next_attempt_at=retry_at,
        )
        if recorded and retry_at is not None:
            transaction.on_commit(lambda: mail_enqueue(mail_pk=mail_pk, run_after=retry_at), robust=True)
        return "failed"
    lease_release(
        model=OutgoingMail,
        pk=mail.pk,
        token=token,
        status=OutgoingMailStatus.SENT,
        sent_at=timezone.now(),
        next_attempt_at=None,
        last_error="",
        text_body="",  # a sent link has no business staying readable in the database
        html_body="",
    )
    return "sent"


def mail_due(*, now: datetime | None = None) -> QuerySet[OutgoingMail]:
    """Unsent messages whose (re)try is due and whose attempts are not used up."""
    moment = now or timezone.now()
    return (
        OutgoingMail.objects.exclude(status=OutgoingMailStatus.SENT)
        .exclude(lease_expires_at__gt=moment)
        .filter(Q(next_attempt_at__lte=moment), attempts__lt=MAX_AUTOMATIC_ATTEMPTS)
        .order_by("created_at", "id")
    )


def mail_prune(*, now: datetime | None = None) -> int:
    """Delete sent messages older than SENT_KEEP (keeps the outbox bounded); returns how many."""
    cutoff = (now or timezone.now()) - SENT_KEEP
    deleted, _ = OutgoingMail.objects.filter(status=OutgoingMailStatus.SENT, created_at__lt=cutoff).delete()
    return deleted
