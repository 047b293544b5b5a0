"""Per-endpoint store round-trip budgets (steady state) and the probe that measures them.

The budget is the most each request may cost: PostgreSQL queries, MongoDB commands, Redis round
trips. tests/test_budgets.py asserts them; bench/ prints the measured figures next to throughput.
"Steady state" means the second identical request, after the first warmed the caches, except for
the endpoints whose first call is the point (login, enroll, webhook, cold list).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from tests import scenario
from tests.support.roundtrips import RoundTrips, count_round_trips

# endpoint: (PG queries, Mongo commands, Redis round trips). Measured, then frozen: any growth (an N+1,
# a lost cache) fails tests/test_budgets.py. Savepoints are not counted.
BUDGETS: dict[str, tuple[int, int, int]] = {
    "login": (4, 0, 3),  # user, outstanding token + lineage; rate-limit counters, auth-state warm
    "me": (1, 0, 1),  # the profile itself (name/email are not in the token)
    # instructors' names in one batched query; count, page, lesson stats; Redis: the page read, the
    # generation's start, the recompute lock (one recompute per key: catalog/cache.py), the page stored.
    "course_list_cold": (1, 3, 5),
    "course_list_cached": (0, 0, 1),  # one Redis read serves the page
    "course_detail_cached": (0, 0, 1),
    # existing row? insert; the course must be published (read from MongoDB when not cached, then kept
    # under the catalog generation: Redis = revocation, course + enrollment MGET, keep it, DEL + SET).
    "enroll_first": (2, 1, 5),
    # the cached course, enrollment answer and remembered active row (one MGET): no store but Redis
    "enroll_again": (0, 0, 2),
    # issue 4: no PostgreSQL, at most one MongoDB read; warm: context + enrollment in one MGET, revocation
    "lesson_playback": (0, 0, 2),
    "progress_heartbeat": (0, 1, 2),  # issue 3: no PostgreSQL, one MongoDB upsert
    # issue 12: with watched segments still one upsert (the union merges inside it) unless a transition
    "progress_heartbeat_segments": (0, 1, 2),
    "webhook_ingest": (4, 0, 0),  # dedupe + insert; processing inline here (ImmediateBackend)
    "course_analytics": (0, 1, 1),  # one $facet aggregation
}

# One stored webhook event processed by the worker (webhooks.services.webhook_event_process), not an
# endpoint: the drain rate of the inbox is bounded by it. PG: the lease claim and its release (the task
# queue's own claim/complete comes on top in production). Mongo: the lesson read, and the
# compare-and-set write when the state changes. Redis: the cache invalidation after a write.
PROCESSING_BUDGETS: dict[str, tuple[int, int, int]] = {
    "webhook_event_applied": (2, 2, 2),
    "webhook_event_unchanged": (2, 1, 0),
}


def measure(api: scenario.Api, world: scenario.World, paths: scenario.Paths) -> dict[str, RoundTrips]:
    """Run each probe once (after its warm-up) and return what it cost."""
    from django.core.cache import caches

    actors = world.actors
    enrolled, owner = actors.token("enrolled"), actors.token("owner")
    results: dict[str, RoundTrips] = {}

    def probe(
        name: str, call: Callable[[], scenario.Reply], ok: tuple[int, ...] = (200,), warm: bool = True
    ) -> None:
        if warm:
            call()
        with count_round_trips() as trips:
            reply = call()
        assert reply.status in ok, f"{name}: {reply.status} {reply.body!r}"
        results[name] = trips

    guest = {"email": actors.users["guest"].email, "password": scenario.PASSWORD}
    probe("login", lambda: api("POST", paths("api/v1/auth/token"), body=guest), warm=False)
    probe("me", lambda: api("GET", paths("api/v1/auth/me"), token=enrolled))
    caches["default"].clear()
    probe("course_list_cold", lambda: api("GET", paths("api/v1/courses")), warm=False)
    probe("course_list_cached", lambda: api("GET", paths("api/v1/courses")))
    probe("course_detail_cached", lambda: api("GET", paths("api/v1/courses/{}", world["course"])))
    student = actors.token("student")
    api("GET", paths("api/v1/auth/me"), token=student)  # the student's auth state is warm, as in steady use
    enroll = paths("api/v1/courses/{}/enroll", world["course"])
    probe("enroll_first", lambda: api("POST", enroll, token=student), ok=(201,), warm=False)
    probe("enroll_again", lambda: api("POST", enroll, token=student))
    probe(
        "lesson_playback",
        lambda: api("GET", paths("api/v1/lessons/{}/playback", world["lesson"]), token=enrolled),
    )
    heartbeat = paths("api/v1/lessons/{}/progress", world["lesson"])
    probe("progress_heartbeat", lambda: api("PUT", heartbeat, token=enrolled, body={"position": 30}))
    probe(
        "progress_heartbeat_segments",
        lambda: api("PUT", heartbeat, token=enrolled, body={"position": 31, "segments": [[28.5, 31]]}),
    )

    def webhook() -> scenario.Reply:
        # An event type no lesson state depends on (track events now update captions): ingest alone.
        data = {"id": f"budget-{uuid.uuid4().hex[:8]}", "status": "ready"}
        return api(
            "POST",
            "/webhooks/mux",
            body=scenario.signed_webhook(scenario.mux_event("video.asset.warning", data)),
        )

    probe("webhook_ingest", webhook, warm=False)
    probe(
        "course_analytics",
        lambda: api("GET", paths("api/v1/courses/{}/analytics", world["course"]), token=owner),
    )
    return results


def over_budget(results: dict[str, RoundTrips]) -> list[str]:
    problems = []
    for name, trips in results.items():
        pg, mongo, redis = BUDGETS[name]
        if trips.pg > pg or trips.mongo > mongo or trips.redis > redis:
            problems.append(
                f"{name}: {trips.as_dict()} > budget pg={pg} mongo={mongo} redis={redis}\n{trips.describe()}"
            )
    return problems


def table(results: dict[str, Any]) -> str:
    lines = [
        "| endpoint | PG queries | Mongo commands | Redis round trips | budget (PG/Mongo/Redis) |",
        "|---|---|---|---|---|",
    ]
    for name, trips in results.items():
        pg, mongo, redis = BUDGETS[name]
        lines.append(f"| {name} | {trips.pg} | {trips.mongo} | {trips.redis} | {pg}/{mongo}/{redis} |")
    return "\n".join(lines)
