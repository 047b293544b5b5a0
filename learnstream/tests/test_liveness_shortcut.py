"""The liveness shortcut (learnstream/health.py `LivenessShortcut`, installed in learnstream/wsgi.py) on
a live gunicorn: the probe gets exactly the Django view's answer, and anything that is not a plain
`GET /healthz` still takes the full stack."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from django.utils import timezone

from learnstream.tests.test_gunicorn_limits import get

pytestmark = pytest.mark.live

REPLAYED = {
    "content-type",
    "cache-control",
    "x-content-type-options",
    "referrer-policy",
    "cross-origin-opener-policy",
    "x-frame-options",
    "content-length",
}


def test_the_probe_replays_the_views_answer_with_a_fresh_expires(live: Any) -> None:
    before = timezone.now().replace(microsecond=0)
    probes = [get(live.proc.port, "/healthz") for _ in range(40)]

    for status, headers, body in probes:
        assert (status, body) == (200, b'{"status": "ok"}')
        assert headers["cache-control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert before <= parsedate_to_datetime(headers["expires"]) <= timezone.now()
    # Only each worker's first probe went through Django (the request middleware adds a request id);
    # the live server has 3 workers, so at least 37 of 40 probes were replays, with the same headers.
    through_django = [headers for _s, headers, _b in probes if "x-request-id" in headers]
    replays = [headers for _s, headers, _b in probes if "x-request-id" not in headers]
    assert 1 <= len(through_django) <= 3
    assert len(replays) == 40 - len(through_django)
    assert all({k: h[k] for k in REPLAYED} == {k: through_django[0][k] for k in REPLAYED} for h in replays)


def test_anything_but_the_plain_probe_takes_the_full_stack(live: Any) -> None:
    for _ in range(3):
        get(live.proc.port, "/healthz")  # every worker has its replayed answer

    through_proxy = get(live.proc.port, "/healthz", extra_headers="X-Forwarded-Proto: https\r\n")
    with_query = get(live.proc.port, "/healthz?verbose=1")
    post = live.request("POST", "/healthz")

    # The request middleware's id shows the request went through Django.
    assert through_proxy[0] == 200
    assert "x-request-id" in through_proxy[1]
    assert with_query[0] == 200
    assert "x-request-id" in with_query[1]
    assert post.status == 403  # Django's CSRF check refuses a cookie-less POST before the view's 405
    assert "x-request-id" in post.headers
