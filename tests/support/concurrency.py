"""Run jobs at the same moment on their own threads: the shape of every concurrency test."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection


def run_at_once(jobs: Sequence[Callable[[], Any]], *, timeout: float = 110) -> list[BaseException]:
    """Start each job on its own thread, release them together (a barrier), wait for all of them and
    return what they raised (empty when every job succeeded). Each thread closes its own PostgreSQL
    connection, so none outlives the test."""
    start = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def work(job: Callable[[], Any]) -> None:
        try:
            start.wait(timeout=30)
            job()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return errors
