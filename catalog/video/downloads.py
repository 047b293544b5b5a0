"""Static MP4s for a course that starts offering downloads after its videos were uploaded.

New uploads of a downloadable course ask for the MP4 with the upload (`catalog/video/uploads.py`). When
an existing course is switched to `downloadable`, its ready videos get one too: a task (off the request:
one Mux call per lesson) asks Mux for each missing rendition; the `video.asset.static_rendition.*`
webhooks then record it as for new uploads. Idempotent: a lesson whose playable asset already has a
download entry is skipped.
"""

import logging

from django_tasks import task

from catalog.repositories.lessons import LessonRepository
from catalog.selectors import course_get
from learnstream.errors import IntegrationError
from streaming import mux

logger = logging.getLogger(__name__)


def course_downloads_request(*, course_id: str) -> int:
    """Ask Mux for the MP4 of every ready video of the course that has none; returns how many."""
    course = course_get(course_id=course_id)
    if course is None or not course["downloadable"]:
        return 0
    lessons = LessonRepository().get_many(lesson_ids=course["lesson_ids"])  # one query for the course
    requested = 0
    for lesson_id in course["lesson_ids"]:
        lesson = lessons.get(lesson_id)
        video = lesson["video"] if lesson else {}
        asset_id = video.get("playback_asset_id")
        if not asset_id or any(d.get("asset_id") == asset_id for d in video.get("downloads") or []):
            continue
        try:
            mux.create_static_rendition(str(asset_id), passthrough=lesson_id)
        except IntegrationError:
            logger.warning("could not request the MP4 of lesson %s (asset %s)", lesson_id, asset_id)
            continue
        requested += 1
    return requested


@task()
def request_course_downloads(course_id: str) -> int:
    """The Django Tasks entry point (immediate in development and tests, the database queue in production)."""
    return course_downloads_request(course_id=course_id)
