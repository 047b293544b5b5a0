"""A small world of real users, tokens and catalog objects, built through the public HTTP API.

Seven actors (the columns of the authorization matrix):
- anonymous        no credentials
- student          a student with no enrollment
- enrolled         a student enrolled in `course` (with progress on `lesson`)
- other_student    a student enrolled in `other_course` (a BOLA peer with objects of their own)
- owner            the instructor who owns `course`, `draft_course` and their lessons
- other_instructor an instructor who owns `other_course` only
- admin            an admin

Objects are created through the API exactly as a client would (POST courses, lessons, publish,
enroll, heartbeat), so the scenario depends on the HTTP contract of docs/api.md, not on internal function
names. Users and tokens are created with the real user manager and `accounts.tokens.issue_token_pair`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from tests import routes

ROLES = ("anonymous", "student", "enrolled", "other_student", "owner", "other_instructor", "admin")
USER_ROLES = {
    "student": "student",
    "enrolled": "student",
    "other_student": "student",
    "owner": "instructor",
    "other_instructor": "instructor",
    "admin": "admin",
}
PASSWORD = "proof-Passphrase-2024-x"


class ScenarioUnavailable(Exception):
    """An endpoint the scenario needs does not exist yet (other issues still in progress)."""


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Raw:
    """A request body sent byte-for-byte (e.g. a signed webhook) with its own headers."""

    body: bytes
    headers: dict[str, str]


class Api(Protocol):
    def __call__(self, method: str, path: str, *, token: str | None = None, body: Any = None) -> Reply: ...


def inprocess_api(host: str = "testserver") -> Api:
    """Requests through Django's test client (same process, same DB connection)."""
    from django.test import TestCase
    from rest_framework.test import APIClient

    client = APIClient(SERVER_NAME=host)

    def call(method: str, path: str, *, token: str | None = None, body: Any = None) -> Reply:
        extra: dict[str, Any] = {}
        if token:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        if isinstance(body, Raw):
            data: bytes | str = body.body
            for name, value in body.headers.items():
                extra["HTTP_" + name.upper().replace("-", "_")] = value
        else:
            data = json.dumps(body) if body is not None else ""
        # The test transaction never commits: run on_commit callbacks (task enqueues, cache
        # invalidation) as a real commit would, so in-process behaviour matches production.
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = client.generic(method, path, data=data, content_type="application/json", **extra)
        content = response.content
        try:
            parsed = json.loads(content) if content else None
        except ValueError:
            parsed = content
        return Reply(response.status_code, parsed, {k.lower(): v for k, v in response.items()})

    return call


def live_api(base_url: str) -> Api:
    from tests.support import servers

    def call(method: str, path: str, *, token: str | None = None, body: Any = None) -> Reply:
        if isinstance(body, Raw):
            headers = {"Content-Type": "application/json", **body.headers}
            result = servers.http_request(
                method, base_url + path, body=body.body, headers=headers, token=token
            )
        else:
            result = servers.http_request(method, base_url + path, json_body=body, token=token)
        try:
            parsed = result.json() if result.body else None
        except ValueError:
            parsed = result.body
        return Reply(result.status, parsed, result.headers)

    return call


class Paths:
    """Finds the concrete schema path for a documented route, whatever the trailing-slash style."""

    def __init__(self, schema: dict[str, Any] | None = None) -> None:
        self.schema = schema if schema is not None else routes.load_schema()
        self._by_norm: dict[str, str] = {}
        for path in self.schema.get("paths") or {}:
            self._by_norm.setdefault(routes.normalize(path), path)

    def has(self, template: str, method: str | None = None) -> bool:
        path = self._by_norm.get(routes.normalize(template))
        if path is None:
            return False
        return method is None or method.lower() in self.schema["paths"][path]

    def __call__(self, template: str, *ids: str | int) -> str:
        """paths("api/v1/courses/{}/enroll", course_id) -> "/api/v1/courses/<id>/enroll"."""
        path = self._by_norm.get(routes.normalize(template))
        if path is None:
            raise ScenarioUnavailable(f"{template} is not in the OpenAPI schema yet")
        parts = iter(str(i) for i in ids)
        return routes._PARAM.sub(lambda _m: next(parts), path)


@dataclass
class Actors:
    users: dict[str, Any]
    tokens: dict[str, str | None]
    refresh: dict[str, str | None]

    def token(self, role: str) -> str | None:
        return self.tokens[role]

    def user_id(self, role: str) -> int:
        return int(self.users[role].pk)


