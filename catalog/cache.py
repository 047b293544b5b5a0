"""Every cache the catalog keeps: keys, lifetimes and invalidation rules, in one place.

Settings (declared in learnstream/settings.py): `CATALOG_CACHE_TTL_SECONDS`, `CATALOG_CACHE_STALE_SECONDS`,
`ENROLLMENT_CACHE_SECONDS`, `CATALOG_ANALYTICS_CACHE_SECONDS`.

1. Public catalog pages (course list, published course detail, published lesson lists), `cached_read`:
   - Every entry records the catalog *generation* it was computed under; every catalog write bumps the
     generation (`catalog_invalidate`), and an entry only counts while its generation is the current one,
     so no reader can be served a page computed before a write. Readers read the generation *before*
     querying MongoDB, so a page computed concurrently with a write carries the old generation and is
     never served. The generation and the entry are read together (one MGET): a hit is one Redis round
     trip, and a write is seen by every process at once.
   - An entry is fresh for the TTL after it was stored (the backstop for an invalidation lost while Redis
     was unreachable) and lives in Redis for the stale window; a stale entry is only used when MongoDB
     is down.
2. Hot lookups for playback and heartbeats: whether a user is actively enrolled, since when and until
   when (set by enroll/unenroll after commit; the expiry travels with the answer, so "expired" needs no
   PostgreSQL) and a lesson's access facts (dropped by every lesson write,
   `lesson_invalidate`, and for every lesson of a course by a layout or release-rule change,
   `course_lessons_invalidate`). A per-process map lesson → course (never stale: lessons never move to
   another course) lets one MGET fetch both. For release rules (catalog/release.py): a learner's set of
   completed lessons in a course. It may miss a recent completion (completions are final, so it can only
   under-report): a lock decided from it is confirmed against MongoDB before it refuses anything.
   Playback's lesson context (lesson, video, course status and owner, release rules) is kept like a
   public page, under the catalog generation, and read with the generation and the enrollment in one
   MGET (`lesson_context_cached`): warm playback reads no MongoDB. Enrolling reads the stored course
   the same way (`course_cached`), with the caller's enrollment answer and their active enrollment row
   as last read (`enrolled_row_remember`): the row only counts while the enrollment answer names the
   same start and expiry, so any enroll, unenroll, reactivation or renewal (each publishes a new
   answer) retires it, and enrolling again reads no store but Redis.
3. Course analytics: a copy per course in this process and in Redis, at most the analytics TTL old.
4. The upload quota counter (in the fail-closed "ratelimit" cache).
5. Transcripts: the plain text of a caption track, per track id. A track's text never changes (a
   replaced caption is a new track with a new id), so entries need no invalidation; they expire after
   `TRANSCRIPT_CACHE_SECONDS` only to bound memory.

The "default" cache ignores Redis errors (settings: IGNORE_EXCEPTIONS), so Redis down = cache miss.
"""

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

from django.conf import settings
from django.core.cache import cache, caches
from django.db import transaction

from catalog.types import Course, EnrollmentState, LessonAccess, LessonContext
from learnstream.counters import fixed_window_incr
from learnstream.errors import STORE_OUTAGES

T = TypeVar("T")

logger = logging.getLogger(__name__)

GENERATION_KEY = "catalog:gen"

# Page recomputes (see `cached_read`): the lock outlives any recompute that can succeed (MongoDB's
# deadline is 2 s); a waiter gives up after RECOMPUTE_WAIT_SECONDS and computes itself.
BACKING_OFF = "backoff"  # the lock's value after a failed recompute; else the time it was taken
RECOMPUTE_LOCK_SECONDS = 10
RECOMPUTE_WAIT_SECONDS = 2.0
RECOMPUTE_POLL_SECONDS = 0.05
RECOMPUTE_BACKOFF_SECONDS = 5


def fresh_seconds() -> int:
    return int(settings.CATALOG_CACHE_TTL_SECONDS)


def stale_seconds() -> int:
    return int(settings.CATALOG_CACHE_STALE_SECONDS)


