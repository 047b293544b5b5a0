"""Lesson video lifecycle: uploads, webhook-driven state changes, deletion.

State lives in the lesson's `video` sub-document (catalog/repositories/lesson_videos.py) and only moves
forward: `waiting_upload → processing → ready`, with `errored`, `cancelled` and `deleted` as explicit
outcomes. Every change is a compare-and-set on `video.rev`, so concurrent webhooks and uploads re-read
and decide again instead of overwriting each other. A lesson has one *pipeline* (the newest upload and
its asset) and one *playable* asset; they differ while a replacement is processing, so the old video
stays playable until the new one is ready, and only then is the old asset deleted at Mux.
"""

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import caches

from catalog.permissions import can_edit_course, can_view_course
from catalog.repositories.lesson_videos import LessonContext, LessonVideo, LessonVideoRepository, VideoState
from catalog.selectors import course_get, lesson_get
from catalog.services import lesson_cache_invalidate, lesson_create
from learnstream.errors import Conflict, IntegrationError, NotFound, PermissionDenied, RateLimited
from streaming import mux

logger = logging.getLogger(__name__)

STATUS_NONE = "none"
STATUS_WAITING_UPLOAD = "waiting_upload"
STATUS_PROCESSING = "processing"
STATUS_READY = "ready"
STATUS_ERRORED = "errored"
STATUS_CANCELLED = "cancelled"
STATUS_DELETED = "deleted"

# Which pipeline status may follow which. Terminal states are final for their pipeline, except that
# an asset that exists (ready or errored) can still be deleted.
_ALLOWED_FROM: dict[str, frozenset[str]] = {
    STATUS_PROCESSING: frozenset({STATUS_NONE, STATUS_WAITING_UPLOAD}),
    STATUS_READY: frozenset({STATUS_NONE, STATUS_WAITING_UPLOAD, STATUS_PROCESSING}),
    STATUS_ERRORED: frozenset({STATUS_NONE, STATUS_WAITING_UPLOAD, STATUS_PROCESSING}),
    STATUS_CANCELLED: frozenset({STATUS_WAITING_UPLOAD}),
    # From waiting_upload too: the asset may be created and deleted before we heard of either.
    STATUS_DELETED: frozenset({STATUS_WAITING_UPLOAD, STATUS_PROCESSING, STATUS_READY, STATUS_ERRORED}),
}

CAS_ATTEMPTS = 8
UPLOAD_QUOTA_WINDOW_SECONDS = 3600


# --- Events (parsed from webhooks by webhooks.handlers) ----------------------------------------------


@dataclass(frozen=True)
class VideoEvent:
    """A Mux event reduced to what the lifecycle needs."""

    type: str
    target: str  # the pipeline status the event reports
    event_at: float | None  # the event's `created_at` (Unix seconds), for staleness
    lesson_id: str | None  # passthrough
    upload_id: str | None
    asset_id: str | None
    asset: mux.Asset | None = None
    upload: mux.Upload | None = None


@dataclass(frozen=True)
class Decision:
    outcome: str  # "applied" or why nothing changed
    video: VideoState | None = None
    duration: float | None = None


def _clear_playable(video: VideoState) -> None:
    video["playback_id"] = None
    video["playback_asset_id"] = None
    video["aspect_ratio"] = None
    video["duration"] = None


