"""Races against the live gunicorn (3 workers x 4 threads) with real client threads: refresh-token
reuse (concurrent refresh), duplicate webhook deliveries, webhook acks fast
under load, concurrent enrollment, concurrent heartbeats. Every thread waits on one
barrier so the requests really overlap; no 5xx is tolerated anywhere.
"""

from __future__ import annotations

import random
import statistics
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests import scenario
from tests.support import servers

pytestmark = [pytest.mark.live, pytest.mark.slow]


def race(n: int, request: Callable[[int], servers.HttpResult]) -> list[servers.HttpResult]:
    """Run `request(i)` for i in range(n) on n threads released together by a barrier."""
    barrier = threading.Barrier(n)

    def go(i: int) -> servers.HttpResult:
        barrier.wait(timeout=30)
        return request(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(go, range(n)))


def statuses(results: list[servers.HttpResult]) -> Counter[int]:
    return Counter(r.status for r in results)


@pytest.fixture
def world(live: Any) -> scenario.World:
    api = scenario.live_api(live.base_url)
    return scenario.build_world(api, scenario.make_actors("race"), scenario.Paths())


def test_50_parallel_enrolls_make_one_row(live: Any, world: scenario.World) -> None:
    from catalog.models import Enrollment

    paths = scenario.Paths()
    token = world.actors.token("student")
    url = paths("api/v1/courses/{}/enroll", world["course"])

    results = race(50, lambda _i: live.request("POST", url, token=token))

    assert statuses(results) == Counter({201: 1, 200: 49}), [(r.status, r.body[:120]) for r in results]
    rows = Enrollment.objects.filter(user_id=world.actors.user_id("student"), course_id=world["course"])
    assert rows.count() == 1
    assert {r.json()["id"] for r in results} == {rows.get().pk}


def test_20_parallel_refreshes_have_one_winner_and_revoke_the_family(
    live: Any, world: scenario.World
) -> None:
    """No grace window: one rotation wins; the 19 replays of the now-rotated token are reuse, which
    revokes the whole family, the winner's new tokens included (reuse detection)."""
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    from accounts.models import TokenLineage
    from accounts.tokens import issue_token_pair, token_digest

    user = world.actors.users["guest"]
    _access, refresh = issue_token_pair(user)
    parent = OutstandingToken.objects.get(token=token_digest(refresh))  # only a digest is stored
    family = TokenLineage.objects.get(token=parent).family

    results = race(
        20, lambda _i: live.request("POST", "/api/v1/auth/token/refresh/", json_body={"refresh": refresh})
    )

    assert statuses(results) == Counter({200: 1, 401: 19}), [(r.status, r.body[:120]) for r in results]
    winner = next(r.json() for r in results if r.status == 200)
    children = TokenLineage.objects.filter(parent=parent)
    assert children.count() == 1, "the family forked"
    assert children.get().token.jti != parent.jti
    family_tokens = OutstandingToken.objects.filter(lineage__family=family)
    assert family_tokens.count() == 2
    assert BlacklistedToken.objects.filter(token__in=family_tokens).count() == 2, "family not revoked"
    again = live.request("POST", "/api/v1/auth/token/refresh/", json_body={"refresh": winner["refresh"]})
    assert again.status == 401
    me = live.request("GET", "/api/v1/auth/me/", token=winner["access"])
    assert me.status == 401, "the revoked family's access token still works"


def _post(live: Any, body: bytes) -> servers.HttpResult:
    headers = {"Content-Type": "application/json", "Mux-Signature": live.mux.signature(body)}
    return live.request("POST", "/webhooks/mux", body=body, headers=headers)