def enrollment_seconds() -> int:
    return int(settings.ENROLLMENT_CACHE_SECONDS)


def analytics_seconds() -> int:
    return int(settings.CATALOG_ANALYTICS_CACHE_SECONDS)


# --- keys ------------------------------------------------------------------------------------------
def catalog_key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"catalog:{kind}:{digest}"


def course_list_key(*, query_parts: tuple[str, ...], offset: int, limit: int) -> str:
    """The public course list page (its wire form) for one query and page."""
    return catalog_key("list", "rows", *query_parts, str(offset), str(limit))


def course_detail_key(course_id: str) -> str:
    """The course detail page (its wire form and access fields)."""
    return catalog_key("detail-page", course_id)


def course_lessons_key(*, course_id: str, offset: int, limit: int) -> str:
    """One page of a course's lessons (wire form and access fields)."""
    return catalog_key("lessons-page", course_id, str(offset), str(limit))


def enrollment_key(user_id: int, course_id: str) -> str:
    return f"catalog:enr:{user_id}:{course_id}"


def enrolled_row_key(user_id: int, course_id: str) -> str:
    return f"catalog:enr-row:{user_id}:{course_id}"


def lesson_access_key(lesson_id: str) -> str:
    return f"catalog:lesson-access:{lesson_id}"


def analytics_key(course_id: str) -> str:
    return f"catalog:analytics:{course_id}"


def curriculum_key(course_id: str) -> str:
    return catalog_key("curriculum", course_id)


def course_key(course_id: str) -> str:
    return f"catalog:course:{course_id}"


def lesson_context_key(lesson_id: str) -> str:
    return f"catalog:lesson-context:{lesson_id}"


def completed_lessons_key(user_id: int, course_id: str) -> str:
    return f"catalog:done:{user_id}:{course_id}"


def transcript_key(track_id: str) -> str:
    return f"catalog:transcript:{track_id}"


def upload_quota_key(user_id: int, window: int) -> str:
    return f"mux-uploads:{user_id}:{window}"


# --- 1. public catalog pages -------------------------------------------------------------------------
def _start_generation() -> Any:
    # A fresh Redis (or an evicted key): start from a time-based value so entries computed under an
    # earlier generation that happened to equal 1, 2, ... can never be resurrected.
    cache.add(GENERATION_KEY, time.time_ns(), timeout=None)
    return cache.get(GENERATION_KEY)