def video_event_decide(*, video: VideoState, event: VideoEvent) -> Decision:
    """Pure state machine: the new `video` sub-document for `event`, or why it is ignored."""
    status = video.get("status") or STATUS_NONE
    in_pipeline = bool(
        (event.upload_id and event.upload_id == video.get("upload_id"))
        or (event.asset_id and event.asset_id == video.get("asset_id"))
    )
    is_playable = bool(event.asset_id and event.asset_id == video.get("playback_asset_id"))

    if not in_pipeline:
        if is_playable and event.target == STATUS_DELETED:
            # The playable (older) asset vanished at Mux while a replacement is pending.
            new = dict(video)
            _clear_playable(new)
            return Decision("applied", new, duration=0.0)
        if (
            event.target == STATUS_READY
            and event.asset is not None
            and event.asset.upload_id  # proven to come from another upload of this lesson
            and event.asset_id not in (video.get("retired_asset_ids") or [])
            and not is_playable
        ):
            return Decision("orphan")
        return Decision("ignored_not_current")

    last = video.get("event_at")
    if event.event_at is not None and last is not None and event.event_at < last:
        return Decision("ignored_stale")

    new = dict(video)
    if event.event_at is not None:
        new["event_at"] = max(event.event_at, last or event.event_at)
    if event.asset_id and not new.get("asset_id"):
        new["asset_id"] = event.asset_id

    if event.target == status:
        newer = last is not None and event.event_at is not None and event.event_at > last
        if status == STATUS_READY and event.asset is not None and newer:
            return _ready(new, event, video)  # newer data for the same ready asset
        if new != video:
            return Decision("applied", new)  # e.g. the asset id learnt from a second event
        return Decision("ignored_no_change")
    if status not in _ALLOWED_FROM[event.target]:
        if new.get("asset_id") != video.get("asset_id"):
            return Decision("applied", _keep_status(new, video))
        return Decision(f"ignored_{status}_to_{event.target}")

    if event.target == STATUS_READY:
        return _ready(new, event, video)
    new["status"] = event.target
    if event.target == STATUS_ERRORED:
        new["errors"] = _errors(event)
    if event.target == STATUS_DELETED and video.get("playback_asset_id") == event.asset_id:
        _clear_playable(new)
        return Decision("applied", new, duration=0.0)
    return Decision("applied", new)


def _keep_status(new: VideoState, old: VideoState) -> VideoState:
    new["status"] = old.get("status") or STATUS_NONE
    return new


def _errors(event: VideoEvent) -> dict[str, Any]:
    if event.asset is not None and event.asset.errors is not None:
        return {"type": event.asset.errors.type, "messages": list(event.asset.errors.messages)}
    if event.upload is not None and event.upload.error is not None:
        return {"type": event.upload.error.type, "messages": [event.upload.error.message]}
    return {"type": "unknown", "messages": []}


def _ready(new: VideoState, event: VideoEvent, old: VideoState) -> Decision:
    asset = event.asset
    if asset is None or not asset.playback_ids:
        new["status"] = STATUS_ERRORED
        new["errors"] = {"type": "no_playback_id", "messages": ["The asset has no playback id."]}
        return Decision("applied", new)
    previous = old.get("playback_asset_id")
    retired = list(old.get("retired_asset_ids") or [])
    if previous and previous != asset.id and previous not in retired:
        retired.append(previous)  # the replaced video: delete it at Mux now that the new one is ready
    new["status"] = STATUS_READY
    new["asset_id"] = asset.id
    new["errors"] = None
    new["playback_id"] = asset.signed_playback_id or asset.playback_ids[0].id
    new["playback_asset_id"] = asset.id
    new["aspect_ratio"] = asset.aspect_ratio
    new["duration"] = asset.duration
    new["retired_asset_ids"] = retired
    return Decision("applied", new, duration=float(asset.duration or 0.0))


def video_event_apply(*, event: VideoEvent) -> str:
    """Apply one Mux event to its lesson. Idempotent; safe to run again after a failure."""
    repo = LessonVideoRepository()
    outcome = "ignored_no_lesson"
    lesson: LessonVideo | None = None
    for _ in range(CAS_ATTEMPTS):
        lesson = repo.find(lesson_id=event.lesson_id, upload_id=event.upload_id, asset_id=event.asset_id)
        if lesson is None:
            outcome = "ignored_no_lesson"
            break
        decision = video_event_decide(video=lesson.video, event=event)
        outcome = decision.outcome
        if decision.video is None:
            break
        if repo.compare_and_set(
            lesson_id=lesson.lesson_id,
            expected_rev=int(lesson.video.get("rev") or 0),
            video=decision.video,
            duration=decision.duration,
        ):
            lesson_cache_invalidate(lesson_id=lesson.lesson_id, course_id=lesson.course_id)
            lesson = LessonVideo(lesson.lesson_id, lesson.course_id, lesson.title, decision.video)
            break
    else:
        # Persistent contention: fail so the inbox retries later instead of dropping the event.
        raise Conflict("The lesson changed repeatedly while applying a video event.")

    if lesson is not None:
        if outcome == "orphan" and event.asset_id:
            # An asset from an abandoned upload of this lesson: nobody can play it, but it costs money.
            logger.info("deleting orphan asset %s of lesson %s", event.asset_id, lesson.lesson_id)
            mux.delete_asset(event.asset_id)
        _retired_assets_drain(repo=repo, lesson=lesson, strict=True)
    logger.info(
        "video event %s (asset=%s upload=%s): %s", event.type, event.asset_id, event.upload_id, outcome
    )
    return outcome