def test_10_parallel_deliveries_of_one_webhook_are_processed_once(live: Any, world: scenario.World) -> None:
    """The upload flow runs with the emulator's deliveries held; we deliver the earlier events once,
    then the first-ever delivery of `video.asset.ready` ten times at once (Mux retries overlap)."""
    from webhooks.models import WebhookEvent

    paths = scenario.Paths()
    api = scenario.live_api(live.base_url)
    owner = world.actors.token("owner")
    mux = live.mux
    mux.hold_webhooks()
    try:
        upload = api("POST", paths("api/v1/lessons/{}/upload", world["lesson"]), token=owner)
        assert upload.status == 201, upload.body
        assert mux.upload_bytes(upload.body["upload_url"], scenario.VIDEO_BYTES) in (200, 201)
        asset = mux.asset_for_upload(upload.body["upload_id"])
        mux.make_ready(asset["id"], duration=120.0)
        events = mux.events()
        ready = [
            e
            for e in events
            if e["type"] == "video.asset.ready" and e["payload"]["data"]["id"] == asset["id"]
        ]
        assert len(ready) == 1
        for event in events:
            if event["type"] != "video.asset.ready":
                assert _post(live, event["body"].encode()).status == 200
        assert (
            api("GET", paths("api/v1/lessons/{}", world["lesson"]), token=owner).body["video_status"]
            != "ready"
        )
        body = ready[0]["body"].encode()

        results = race(10, lambda _i: _post(live, body))

        assert statuses(results) == Counter({200: 10}), [(r.status, r.body[:120]) for r in results]
        assert sorted(r.json()["duplicate"] for r in results) == [False] + [True] * 9
        row = WebhookEvent.objects.get(event_id=ready[0]["id"])
        assert row.type == "video.asset.ready"
        assert row.status == "processed"
        assert row.attempts == 1, "processed more than once"
        lesson = api("GET", paths("api/v1/lessons/{}", world["lesson"]), token=owner).body
        assert lesson["video_status"] == "ready"
        assert lesson["duration"] == 120.0
    finally:
        mux.release_webhooks()  # the emulator's own (now duplicate) deliveries: acknowledged, not reprocessed
        mux.flush_webhooks()
    assert WebhookEvent.objects.filter(event_id=ready[0]["id"]).count() == 1
    assert WebhookEvent.objects.get(event_id=ready[0]["id"]).attempts == 1


def test_20_parallel_heartbeats_keep_the_maximum(live: Any, world: scenario.World) -> None:
    from learnstream import mongo

    paths = scenario.Paths()
    token = world.actors.token("enrolled")
    url = paths("api/v1/lessons/{}/progress", world["lesson"])
    positions = [float(p) for p in range(10, 210, 10)]  # 20 heartbeats, 10 s .. 200 s
    random.Random(7).shuffle(positions)

    results = race(20, lambda i: live.request("PUT", url, token=token, json_body={"position": positions[i]}))

    assert statuses(results) == Counter({200: 20}), [(r.status, r.body[:120]) for r in results]
    # Every answer reflects a max at least as large as the position it carried.
    for position, result in zip(positions, results, strict=True):
        assert result.json()["max_position"] >= position
    from bson import ObjectId

    query = {"user_id": world.actors.user_id("enrolled"), "lesson_id": ObjectId(world["lesson"])}
    docs = list(mongo.get_db()["progress"].find(query))
    assert len(docs) == 1
    assert docs[0]["max_position"] == max(positions)
    final = live.request("GET", paths("api/v1/courses/{}/progress", world["course"]), token=token)
    assert final.status == 200
    lesson_rows = [row for row in final.json()["lessons"] if row["lesson_id"] == world["lesson"]]
    assert lesson_rows[0]["max_position"] == max(positions)


def test_webhooks_ack_fast_under_catalog_load(live: Any, world: scenario.World) -> None:
    """200 webhook deliveries while 4 threads read the catalog: no 5xx, p99 < 2 s."""
    from webhooks.models import WebhookEvent

    stop = threading.Event()
    catalog_errors: list[int] = []

    def read_catalog() -> int:
        count = 0
        while not stop.is_set():
            result = live.request("GET", "/api/v1/courses/")
            if result.status != 200:
                catalog_errors.append(result.status)
            count += 1
        return count

    def deliver(i: int) -> servers.HttpResult:
        data = {"id": f"track-{i}", "asset_id": "load-asset", "type": "text", "status": "ready"}
        raw = scenario.signed_webhook(scenario.mux_event("video.asset.track.ready", data))
        return live.request(
            "POST",
            "/webhooks/mux",
            body=raw.body,
            headers={"Content-Type": "application/json", **raw.headers},
        )

    with ThreadPoolExecutor(max_workers=12) as pool:
        readers = [pool.submit(read_catalog) for _ in range(4)]
        results = list(pool.map(deliver, range(200)))
        stop.set()
        reads = sum(f.result() for f in readers)

    assert statuses(results) == Counter({200: 200})
    assert not catalog_errors
    latencies = sorted(r.elapsed for r in results)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    assert p99 < 2.0, f"webhook p99 {p99:.3f}s (median {statistics.median(latencies):.3f}s)"
    assert WebhookEvent.objects.filter(type="video.asset.track.ready").count() == 200
    assert reads > 0