def catalog_invalidate() -> None:
    """Make every cached catalog page unreachable (called after each write that changes the catalog)."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # key missing: any new value invalidates the old keys
        cache.set(GENERATION_KEY, time.time_ns(), timeout=None)


class CachedRead:
    """Result of `cached_read`: the value and whether it came from a stale copy (MongoDB down)."""

    __slots__ = ("stale", "value")

    def __init__(self, value: Any, *, stale: bool) -> None:
        self.value = value
        self.stale = stale


def _recompute_lock_key(key: str, generation: Any) -> str:
    # Per generation: after a write, the new generation's recompute starts at once.
    return f"{key}:recompute:{generation}"


def cached_read(key: str, compute: Callable[[], tuple[T, bool]]) -> CachedRead:
    """Serve `key` from the cache when fresh; otherwise `compute()` → (value, cacheable).

    Stampede-proof: one process recomputes a key at a time (a short Redis lock). The others serve the
    current generation's copy while it does (it already reflects every write: the TTL is only a backstop),
    or, when there is no such copy (right after a write), wait briefly for the recompute and compute
    themselves only if it does not arrive. A recompute that fails because a store is down is logged and
    backs off for `RECOMPUTE_BACKOFF_SECONDS`: meanwhile the last copy is served, marked stale, without
    every request timing out on the store again. A hit costs one Redis round trip (generation and entry
    in one MGET).
    """
    found = cache.get_many([GENERATION_KEY, key])
    generation = found.get(GENERATION_KEY)
    entry = found.get(key)
    if generation is None:
        generation, entry = _start_generation(), None
    if entry is not None and entry.get("generation") != generation:
        entry = None  # computed before a later write: unusable, even as a stale copy
    if entry is not None and entry["stored_at"] + fresh_seconds() > time.time():
        return CachedRead(entry["value"], stale=False)
    if generation is None:  # Redis unreachable: no lock to share, nothing to store into
        value, _cacheable = compute()
        return CachedRead(value, stale=False)
    lock = _recompute_lock_key(key, generation)
    if not cache.add(lock, time.time(), timeout=RECOMPUTE_LOCK_SECONDS):
        held = cache.get(lock)
        finished = isinstance(held, float) and entry is not None and held <= entry["stored_at"]
        if entry is not None and not finished:
            return CachedRead(entry["value"], stale=held == BACKING_OFF)
        if finished:  # the lock of the recompute that stored this copy: take it over
            cache.set(lock, time.time(), timeout=RECOMPUTE_LOCK_SECONDS)
        else:
            waited = _wait_for_entry(key, generation)
            if waited is not None:
                return CachedRead(waited, stale=False)
            # Nobody delivered in time (a slow or crashed recompute): compute without the lock.
    try:
        value, cacheable = compute()
    except STORE_OUTAGES as exc:
        logger.warning("catalog cache: recompute of %s failed (%s); backing off", key, type(exc).__name__)
        cache.set(lock, BACKING_OFF, timeout=RECOMPUTE_BACKOFF_SECONDS)
        if entry is not None:
            return CachedRead(entry["value"], stale=True)
        raise
    if cacheable:
        cache.set(
            key,
            {"value": value, "stored_at": time.time(), "generation": generation},
            timeout=stale_seconds(),
        )
    if not cacheable or fresh_seconds() < RECOMPUTE_LOCK_SECONDS:
        # Otherwise the lock may simply expire: the new copy stays fresh for longer than the lock lives,
        # so nobody consults it meanwhile (and a miss costs one Redis round trip less).
        cache.delete(lock)
    return CachedRead(value, stale=False)


def _wait_for_entry(key: str, generation: Any) -> Any | None:
    """Poll briefly for a copy of the current generation that another process is computing."""
    deadline = time.monotonic() + RECOMPUTE_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(RECOMPUTE_POLL_SECONDS)
        entry = cache.get(key)
        if entry is not None and entry.get("generation") == generation:
            return entry["value"]
    return None


# --- 2. hot lookups ----------------------------------------------------------------------------------
# The enrollment entry: 0 = not actively enrolled; 1 = enrolled, start unknown (entries written before the
# start was cached); any larger number = enrolled since that POSIX time, without expiry; a pair
# (start or None, expiry) = enrolled since start until the expiry (`access_days`, catalog/policy.py).
_ENROLLED_START_UNKNOWN = 1


def _enrollment_value(
    *, active: bool, started_at: datetime | None, expires_at: datetime | None = None
) -> float | int | tuple[float | None, float]:
    if not active:
        return 0
    if expires_at is not None:
        return (started_at.timestamp() if started_at is not None else None, expires_at.timestamp())
    return started_at.timestamp() if started_at is not None else _ENROLLED_START_UNKNOWN


def _enrollment_state(value: Any) -> EnrollmentState | None:
    if value is None:
        return None
    if isinstance(value, tuple):
        return "active" if value[1] > time.time() else "expired"
    return "active" if value else "none"


def enrollment_cached(*, user_id: int, course_id: str) -> EnrollmentState | None:
    """The cached answer to "is this user actively enrolled, and is it still current?", or None when
    not cached."""
    return _enrollment_state(cache.get(enrollment_key(user_id, course_id)))


def enrollment_start_of(value: Any) -> tuple[bool, datetime | None] | None:
    """(active, start) from a cached enrollment entry; None when there is no entry."""
    if value is None:
        return None
    if isinstance(value, tuple):
        return True, datetime.fromtimestamp(value[0], tz=UTC) if value[0] is not None else None
    if not value:
        return False, None
    if value == _ENROLLED_START_UNKNOWN:
        return True, None
    return True, datetime.fromtimestamp(float(value), tz=UTC)


def enrollment_remember(
    *,
    user_id: int,
    course_id: str,
    active: bool,
    started_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> None:
    """Cache a value read from PostgreSQL. `add`, not `set`: a concurrent enroll/unenroll that already
    wrote the key wins over this older read."""
    cache.add(
        enrollment_key(user_id, course_id),
        _enrollment_value(active=active, started_at=started_at, expires_at=expires_at),
        timeout=enrollment_seconds(),
    )


def enrollment_changed(
    *,
    user_id: int,
    course_id: str,
    active: bool,
    started_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> None:
    """After an enroll/unenroll: drop the cached answer now (a reader then re-reads PostgreSQL) and write
    the new one once the transaction commits, so a rolled-back change is never cached."""
    key = enrollment_key(user_id, course_id)
    value = _enrollment_value(active=active, started_at=started_at, expires_at=expires_at)
    cache.delete(key)
    transaction.on_commit(lambda: cache.set(key, value, timeout=enrollment_seconds()))


def enrollments_changed(
    *, course_id: str, user_ids: list[int], started_at: datetime, expires_at: datetime | None
) -> None:
    """`enrollment_changed` (now active) for many learners of one course (staff enrollment): one DELETE
    now and one pipelined SET-many after commit, whatever the number of rows."""
    if not user_ids:
        return
    value = _enrollment_value(active=True, started_at=started_at, expires_at=expires_at)
    values = {enrollment_key(user_id, course_id): value for user_id in user_ids}
    cache.delete_many(list(values))
    transaction.on_commit(lambda: cache.set_many(values, timeout=enrollment_seconds()))


def learner_state_cached(
    *, user_id: int, course_id: str, with_completed: bool
) -> tuple[Any, list[str] | None]:
    """(raw enrollment entry, cached completed-lesson ids or None) in one round trip (MGET)."""
    keys = [enrollment_key(user_id, course_id)]
    if with_completed:
        keys.append(completed_lessons_key(user_id, course_id))
    found = cache.get_many(keys)
    done = found.get(completed_lessons_key(user_id, course_id)) if with_completed else None
    return found.get(keys[0]), done


def completed_lessons_remember(*, user_id: int, course_id: str, lesson_ids: list[str]) -> None:
    cache.set(completed_lessons_key(user_id, course_id), lesson_ids, timeout=enrollment_seconds())


# lesson id -> course id, per process. A lesson never moves to another course and ids are never reused,
# so this can never be stale. Bounded (cleared when full: it refills as used).
_LESSON_COURSE_MAX = 20_000
_lesson_course: dict[str, str] = {}


def _remember_course_of(*, lesson_id: str, course_id: str) -> None:
    if len(_lesson_course) >= _LESSON_COURSE_MAX:
        _lesson_course.clear()
    _lesson_course[lesson_id] = course_id


def lesson_access_cached(*, lesson_id: str) -> LessonAccess | None:
    access: LessonAccess | None = cache.get(lesson_access_key(lesson_id))
    if access is not None:
        _remember_course_of(lesson_id=access["lesson_id"], course_id=access["course_id"])
    return access


def lesson_access_remember(access: LessonAccess) -> None:
    cache.set(lesson_access_key(access["lesson_id"]), access, timeout=enrollment_seconds())
    _remember_course_of(lesson_id=access["lesson_id"], course_id=access["course_id"])


def lesson_access_and_enrollment_cached(
    *, lesson_id: str, user_id: int
) -> tuple[str, LessonAccess | None, EnrollmentState | None] | None:
    """(course id, cached access facts, cached enrollment answer) in one round trip (MGET), once this
    process knows the lesson's course; None when it does not (ask for each separately)."""
    course_id = _lesson_course.get(lesson_id)
    if course_id is None:
        return None
    access_key, enrollment = lesson_access_key(lesson_id), enrollment_key(user_id, course_id)
    found = cache.get_many([access_key, enrollment])
    return course_id, found.get(access_key), _enrollment_state(found.get(enrollment))


