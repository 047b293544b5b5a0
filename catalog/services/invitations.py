"""Course invitations: staff enrollment invites addresses that have no account yet.

- Inviting stores one `Invitation` row per (course, email) with the SHA-256 digest of a fresh token
  (`accounts.onetime.token_new`, the project's one-time-token rule) and queues one mail per address
  through `learnstream.mail.send_templated_mail` (delivered after commit, in the background). Inviting
  again replaces the token (the older link stops working) and the expiry.
- Registering with an invited address enrolls the new account in every course it was invited to and
  that still has a seat (`invitations_claim`, connected to `accounts.signals.user_registered` in
  `CatalogConfig.ready`; accounts never imports the catalog). An invitation that finds its course
  full stays pending: the link still works once a seat is free.
- Following the link: `POST invitations/accept {token}` by a signed-in user enrolls that user (the
  link is the capability, like any invitation link; it works once) — 400 `invalid_token` for an
  unknown, used, superseded or expired token.
Either way the enrollment is on staff authority: `invite_only` and the window do not apply, `capacity`
does (409 `course_full`).
"""

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.onetime import TOKEN_MAX_CHARS, InvalidToken, token_digest, token_new
from accounts.selectors import user_names
from catalog.models import Enrollment, Invitation
from catalog.selectors.courses import course_get
from catalog.services.enrollments import enrollment_grant_seat
from catalog.types import Course
from learnstream.errors import STORE_OUTAGES, ApplicationError, Conflict
from learnstream.mail import frontend_url, send_templated_mail

logger = logging.getLogger(__name__)

INVITATION_DAYS = 14
ACCEPT_PATH = "/invitations/accept"
# What may keep an invitation pending at registration (a full or unpublished course, a store outage).
CLAIM_FAILURES: tuple[type[BaseException], ...] = (ApplicationError, *STORE_OUTAGES)


def invitations_send(*, course: Course, emails: list[str], invited_by_id: int | None) -> list[str]:
    """Invite `emails` (normalised, without accounts) to `course`; returns them. Call inside the staff
    enrollment's transaction: the rows and the queued mails commit (or vanish) with it."""
    if not emails:
        return []
    now = timezone.now()
    expires_at = now + timedelta(days=INVITATION_DAYS)
    tokens = {email: token_new() for email in emails}
    Invitation.objects.bulk_create(
        [
            Invitation(
                course_id=course["id"],
                email=email,
                digest=digest,
                invited_by_id=invited_by_id,
                created_at=now,
                expires_at=expires_at,
            )
            for email, (_raw, digest) in tokens.items()
        ],
        update_conflicts=True,
        unique_fields=["course_id", "email"],
        update_fields=["digest", "invited_by", "created_at", "expires_at", "accepted_at", "accepted_by"],
        batch_size=1000,
    )
    names = user_names(user_ids=[invited_by_id]) if invited_by_id is not None else {}
    inviter = names.get(invited_by_id or 0) or "LearnStream"
    for email, (raw, _digest) in tokens.items():
        send_templated_mail(
            to=email,
            template="course_invitation",
            context={
                "email": email,
                "course_title": course["title"],
                "inviter": inviter,
                "link": frontend_url(ACCEPT_PATH, token=raw),
                "valid_days": INVITATION_DAYS,
            },
        )
    return emails


def invitation_accept(*, user_id: int, raw: str) -> tuple[Enrollment, Course]:
    """Enroll the user through an invitation link; the invitation is spent only when the enrollment
    succeeds (a full course leaves it usable)."""
    if not raw or len(raw) > TOKEN_MAX_CHARS:
        raise InvalidToken()
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .filter(digest=token_digest(raw), accepted_at__isnull=True)
            .first()
        )
        if invitation is None or invitation.expires_at <= timezone.now():
            raise InvalidToken()
        course = _open_course(invitation.course_id)
        enrollment, _created = enrollment_grant_seat(user_id=user_id, course=course)
        _mark_accepted(invitation, user_id=user_id)
    return enrollment, course


def invitations_claim(*, user: User) -> list[str]:
    """Enroll a newly registered user in the courses their address was invited to; the course ids
    enrolled. Never fails the registration: a course that is full or unavailable keeps its invitation
    pending (the link still works)."""
    pending = list(
        Invitation.objects.filter(email=user.email, accepted_at__isnull=True, expires_at__gt=timezone.now())
    )
    enrolled: list[str] = []
    for invitation in pending:
        try:
            with transaction.atomic():
                course = _open_course(invitation.course_id)
                enrollment_grant_seat(user_id=user.pk, course=course)
                _mark_accepted(invitation, user_id=user.pk)
        except CLAIM_FAILURES as exc:
            logger.info("invitation %s left pending at registration: %s", invitation.pk, type(exc).__name__)
            continue
        enrolled.append(invitation.course_id)
    return enrolled


def _open_course(course_id: str) -> Course:
    course = course_get(course_id=course_id)
    if course is None or course["status"] != "published":
        raise Conflict("This course does not accept enrollments now.", details={"status": ["unavailable"]})
    return course


def _mark_accepted(invitation: Invitation, *, user_id: int) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(accepted_at=timezone.now(), accepted_by_id=user_id)


def user_registered_receiver(sender: Any, *, user: User, **kwargs: Any) -> None:
    """`accounts.signals.user_registered` → claim the new account's invitations."""
    invitations_claim(user=user)
