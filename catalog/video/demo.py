"""Demo data for `manage.py seed_demo`: a lesson gets a video the way a browser would give it one."""

import urllib.request

from catalog.repositories.lessons import LessonRepository
from catalog.video.lessons import LESSON_NOT_FOUND
from catalog.video.state import STATUS_NONE
from catalog.video.uploads import UploadTicket, video_upload_start
from learnstream.errors import IntegrationError, NotFound
from streaming import mux

DEMO_VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"LearnStream demo video (emulator placeholder)\n" * 64
SEED_PUT_TIMEOUT_SECONDS = 30


def seed_demo_video(*, lesson_id: str, data: bytes = DEMO_VIDEO_BYTES) -> UploadTicket | None:
    """Give a lesson a video: upload URL, then PUT the bytes.

    The upload asks Mux for English auto captions, so the demo shows a caption track too.
    Idempotent: a lesson whose video is not `none` is left alone (returns None). With the emulator the
    lesson becomes ready after its ready delay, as soon as the webhook reaches the app (the emulator
    retries until the server is up); against real Mux, pass a real video file's bytes. No quota: this is
    an operator tool, never reachable over HTTP.
    """
    current = LessonRepository().video_get(lesson_id=lesson_id)
    if current is None:
        raise NotFound(LESSON_NOT_FOUND)
    if (current.video.get("status") or STATUS_NONE) != STATUS_NONE:
        return None
    ticket = video_upload_start(
        lesson_id=lesson_id,
        title=current.title,
        generated_subtitles=[mux.GeneratedSubtitles(language_code="en", name="English (auto)")],
    )
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