# Entries kept under the catalog generation (like the public pages, without their recompute lock: these
# are one small read each): valid while no catalog write happened since they were read.
def _generation_read(key: str, *extra: str) -> tuple[Any, Any, dict[str, Any]]:
    """(current generation, the value kept at `key` under it or None, the raw values of the `extra`
    keys) in one MGET. The generation is read with the entry, before any MongoDB read of the caller."""
    found = cache.get_many([GENERATION_KEY, key, *extra])
    generation = found.get(GENERATION_KEY)
    if generation is None:
        generation = _start_generation()
    entry = found.get(key)
    value = entry["value"] if entry is not None and entry.get("generation") == generation else None
    return generation, value, found


def _generation_store(key: str, value: Any, *, generation: Any) -> None:
    """Keep `value` (read after `generation` was) until the next catalog write, at most the catalog TTL
    (the backstop for an invalidation lost while Redis was unreachable)."""
    if generation is None:  # Redis unreachable: nothing to store into
        return
    cache.set(key, {"value": value, "generation": generation}, timeout=fresh_seconds())


def lesson_context_cached(
    *, lesson_id: str, user_id: int | None
) -> tuple[Any, LessonContext | None, EnrollmentState | None]:
    """(catalog generation, the lesson's cached playback context, `user_id`'s cached enrollment answer
    in its course) in one round trip; None for what is not cached. The context (lesson, video, course
    status and owner, release rules) is kept under the catalog generation, so every catalog write
    (lesson, video, course, layout) retires it at once. The enrollment is asked for once this process
    knows the lesson's course: from its own MongoDB read, or from the first context another process
    cached (else every process but the one that read MongoDB would pay a second round trip forever)."""
    course_id = _lesson_course.get(lesson_id)
    extra = [enrollment_key(user_id, course_id)] if course_id is not None and user_id is not None else []
    generation, context, found = _generation_read(lesson_context_key(lesson_id), *extra)
    if context is not None and course_id is None:
        _remember_course_of(lesson_id=lesson_id, course_id=context.course_id)
    if not extra or (context is not None and context.course_id != course_id):
        return generation, context, None
    return generation, context, _enrollment_state(found.get(extra[0]))


