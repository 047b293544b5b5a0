"""Who may watch a lesson, and their signed playback URLs.

The hot path of the product. Warm: the lesson's context and the viewer's enrollment from one Redis
round trip, no MongoDB or PostgreSQL query, no Mux API call (tokens are signed locally by
`streaming.signing`). After a catalog write, one MongoDB read (lesson + course in one aggregate).
"""

from dataclasses import dataclass
from typing import Any

from catalog import access
from catalog.policy import EnrollmentExpired
from catalog.selectors import enrollment_state
from catalog.selectors.release import LessonRules, require_lesson_open
from catalog.services.common import now
from catalog.types import EnrollmentState, LessonContext
from catalog.video.lessons import LESSON_NOT_FOUND, course_ref_of, lesson_for_viewer
from catalog.video.state import STATUS_ERRORED, STATUS_NONE
from catalog.video.tracks import ready_download, ready_tracks
from learnstream.errors import Conflict, NotAuthenticated, NotFound
from learnstream.permissions import Actor
from streaming.signing import PlaybackGrant, playback_grant


def playback_access_check(
    *, actor: Actor, context: LessonContext, enrollment: EnrollmentState | None = None
) -> bool:
    """Who may watch: the course's editors, enrolled learners (an expired enrollment → 403
    `enrollment_expired`); anyone for a preview lesson of a published course. `enrollment`: the
    caller's answer when the cache already gave it. Returns whether the caller manages the course
    (owner or admin)."""
    course = access.require_visible(actor, course_ref_of(context), not_found=LESSON_NOT_FOUND)
    if access.can_edit(actor, owner_id=course.owner_id):
        return True
    if context.is_preview:
        return False
    if actor.id is None:
        raise NotAuthenticated("Sign in and enroll to watch this lesson.")
    state = enrollment or enrollment_state(user_id=actor.id, course_id=context.course_id)
    if state == "expired":
        raise EnrollmentExpired()
    access.require_learner(
        actor,
        course,
        enrolled=state == "active",
        forbidden="Enroll in the course to watch this lesson.",
        not_found=LESSON_NOT_FOUND,
    )
    return False


@dataclass(frozen=True)
class PlaybackTrack:
    id: str
    language_code: str
    name: str
    url: str


@dataclass(frozen=True)
class LessonPlayback:
    grant: PlaybackGrant
    tracks: list[PlaybackTrack]  # ready caption tracks, with URLs signed like the stream (aud v)
    download_url: str | None  # a downloadable course's MP4, once Mux has it


def playback_for_lesson(*, actor: Actor, lesson_id: str) -> LessonPlayback:
    context, enrollment = lesson_for_viewer(lesson_id=lesson_id, user_id=actor.id)
    if context is None:
        raise NotFound(LESSON_NOT_FOUND)
    manages = playback_access_check(actor=actor, context=context, enrollment=enrollment)
    require_lesson_open(actor=actor, rules=LessonRules.of_context(context), now=now())
    playback_id = context.video.get("playback_id")
    if not playback_id:
        status = context.video.get("status") or STATUS_NONE
        details: dict[str, Any] = {"video_status": status}
        errors = context.video.get("errors")
        if manages and status == STATUS_ERRORED and isinstance(errors, dict):
            details["errors"] = errors  # Mux's own words, for the instructor who uploaded the file
        raise Conflict("The lesson's video is not ready yet.", details=details)
    grant = playback_grant(playback_id=str(playback_id))
    tracks = [
        PlaybackTrack(
            id=str(t["id"]),
            language_code=str(t.get("language_code") or ""),
            name=str(t.get("name") or ""),
            url=grant.text_track_url(str(t["mux_track_id"])),
        )
        for t in ready_tracks(context.video)
        if t.get("mux_track_id")
    ]
    download = ready_download(context.video) if context.course_downloadable else None
    download_url = grant.static_rendition_url(str(download["name"])) if download else None
    return LessonPlayback(grant=grant, tracks=tracks, download_url=download_url)
