"""The circuit breaker's states: closed → open after `threshold` timeouts → one probe → closed."""

import threading
import time

import pytest

from learnstream.redis_breaker import BreakerOpen, CircuitBreaker


def test_opens_after_threshold_and_probes_once_after_cooldown():
    breaker = CircuitBreaker(name="test", threshold=2, cooldown=0.2)
    breaker.before_call()
    breaker.record_failure()
    breaker.before_call()  # one failure is not enough
    breaker.record_failure()

    assert breaker.is_open
    with pytest.raises(BreakerOpen):
        breaker.before_call()
    time.sleep(0.25)
    breaker.before_call()  # this thread is the probe; its further calls pass too
    breaker.before_call()
    other: list[BaseException] = []
    thread = threading.Thread(target=lambda: _capture(breaker, other))
    thread.start()
    thread.join()
    assert [type(e) for e in other] == [BreakerOpen]  # everyone else still fails fast
    breaker.record_success()
    assert not breaker.is_open
    breaker.before_call()


def test_a_failed_probe_reopens():
    breaker = CircuitBreaker(name="test", threshold=1, cooldown=0.1)
    breaker.record_failure()
    time.sleep(0.15)
    breaker.before_call()
    breaker.record_failure()

    with pytest.raises(BreakerOpen):
        breaker.before_call()


def _capture(breaker: CircuitBreaker, into: list[BaseException]) -> None:
    try:
        breaker.before_call()
    except BreakerOpen as exc:
        into.append(exc)