def lesson_context_remember(context: LessonContext, *, generation: Any) -> None:
    _generation_store(lesson_context_key(context.lesson_id), context, generation=generation)
    _remember_course_of(lesson_id=context.lesson_id, course_id=context.course_id)


class LearnerCourse(NamedTuple):
    generation: Any  # the catalog generation, read before any MongoDB read of the caller
    course: Course | None  # the stored course as last read under it
    enrollment: EnrollmentState | None  # the caller's cached enrollment answer
    enrolled_row: dict[str, Any] | None  # their active enrollment row's fields as remembered, while current


def course_cached(*, course_id: str, user_id: int) -> LearnerCourse:
    """The course, the caller's enrollment answer and active enrollment row in one round trip; None for
    what is not cached (or, for the row, no longer current)."""
    enrolled, row_key = enrollment_key(user_id, course_id), enrolled_row_key(user_id, course_id)
    generation, course, found = _generation_read(course_key(course_id), enrolled, row_key)
    entry, row = found.get(enrolled), found.get(row_key)
    state = _enrollment_state(entry)
    if state != "active" or row is None or row.get("period") != _active_period(entry):
        row = None
    return LearnerCourse(generation, course, state, row["row"] if row is not None else None)


def _active_period(value: Any) -> tuple[float | None, float | None] | None:
    """(start, expiry) POSIX times named by an active enrollment entry; None for an inactive one or one
    whose start is unknown."""
    if isinstance(value, tuple):
        return value[0], value[1]
    if not value or value == _ENROLLED_START_UNKNOWN:
        return None
    return float(value), None


