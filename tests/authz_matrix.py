# ruff: noqa: E501 - one row per line keeps the matrix a readable table
"""The authorization matrix: who may call what, and the exact status they get.

One row per (method, path[, object]). Columns are the seven actors of tests/scenario.py:

    anon   no credentials                 owner  instructor who owns `course`
    stud   student, not enrolled          oinst  another instructor (owns `other_course`)
    enrl   student enrolled in `course`   admin  admin
    othS   student enrolled in `other_course` only

`on` says which object the path parameter names (default: `course` for /courses/{id}, `lesson` for
/lessons/{id}, `user` for /users/{id}); `body` is a valid request body (a dict, or a function of
(world, role) for bodies that depend on the caller), so every cell measures authorization, not input
validation. tests/test_authz_matrix.py fails when a route of the OpenAPI schema or the URLconf has no
row here, when a row names a route that no longer exists, and when any cell differs.

Deliberate choices visible in the table (docs/api.md, Conventions):
- writes by an authenticated non-owner on a *published* course are 403 (its existence is public);
- anything on a *draft* course by a non-owner is 404 (existence would leak);
- unauthenticated writes are 401 before any object is looked up.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.scenario import PASSWORD, ROLES, Raw

Body = dict[str, Any] | Callable[[Any, str], Any] | None


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    statuses: tuple[int, ...]  # in ROLES order
    on: str | None = None
    body: Body = None
    prefix: bool = False  # the row covers a whole URL subtree of one third-party app (Django admin)
    note: str = ""
    needs: tuple[str, ...] = field(default=())  # scenario features the row needs (e.g. "video")

    def expected(self) -> dict[str, int]:
        return dict(zip(ROLES, self.statuses, strict=True))


def R(method: str, path: str, *statuses: int, **kwargs: Any) -> Row:
    assert len(statuses) == len(ROLES), f"{method} {path}: {len(statuses)} statuses for {len(ROLES)} roles"
    return Row(method, path, tuple(statuses), **kwargs)


# --- bodies that depend on the caller ---------------------------------------------------------------
def _register(_world: Any, role: str) -> dict[str, Any]:
    return {"email": f"new-{role}-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD, "name": "New"}


def _login(world: Any, role: str) -> dict[str, Any]:
    who = "guest" if role == "anonymous" else role
    return {"email": world.actors.users[who].email, "password": PASSWORD}


def _refresh(world: Any, role: str) -> dict[str, Any]:
    who = "guest" if role == "anonymous" else role
    return {"refresh": world.actors.refresh[who]}


def _password(_world: Any, _role: str) -> dict[str, Any]:
    return {"current_password": PASSWORD, "new_password": f"another-Passphrase-{uuid.uuid4().hex[:6]}"}


def _mailed_token(world: Any, role: str, purpose: str, **data: Any) -> str:
    """A one-time token for the caller's account (the guest's for anonymous), as a mailed link has it."""
    from datetime import timedelta

    from accounts.onetime import one_time_token_issue

    user = world.actors.users["guest" if role == "anonymous" else role]
    return one_time_token_issue(user=user, purpose=purpose, lifetime=timedelta(hours=1), data=data)


def _reset(world: Any, role: str) -> dict[str, Any]:
    return {"email": world.actors.users["guest" if role == "anonymous" else role].email}


def _reset_confirm(world: Any, role: str) -> dict[str, Any]:
    new_password = f"another-Passphrase-{uuid.uuid4().hex[:6]}"
    return {"token": _mailed_token(world, role, "password_reset"), "new_password": new_password}


def _verify(world: Any, role: str) -> dict[str, Any]:
    return {"token": _mailed_token(world, role, "email_verify")}


def _email_change(_world: Any, role: str) -> dict[str, Any]:
    return {"new_email": f"moved-{role}-{uuid.uuid4().hex[:8]}@example.com", "current_password": PASSWORD}


def _email_change_confirm(world: Any, role: str) -> dict[str, Any]:
    new_email = f"moved-{role}-{uuid.uuid4().hex[:8]}@example.com"
    return {"token": _mailed_token(world, role, "email_change", new_email=new_email)}


def _reorder(world: Any, _role: str) -> dict[str, Any]:
    return {"lesson_ids": list(reversed(world["lessons"]))}


def _section_reorder(world: Any, _role: str) -> dict[str, Any]:
    return {"section_ids": [world["section"]]}


def _admin_upload(world: Any, _role: str) -> dict[str, Any]:
    return {"lesson_id": world["lesson"]}


def _from_url(world: Any, _role: str) -> dict[str, Any]:
    # Mux (the emulator) fails to download it later, off the request: what is measured is who may ask.
    return {"lesson_id": world["lesson"], "url": "https://video.example.invalid/lesson.mp4"}


def _import_existing(world: Any, _role: str) -> dict[str, Any]:
    return {"lesson_id": world["lesson"], "asset_id": "NoSuchAssetInTheMuxAccount"}


CAPTION = {"language_code": "en", "name": "English", "vtt": "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nHi.\n"}


def _staff_enroll(world: Any, _role: str) -> dict[str, Any]:
    return {"emails": [world.actors.users["student"].email]}


def _invitation(world: Any, role: str) -> dict[str, Any]:
    """A fresh invitation to `course` for each signed-in caller (the link is the capability)."""
    if role == "anonymous":
        return {"token": "not-checked-before-authentication"}  # 401 first; nothing stored
    from accounts.onetime import token_new
    from catalog.models import Invitation

    raw, digest = token_new()
    Invitation.objects.create(
        course_id=world["course"], email=f"{role}-{uuid.uuid4().hex[:6]}@example.com", digest=digest,
        expires_at=datetime.now(UTC) + timedelta(days=1),
    )  # fmt: skip
    return {"token": raw}


def _webhook(world: Any, role: str) -> dict[str, Any]:
    return world.webhook_event(role)


def _stripe_webhook(_world: Any, role: str) -> Any:
    """A Stripe-signed event of a type stored and acknowledged without side effects."""
    from django.conf import settings

    from commerce.emulator import signature_header

    payload = json.dumps({"id": f"evt_proof_{role}", "object": "event", "type": "customer.created",
                          "data": {"object": {"id": "cus_proof"}}})  # fmt: skip
    header = signature_header(secrets=settings.STRIPE_WEBHOOK_SECRETS[:1], payload=payload)
    return Raw(payload.encode(), {"Stripe-Signature": header})


CHECKOUT = {"success_url": "http://127.0.0.1:8000/paid", "cancel_url": "http://127.0.0.1:8000/cancelled"}


NEW_COURSE = {"title": "Matrix course", "description": "d", "tags": ["t"], "level": "beginner"}
NEW_LESSON = {"title": "Matrix lesson", "description": "d", "is_preview": False}


# fmt: off
# status per role:                                          anon stud enrl othS owner oinst admin
MATRIX: list[Row] = [
    # --- operations ---
    R("GET",    "/healthz",                                  200, 200, 200, 200, 200, 200, 200),
    R("GET",    "/readyz",                                   200, 200, 200, 200, 200, 200, 200),
    R("GET",    "/api/schema/",                              200, 200, 200, 200, 200, 200, 200,
      note="public outside production; admin-only in production (test_static)"),
    R("GET",    "/api/docs/",                                200, 200, 200, 200, 200, 200, 200),
    R("GET",    "/api/v1/",                                  200, 200, 200, 200, 200, 200, 200),
    # DRF's session login for the browsable API: a form, no bearer semantics.
    R("GET",    "/api-auth/login/",                          200, 200, 200, 200, 200, 200, 200, prefix=True,
      note="covers POST/PUT of the same Django LoginView (form + CSRF)"),
    R("POST",   "/api-auth/logout/",                         200, 200, 200, 200, 200, 200, 200),
    # Django admin: session-only, staff-only; a bearer token never opens it.
    R("GET",    "/admin/",                                   302, 302, 302, 302, 302, 302, 302, prefix=True,
      note="covers the Django admin's own URL space (staff session required)"),
    # --- auth ---
    R("POST",   "/api/v1/auth/register",                     201, 201, 201, 201, 201, 201, 201, body=_register),
    R("POST",   "/api/v1/auth/token",                        200, 200, 200, 200, 200, 200, 200, body=_login),
    R("POST",   "/api/v1/auth/token/refresh",                200, 200, 200, 200, 200, 200, 200, body=_refresh),
    R("POST",   "/api/v1/auth/logout",                       401, 204, 204, 204, 204, 204, 204, body=_refresh),
    R("POST",   "/api/v1/auth/logout-all",                   401, 204, 204, 204, 204, 204, 204),
    R("GET",    "/api/v1/auth/me",                           401, 200, 200, 200, 200, 200, 200),
    R("PATCH",  "/api/v1/auth/me",                           401, 200, 200, 200, 200, 200, 200, body={"name": "Renamed"}),
    R("POST",   "/api/v1/auth/me/password",                  401, 204, 204, 204, 204, 204, 204, body=_password),
    # Self-service by email: the token is the credential of the confirmations (no login needed).
    R("POST",   "/api/v1/auth/password/reset",               202, 202, 202, 202, 202, 202, 202, body=_reset),
    R("POST",   "/api/v1/auth/password/reset/confirm",       204, 204, 204, 204, 204, 204, 204, body=_reset_confirm),
    R("POST",   "/api/v1/auth/email/verify",                 204, 204, 204, 204, 204, 204, 204, body=_verify),
    R("POST",   "/api/v1/auth/email/verify/resend",          401, 202, 202, 202, 202, 202, 202),
    R("POST",   "/api/v1/auth/me/email",                     401, 202, 202, 202, 202, 202, 202, body=_email_change),
    R("POST",   "/api/v1/auth/me/email/confirm",             204, 204, 204, 204, 204, 204, 204, body=_email_change_confirm),
    # --- users (admin) ---
    R("GET",    "/api/v1/users/",                            401, 403, 403, 403, 403, 403, 200),
    R("GET",    "/api/v1/users/{id}/",                       401, 403, 403, 403, 403, 403, 200),
    R("PATCH",  "/api/v1/users/{id}/",                       401, 403, 403, 403, 403, 403, 200, body={"name": "Renamed"}),
    # --- catalog ---
    R("GET",    "/api/v1/courses/",                          200, 200, 200, 200, 200, 200, 200),
    R("POST",   "/api/v1/courses/",                          401, 403, 403, 403, 201, 201, 201, body=NEW_COURSE),
    R("GET",    "/api/v1/courses/{id}/",                     200, 200, 200, 200, 200, 200, 200),
    R("GET",    "/api/v1/courses/{id}/",                     404, 404, 404, 404, 200, 404, 200, on="draft_course"),
    R("PUT",    "/api/v1/courses/{id}/",                     401, 403, 403, 403, 200, 403, 200, body=NEW_COURSE),
    R("PATCH",  "/api/v1/courses/{id}/",                     401, 403, 403, 403, 200, 403, 200, body={"title": "Renamed"}),
    R("PATCH",  "/api/v1/courses/{id}/",                     401, 404, 404, 404, 200, 404, 200, on="draft_course",
      body={"title": "Renamed"}),
    R("DELETE", "/api/v1/courses/{id}/",                     401, 403, 403, 403, 204, 403, 204),
    R("POST",   "/api/v1/courses/{id}/publish/",             401, 404, 404, 404, 200, 404, 200, on="draft_course"),
    R("POST",   "/api/v1/courses/{id}/unpublish/",           401, 403, 403, 403, 200, 403, 200),
    R("GET",    "/api/v1/courses/{id}/lessons/",             200, 200, 200, 200, 200, 200, 200),
    R("GET",    "/api/v1/courses/{id}/lessons/",             404, 404, 404, 404, 200, 404, 200, on="draft_course"),
    R("POST",   "/api/v1/courses/{id}/lessons/",             401, 403, 403, 403, 201, 403, 201, body=NEW_LESSON),
    R("POST",   "/api/v1/courses/{id}/lessons/reorder/",     401, 403, 403, 403, 200, 403, 200, body=_reorder),
    # v1.1 course structure
    R("GET",    "/api/v1/courses/{id}/sections/",            200, 200, 200, 200, 200, 200, 200),
    R("GET",    "/api/v1/courses/{id}/sections/",            404, 404, 404, 404, 200, 404, 200, on="draft_course"),
    R("POST",   "/api/v1/courses/{id}/sections/",            401, 403, 403, 403, 201, 403, 201, body={"title": "Part 2"}),
    R("POST",   "/api/v1/courses/{id}/sections/reorder/",    401, 403, 403, 403, 200, 403, 200, body=_section_reorder),
    R("PATCH",  "/api/v1/sections/{id}/",                    401, 403, 403, 403, 200, 403, 200, on="section",
      body={"title": "Renamed"}),
    R("DELETE", "/api/v1/sections/{id}/",                    401, 403, 403, 403, 204, 403, 204, on="section"),
    R("GET",    "/api/v1/courses/{id}/curriculum/",          200, 200, 200, 200, 200, 200, 200),
    R("GET",    "/api/v1/courses/{id}/curriculum/",          404, 404, 404, 404, 200, 404, 200, on="draft_course"),
    R("GET",    "/api/v1/lessons/{id}/",                     200, 200, 200, 200, 200, 200, 200),
    R("GET",    "/api/v1/lessons/{id}/",                     404, 404, 404, 404, 200, 404, 200, on="draft_lesson"),
    R("PUT",    "/api/v1/lessons/{id}/",                     401, 403, 403, 403, 200, 403, 200, body=NEW_LESSON),
    R("PATCH",  "/api/v1/lessons/{id}/",                     401, 403, 403, 403, 200, 403, 200, body={"title": "Renamed"}),
    R("DELETE", "/api/v1/lessons/{id}/",                     401, 403, 403, 403, 204, 403, 204),
    # --- enrollments ---
    R("POST",   "/api/v1/courses/{id}/enroll/",              401, 201, 200, 201, 201, 201, 201),
    R("POST",   "/api/v1/courses/{id}/enroll/",              401, 404, 404, 404, 409, 404, 409, on="draft_course",
      note="only published courses accept enrollments; those who can see the draft get 409, others 404"),
    R("DELETE", "/api/v1/courses/{id}/enroll/",              401, 404, 204, 404, 404, 404, 404,
      note="unenrolling when not enrolled is 404"),
    R("GET",    "/api/v1/enrollments/",                      401, 200, 200, 200, 200, 200, 200),
    R("GET",    "/api/v1/courses/{id}/students/",            401, 403, 403, 403, 200, 403, 200),
    R("POST",   "/api/v1/courses/{id}/enrollments/",         401, 403, 403, 403, 200, 403, 200, body=_staff_enroll),
    R("POST",   "/api/v1/courses/{id}/enrollments/",         401, 404, 404, 404, 409, 404, 409, on="draft_course",
      body=_staff_enroll, note="staff enrollment needs a published course, like self-enrollment"),
    R("DELETE", "/api/v1/courses/{id}/enrollments/{user_id}/", 401, 403, 403, 403, 204, 403, 204,
      on="course,enrolled_user"),
    R("POST",   "/api/v1/invitations/accept/",               401, 200, 200, 200, 200, 200, 200, body=_invitation,
      note="any signed-in user holding a valid link; the course's policy other than capacity does not apply"),
    # --- video ---
    R("POST",   "/api/v1/lessons/{id}/upload/",              401, 403, 403, 403, 201, 403, 201),
    R("POST",   "/admin/uploads",                            401, 403, 403, 403, 403, 403, 201, body=_admin_upload),
    R("GET",    "/api/v1/lessons/{id}/playback/",            401, 403, 200, 403, 200, 403, 200, needs=("video",)),
    R("GET",    "/api/v1/lessons/{id}/playback/",            200, 200, 200, 200, 200, 200, 200, on="preview_lesson",
      needs=("video",)),
    R("DELETE", "/api/v1/lessons/{id}/video/",               401, 403, 403, 403, 204, 403, 204, needs=("video",)),
    # --- captions, transcripts, bringing existing video ---
    R("GET",    "/api/v1/lessons/{id}/captions/",            200, 200, 200, 200, 200, 200, 200),
    R("GET",    "/api/v1/lessons/{id}/captions/",            404, 404, 404, 404, 200, 404, 200, on="draft_lesson"),
    R("POST",   "/api/v1/lessons/{id}/captions/",            401, 403, 403, 403, 201, 403, 201, body=CAPTION, needs=("video",)),
    R("DELETE", "/api/v1/lessons/{id}/captions/{track_id}/", 401, 403, 403, 403, 404, 403, 404, needs=("video",),
      on="lesson,lesson", note="the track id (the lesson's own id) names no track of it: editors get 404"),
    R("GET",    "/api/v1/lessons/{id}/transcript/",          401, 403, 404, 403, 404, 403, 404, needs=("video",),
      note="who may play gets 404: the lesson has no caption track in the default language"),
    R("GET",    "/api/v1/caption-files/{caption_id}.vtt",    404, 404, 404, 404, 404, 404, 404, on="lesson",
      note="only a signed URL (made for Mux) opens a caption file; no account does"),
    R("POST",   "/admin/uploads/from-url",                   401, 403, 403, 403, 403, 403, 202, body=_from_url),
    R("POST",   "/admin/uploads/import-existing",            401, 403, 403, 403, 403, 403, 404, body=_import_existing,
      note="admins pass authorization and get 404 asset_not_found for an asset Mux does not have"),
    # --- progress and analytics ---
    # Enrolled students, plus the owner and admins previewing their own course (issue 3).
    R("PUT",    "/api/v1/lessons/{id}/progress/",            401, 403, 200, 403, 200, 403, 200, body={"position": 12}),
    R("POST",   "/api/v1/lessons/{id}/complete/",            401, 403, 200, 403, 200, 403, 200),
    R("GET",    "/api/v1/courses/{id}/progress/",            401, 403, 200, 403, 200, 403, 200),
    R("GET",    "/api/v1/me/progress/",                      401, 200, 200, 200, 200, 200, 200),
    R("GET",    "/api/v1/courses/{id}/analytics/",           401, 403, 403, 403, 200, 403, 200),
    R("GET",    "/api/v1/analytics/overview/",               401, 403, 403, 403, 403, 403, 200),
    # --- certificates: the list is the caller's own; verification and PDF are public (the code is the key) ---
    R("GET",    "/api/v1/me/certificates/",                  401, 200, 200, 200, 200, 200, 200),
    R("GET",    "/api/v1/certificates/{code}/",              200, 200, 200, 200, 200, 200, 200, on="certificate"),
    R("GET",    "/api/v1/certificates/{code}/pdf/",          200, 200, 200, 200, 200, 200, 200, on="certificate"),
    # --- webhook: authenticated by signature only; who calls it does not matter ---
    R("POST",   "/webhooks/mux",                             200, 200, 200, 200, 200, 200, 200, body=_webhook),
    R("POST",   "/webhooks/stripe",                          200, 200, 200, 200, 200, 200, 200, body=_stripe_webhook),
    # --- commerce --- (the scenario's courses are free: buying one is 409; paid courses: commerce/tests)
    R("POST",   "/api/v1/courses/{id}/checkout",             401, 409, 409, 409, 409, 409, 409, body=CHECKOUT),
    R("POST",   "/api/v1/courses/{id}/checkout",             401, 404, 404, 404, 409, 404, 409, on="draft_course",
      body=CHECKOUT),
    R("GET",    "/api/v1/orders/",                           401, 200, 200, 200, 200, 200, 200),
    R("GET",    "/api/v1/orders/{id}",                       401, 404, 200, 404, 404, 404, 200, on="order"),
    R("POST",   "/api/v1/orders/{id}/refund",                401, 403, 403, 403, 403, 403, 409, on="order",
      note="the scenario's order is pending: refusing it needs no Stripe call"),
]
# fmt: on