def _retired_assets_drain(*, repo: LessonVideoRepository, lesson: LessonVideo, strict: bool) -> None:
    for asset_id in list(lesson.video.get("retired_asset_ids") or []):
        try:
            mux.delete_asset(asset_id)
        except IntegrationError:
            if strict:
                raise
            logger.warning("could not delete retired asset %s yet; a later event retries", asset_id)
            continue
        repo.retired_asset_remove(lesson_id=lesson.lesson_id, asset_id=asset_id)


# --- Uploads -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadTicket:
    upload_id: str
    upload_url: str
    expires_at: datetime | None
    lesson_id: str


def upload_quota_consume(*, user_id: int) -> None:
    """Count one upload against the user's hourly quota (uploads cost money); 429 beyond it.

    Counted in the fail-closed rate-limit cache *before* Mux is called, so Mux sees at most the quota.
    """
    limit: int = settings.MUX_UPLOADS_PER_HOUR
    now = time.time()
    window = int(now // UPLOAD_QUOTA_WINDOW_SECONDS)
    key = f"mux-uploads:{user_id}:{window}"
    cache = caches["ratelimit"]
    for _ in range(2):
        cache.add(key, 0, timeout=UPLOAD_QUOTA_WINDOW_SECONDS + 60)
        try:
            count = cache.incr(key)
            break
        except ValueError:  # expired between add and incr
            continue
    else:
        count = limit + 1
    if count > limit:
        retry_after = int((window + 1) * UPLOAD_QUOTA_WINDOW_SECONDS - now) + 1
        raise RateLimited(
            f"Upload quota reached ({limit} per hour). Try again later.",
            retry_after=retry_after,
            details={"limit": limit},
        )


def _lesson_context_for_owner(*, user: Any, lesson_id: str, action: str) -> LessonContext:
    """The lesson if `user` may edit its course: 404 when the course is invisible to them, 403 when
    visible but not theirs (catalog.permissions rules)."""
    context = LessonVideoRepository().context(lesson_id=lesson_id)
    if context is None or context.course_status is None:
        raise NotFound("Lesson not found.")
    course = {"owner_id": context.course_owner_id, "status": context.course_status}
    if not can_edit_course(user=user, course=course):
        if not can_view_course(user=user, course=course):
            raise NotFound("Lesson not found.")
        raise PermissionDenied(f"Only the course owner or an administrator can {action}.")
    return context


def lesson_context_for_editor(*, user: Any, lesson_id: str) -> LessonContext:
    """The lesson if `user` may manage its video (see above), and 409 for archived courses."""
    context = _lesson_context_for_owner(user=user, lesson_id=lesson_id, action="manage this lesson's video")
    if context.course_status == "archived":
        raise Conflict("The course is archived.")
    return context


def video_upload_request(*, user: Any, lesson_id: str) -> UploadTicket:
    """`POST lessons/{id}/upload`: permission, quota, then the Mux upload (in that order: a refused
    request never reaches Mux)."""
    context = lesson_context_for_editor(user=user, lesson_id=lesson_id)
    upload_quota_consume(user_id=int(user.id))
    return video_upload_start(lesson_id=context.lesson_id, title=context.title)


@dataclass(frozen=True)
class AdminUploadResult:
    ticket: UploadTicket
    lesson: dict[str, Any]


def admin_upload_request(
    *,
    user: Any,
    lesson_id: str | None = None,
    course_id: str | None = None,
    title: str | None = None,
    description: str = "",
) -> AdminUploadResult:
    """The seed's `POST /admin/uploads`: an upload for an existing lesson, or for a new lesson created
    in `course_id` first. The quota is taken before the lesson is created, so a refused request
    creates nothing."""
    if lesson_id is None:
        course = course_get(course_id=course_id or "")
        if course is None:
            raise NotFound("Course not found.")
        upload_quota_consume(user_id=int(user.id))
        created = lesson_create(course=course, title=title or "", description=description)
        context = lesson_context_for_editor(user=user, lesson_id=created["id"])
    else:
        context = lesson_context_for_editor(user=user, lesson_id=lesson_id)
        upload_quota_consume(user_id=int(user.id))
    ticket = video_upload_start(lesson_id=context.lesson_id, title=context.title)
    stored = lesson_get(lesson_id=context.lesson_id)
    if stored is None:
        raise NotFound("Lesson not found.")
    lesson = {
        "id": stored["id"],
        "course_id": stored["course_id"],
        "title": stored["title"],
        "description": stored["description"],
        "duration": stored["duration"],
        "is_preview": stored["is_preview"],
        "video_status": str(stored["video"].get("status") or STATUS_NONE),
    }
    return AdminUploadResult(ticket=ticket, lesson=lesson)


def video_delete_request(*, user: Any, lesson_id: str) -> None:
    """`DELETE lessons/{id}/video` (allowed on archived courses: it stops paying for the asset)."""
    context = _lesson_context_for_owner(user=user, lesson_id=lesson_id, action="delete this lesson's video")
    video_delete_for_lesson(lesson={"id": context.lesson_id})


def video_upload_start(*, lesson_id: str, title: str = "") -> UploadTicket:
    """Create a Mux direct upload for the lesson and make it its pipeline (status waiting_upload).

    The caller has already checked permissions and the quota. Any previous playable video stays playable.
    """
    repo = LessonVideoRepository()
    upload = mux.create_direct_upload(lesson_id=lesson_id, title=title or None)
    if not upload.url:
        _upload_cancel_quietly(upload.id)
        raise IntegrationError("The video service returned no upload URL.")
    try:
        previous = _pipeline_replace(repo=repo, lesson_id=lesson_id, upload_id=upload.id)
    except Exception:
        _upload_cancel_quietly(upload.id)  # nobody will ever get this URL
        raise
    if previous.get("status") == STATUS_WAITING_UPLOAD and previous.get("upload_id"):
        # The instructor asked again before sending bytes: the old URL must stop accepting uploads.
        replaced = _upload_cancel_quietly(str(previous["upload_id"]))
        if replaced is not None and replaced.asset_id:
            mux_delete_quietly(replaced.asset_id)
    current = repo.get(lesson_id=lesson_id)
    if current is not None:
        _retired_assets_drain(repo=repo, lesson=current, strict=False)
    return UploadTicket(
        upload_id=upload.id, upload_url=upload.url, expires_at=upload.expires_at, lesson_id=lesson_id
    )


def _pipeline_replace(*, repo: LessonVideoRepository, lesson_id: str, upload_id: str) -> VideoState:
    for _ in range(CAS_ATTEMPTS):
        current = repo.get(lesson_id=lesson_id)
        if current is None:
            raise NotFound("Lesson not found.")
        old = current.video
        new = dict(old)
        retired = list(old.get("retired_asset_ids") or [])
        old_asset = old.get("asset_id")
        if old_asset and old_asset != old.get("playback_asset_id") and old_asset not in retired:
            retired.append(old_asset)  # an unfinished or errored previous asset nobody can play
        new.update(
            status=STATUS_WAITING_UPLOAD,
            upload_id=upload_id,
            asset_id=None,
            event_at=None,
            errors=None,
            retired_asset_ids=retired,
        )
        if repo.compare_and_set(lesson_id=lesson_id, expected_rev=int(old.get("rev") or 0), video=new):
            lesson_cache_invalidate(lesson_id=lesson_id, course_id=current.course_id)
            return old
    raise Conflict("The lesson's video changed repeatedly; try again.")


def _upload_cancel_quietly(upload_id: str) -> mux.Upload | None:
    try:
        return mux.cancel_direct_upload(upload_id)
    except IntegrationError:
        logger.warning("could not cancel upload %s", upload_id)
        return None


def mux_delete_quietly(asset_id: str) -> None:
    try:
        mux.delete_asset(asset_id)
    except IntegrationError:
        logger.warning("could not delete asset %s", asset_id)


# --- Deletion ----------------------------------------------------------------------------------------


def _lesson_id_of(lesson: Any) -> str:
    if isinstance(lesson, LessonVideo):
        return lesson.lesson_id
    if isinstance(lesson, Mapping):
        value = lesson.get("id") or lesson.get("_id")
    else:
        value = getattr(lesson, "id", None)
    if not value:
        raise ValueError("lesson has no id")
    return str(value)


def video_delete_for_lesson(*, lesson: Any) -> None:
    """Delete the lesson's Mux assets (and cancel a pending upload); video status becomes `none`.

    Mux first, then MongoDB: if Mux fails, nothing changes here and the caller answers 502. For the
    catalog's lesson DELETE, call this before removing the lesson document. `lesson` may be the
    catalog's lesson (dict with `id`, or an object with `.id`) or a `LessonVideo`.
    """
    lesson_id = _lesson_id_of(lesson)
    repo = LessonVideoRepository()
    deleted: set[str] = set()
    for _ in range(CAS_ATTEMPTS):
        current = repo.get(lesson_id=lesson_id)
        if current is None:
            return
        video = current.video
        assets = {
            a
            for a in (
                video.get("asset_id"),
                video.get("playback_asset_id"),
                *(video.get("retired_asset_ids") or []),
            )
            if a
        }
        if video.get("status") == STATUS_WAITING_UPLOAD and video.get("upload_id"):
            upload = mux.cancel_direct_upload(str(video["upload_id"]))
            if upload.asset_id:
                assets.add(upload.asset_id)
        for asset_id in sorted(assets - deleted):
            mux.delete_asset(asset_id)
            deleted.add(asset_id)
        if (video.get("status") or STATUS_NONE) == STATUS_NONE and not assets:
            return
        if repo.compare_and_set(
            lesson_id=lesson_id,
            expected_rev=int(video.get("rev") or 0),
            video={"status": STATUS_NONE, "retired_asset_ids": []},
            duration=0.0,
        ):
            lesson_cache_invalidate(lesson_id=lesson_id, course_id=current.course_id)
            return
    raise Conflict("The lesson's video changed repeatedly; try again.")


# --- Demo data -----------------------------------------------------------------------------------------

DEMO_VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"LearnStream demo video (emulator placeholder)\n" * 64
SEED_PUT_TIMEOUT_SECONDS = 30


def seed_demo_video(*, lesson_id: str, data: bytes = DEMO_VIDEO_BYTES) -> UploadTicket | None:
    """For `seed_demo`: give a lesson a video the way a browser would (upload URL, then PUT the bytes).

    Idempotent: a lesson whose video is not `none` is left alone (returns None). With the emulator the
    lesson becomes ready after its ready delay, as soon as the webhook reaches the app (the emulator
    retries until the server is up); against real Mux, pass a real video file's bytes. No quota: this is
    an operator tool, never reachable over HTTP.
    """
    import urllib.request

    current = LessonVideoRepository().get(lesson_id=lesson_id)
    if current is None:
        raise NotFound("Lesson not found.")
    if (current.video.get("status") or STATUS_NONE) != STATUS_NONE:
        return None
    ticket = video_upload_start(lesson_id=lesson_id, title=current.title)
    if not ticket.upload_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise IntegrationError("Refusing to upload to an unexpected URL.")
    request = urllib.request.Request(ticket.upload_url, data=data, method="PUT")  # noqa: S310 - checked above
    request.add_header("Content-Type", "video/mp4")
    try:
        with urllib.request.urlopen(request, timeout=SEED_PUT_TIMEOUT_SECONDS) as response:  # noqa: S310  # nosec B310 - scheme checked above
            response.read()
    except OSError as exc:
        raise IntegrationError("Could not send the demo video to the upload URL.") from exc
    return ticket