def make_actors(prefix: str = "proof") -> Actors:
    from accounts.models import User
    from accounts.tokens import issue_token_pair

    users: dict[str, Any] = {"anonymous": None}
    tokens: dict[str, str | None] = {"anonymous": None}
    refresh: dict[str, str | None] = {"anonymous": None}
    tag = uuid.uuid4().hex[:8]
    # "guest" is not a matrix column: it is the account an anonymous caller logs in / refreshes as.
    for role, user_role in {**USER_ROLES, "guest": "student"}.items():
        user = User.objects.create_user(
            email=f"{prefix}-{role.replace('_', '-')}-{tag}@example.com",
            password=PASSWORD,
            name=f"{role.replace('_', ' ').title()} {tag}",
            role=user_role,
        )
        users[role] = user
        tokens[role], refresh[role] = issue_token_pair(user)
    return Actors(users=users, tokens=tokens, refresh=refresh)


def mux_event(event_type: str, data: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """A Mux webhook envelope (as Mux sends it)."""
    return {
        "type": event_type,
        "id": event_id or str(uuid.uuid4()),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
        "object": {"type": event_type.split(".")[1], "id": data.get("id", "")},
        "environment": {"id": "proof", "name": "Proof"},
        "data": data,
        "attempts": [],
        "accessor": None,
        "accessor_source": None,
        "request_id": None,
    }


def signed_webhook(event: dict[str, Any], *, secret: str | None = None, timestamp: int | None = None) -> Raw:
    """Sign exactly the bytes we send, the way Mux does (webhooks/verification.py checks it)."""
    from django.conf import settings

    raw = json.dumps(event, separators=(",", ":")).encode()
    stamp = int(time.time()) if timestamp is None else timestamp
    key = (secret or settings.MUX_WEBHOOK_SECRETS[0]).encode()
    signature = hmac.new(key, f"{stamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return Raw(raw, {"Mux-Signature": f"t={stamp},v1={signature}"})


@dataclass
class World:
    """Ids of the objects the matrix rows refer to (`on=` names)."""

    actors: Actors
    ids: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.ids[key]

    def webhook_event(self, role: str) -> Raw:
        """A correctly signed event of a type we store and acknowledge without side effects."""
        data = {"id": f"proof-track-{role}", "asset_id": "proof-asset", "type": "text", "status": "ready"}
        return signed_webhook(mux_event("video.asset.track.ready", data))


def _expect(reply: Reply, statuses: tuple[int, ...], what: str) -> Any:
    if reply.status not in statuses:
        raise AssertionError(f"scenario step {what!r} answered {reply.status}: {reply.body!r}")
    return reply.body


def course_body(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "description": "A course built by the proof scenario.",
        "tags": ["proof", "python"],
        "level": "beginner",
    }


def create_course(
    api: Api, paths: Paths, token: str | None, *, publish: bool, lessons: int = 2
) -> dict[str, Any]:
    """A course with `lessons` lessons (the second one a preview), optionally published."""
    title = f"Proof course {uuid.uuid4().hex[:10]}"
    course = _expect(
        api("POST", paths("api/v1/courses"), token=token, body=course_body(title)), (201,), "course"
    )
    cid = course["id"]
    lesson_ids = []
    for n in range(lessons):
        body = {"title": f"Lesson {n + 1}", "description": "Proof lesson.", "is_preview": n == 1}
        lesson = _expect(
            api("POST", paths("api/v1/courses/{}/lessons", cid), token=token, body=body), (201,), "lesson"
        )
        lesson_ids.append(lesson["id"])
    if publish:
        _expect(api("POST", paths("api/v1/courses/{}/publish", cid), token=token), (200,), "publish")
    return {"id": cid, "lessons": lesson_ids, "title": title}


def build_world(api: Api, actors: Actors, paths: Paths | None = None) -> World:
    """Courses, lessons, enrollments and progress as described in the module docstring."""
    paths = paths or Paths()
    world = World(actors=actors)
    owner, other = actors.token("owner"), actors.token("other_instructor")
    course = create_course(api, paths, owner, publish=True)
    draft = create_course(api, paths, owner, publish=False, lessons=1)
    other_course = create_course(api, paths, other, publish=True)
    world.ids.update(
        course=course["id"],
        lesson=course["lessons"][0],
        preview_lesson=course["lessons"][1],
        lessons=course["lessons"],
        draft_course=draft["id"],
        draft_lesson=draft["lessons"][0],
        other_course=other_course["id"],
        other_lesson=other_course["lessons"][0],
        user=actors.user_id("student"),
        enrolled_user=actors.user_id("enrolled"),
        admin_user=actors.user_id("admin"),
    )
    if paths.has("api/v1/courses/{}/sections", "post"):  # an empty section (v1.1 course structure)
        section = api(
            "POST", paths("api/v1/courses/{}/sections", course["id"]), token=owner, body={"title": "Basics"}
        )
        _expect(section, (201,), "section")
        world.ids["section"] = section.body["id"]
    _expect(
        api("POST", paths("api/v1/courses/{}/enroll", course["id"]), token=actors.token("enrolled")),
        (201,),
        "enroll",
    )
    _expect(
        api(
            "POST", paths("api/v1/courses/{}/enroll", other_course["id"]), token=actors.token("other_student")
        ),
        (201,),
        "enroll other",
    )
    if paths.has("api/v1/lessons/{}/progress", "put"):
        _expect(
            api(
                "PUT",
                paths("api/v1/lessons/{}/progress", world["lesson"]),
                token=actors.token("enrolled"),
                body={"position": 5},
            ),
            (200,),
            "heartbeat",
        )
    world.ids["order"] = _pending_order(world, course)
    if paths.has("api/v1/me/certificates", "get"):
        world.ids["certificate"] = _issue_certificate(api, paths, actors)
    return world


def _pending_order(world: World, course: dict[str, Any]) -> str:
    """An open order of the enrolled student (no Stripe call needed to read or refuse it)."""
    from commerce.models import Order

    order = Order.objects.create(
        user_id=world.actors.user_id("enrolled"),
        course_id=course["id"],
        course_title=str(course.get("title", "")),
        amount=4900,
        currency="usd",
    )
    return str(order.pk)


def _issue_certificate(api: Api, paths: Paths, actors: Actors) -> str:
    """`enrolled` completes a one-lesson course (no video: POST complete) and so earns its certificate."""
    token = actors.token("enrolled")
    small = create_course(api, paths, actors.token("owner"), publish=True, lessons=1)
    _expect(api("POST", paths("api/v1/courses/{}/enroll", small["id"]), token=token), (201,), "enroll small")
    _expect(
        api("POST", paths("api/v1/lessons/{}/complete", small["lessons"][0]), token=token), (200,), "complete"
    )
    mine = _expect(api("GET", paths("api/v1/me/certificates"), token=token), (200,), "certificates")
    return str(mine["results"][0]["code"])


VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42" + bytes(4096)  # any bytes: the emulator stores, never decodes


def deliver_webhooks(api: Api, world: World, mux: Any) -> None:
    """Capture mode (in-process tests): post every not-yet-posted emulator event, freshly signed."""
    posted: set[str] = world.ids.setdefault("_posted_events", set())
    for event in mux.events():
        if event["id"] in posted:
            continue
        body = event["body"].encode()
        reply = api("POST", "/webhooks/mux", body=Raw(body, {"Mux-Signature": mux.signature(body)}))
        if reply.status != 200:
            raise AssertionError(f"webhook {event['type']} answered {reply.status}: {reply.body!r}")
        posted.add(event["id"])


def make_videos_ready(
    api: Api, world: World, paths: Paths, mux: Any, *, live: bool = False, wait_seconds: float = 0.0
) -> None:
    """Give `lesson` and `preview_lesson` a ready video through the real flow: upload URL from our API,
    bytes PUT to the (emulated) Mux upload URL, Mux marks the asset ready, signed webhooks reach us."""
    owner = world.actors.token("owner")
    for key in ("lesson", "preview_lesson"):
        upload = _expect(
            api("POST", paths("api/v1/lessons/{}/upload", world[key]), token=owner), (201,), "upload"
        )
        status = mux.upload_bytes(upload["upload_url"], VIDEO_BYTES)
        if status not in (200, 201):
            raise AssertionError(f"PUT to the upload URL answered {status}")
        asset = mux.asset_for_upload(upload["upload_id"])
        mux.make_ready(asset["id"], duration=120.0)
        if live:
            mux.flush_webhooks()
        else:
            deliver_webhooks(api, world, mux)
        deadline = time.monotonic() + wait_seconds  # a separate task worker may still be processing
        while True:
            lesson = _expect(
                api("GET", paths("api/v1/lessons/{}", world[key]), token=owner), (200,), "lesson"
            )
            if lesson.get("video_status") == "ready" or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        if lesson.get("video_status") != "ready":
            raise AssertionError(f"{key} did not become ready: {lesson!r}")


Builder = Callable[[], World]