def enrolled_row_remember(
    *, user_id: int, course_id: str, row: dict[str, Any], started_at: datetime, expires_at: datetime | None
) -> None:
    """Keep the caller's active enrollment row (its fields, opaque here) with the period it was read with: it
    is served by `course_cached` only while the enrollment answer names the same period."""
    period = _active_period(_enrollment_value(active=True, started_at=started_at, expires_at=expires_at))
    entry = {"row": row, "period": period}
    cache.set(enrolled_row_key(user_id, course_id), entry, timeout=enrollment_seconds())


def course_remember(course: Course, *, generation: Any) -> None:
    _generation_store(course_key(course["id"]), course, generation=generation)


def lesson_invalidate(*, lesson_id: str) -> None:
    """Forget every cached view of a lesson (its access facts and every catalog page). Call after any
    change to a lesson document, including its `video` sub-document or `duration`."""
    cache.delete(lesson_access_key(lesson_id))
    catalog_invalidate()


def course_lessons_invalidate(*, lesson_ids: list[str]) -> None:
    """After a change of a course's layout or release rules: every lesson's access facts (they carry
    its previous lesson and the course's `sequential`) and every catalog page."""
    if lesson_ids:
        cache.delete_many([lesson_access_key(lid) for lid in lesson_ids])
    catalog_invalidate()


# --- 3. course analytics -------------------------------------------------------------------------------
# Process-local copies: course id -> (computed_at, value). Bounded: analytics are an owner/admin page, so
# a few courses are hot at a time; past the bound expired copies go, then everything.
_LOCAL_MAX = 256
_local_copies: dict[str, tuple[float, Any]] = {}
_local_lock = threading.Lock()


def _keep_locally(course_id: str, computed_at: float, value: Any, now: float, ttl: int) -> None:
    with _local_lock:
        if len(_local_copies) >= _LOCAL_MAX and course_id not in _local_copies:
            for cid in [c for c, (at, _v) in _local_copies.items() if at + ttl <= now]:
                del _local_copies[cid]
            if len(_local_copies) >= _LOCAL_MAX:
                _local_copies.clear()
        _local_copies[course_id] = (computed_at, value)


def analytics_read(*, course_id: str, compute: Callable[[], T]) -> T:
    """A course's analytics at most `CATALOG_ANALYTICS_CACHE_SECONDS` old: from this process's copy (no
    round trip), else Redis's (one GET, shared by every worker), else `compute()` stored in both. The time
    it was computed travels with it, so whichever layer serves it, the figures are at most that old."""
    ttl = analytics_seconds()
    if ttl <= 0:
        return compute()
    now = time.time()
    held = _local_copies.get(course_id)
    if held is not None and held[0] + ttl > now:
        value: T = held[1]
        return value
    key = analytics_key(course_id)
    entry: dict[str, Any] | None = cache.get(key)
    if entry is None or entry["computed_at"] + ttl <= now:
        # Stamped before the reads start: the age bound holds even for a slow computation.
        entry = {"computed_at": now, "value": compute()}
        cache.set(key, entry, timeout=ttl)
    _keep_locally(course_id, entry["computed_at"], entry["value"], now, ttl)
    stored: T = entry["value"]
    return stored


# --- 4. upload quota -----------------------------------------------------------------------------------
def upload_quota_count(*, user_id: int, window: int, ttl: int) -> int:
    """Count one upload in the user's window and return the count. Fails closed: uploads cost money, so
    a Redis that cannot count refuses them (the error propagates as a 503)."""
    return fixed_window_incr(caches["ratelimit"], upload_quota_key(user_id, window), ttl)


# --- 5. transcripts ----------------------------------------------------------------------------------
TRANSCRIPT_CACHE_SECONDS = 24 * 3600


def transcript_read(*, track_id: str, compute: Callable[[], str]) -> str:
    """A track's transcript from the cache, else `compute()` (a MongoDB read or a fetch from Mux), kept."""
    key = transcript_key(track_id)
    cached = cache.get(key)
    if isinstance(cached, str):
        return cached
    text = compute()
    cache.set(key, text, timeout=TRANSCRIPT_CACHE_SECONDS)
    return text
