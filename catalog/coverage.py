"""Watched coverage: the rules, as pure functions.

A learner's watched time of a lesson is the union of the intervals they played, kept per (learner,
lesson) on the progress document. The progress repository applies these same rules inside MongoDB, in
the heartbeat's single upsert (an aggregation-pipeline update); `heartbeat_apply` here is the reference
implementation the property tests compare it with.

- **Bounded size.** Interval ends are snapped to a grid of `grid_seconds(duration)`: whole seconds for
  lessons up to `GRID_CELLS` seconds long, coarser for longer ones, so a union never holds more than
  `GRID_CELLS / 2 + 1` intervals however long the lesson. Snapping rounds each end to the nearest grid
  point, so consecutive segments that share an end still meet and merge.
- **Credit bound.** One heartbeat may add at most `(now - previous heartbeat) * 2 + 5` seconds to the
  union (5 s for a learner's first heartbeat of the lesson). The new parts are taken in ascending order
  until that budget is used; the rest is ignored.
- **Order does not matter.** Union is commutative and idempotent, so replayed, reordered, overlapping or
  duplicated heartbeats leave the union a clean stream leaves, as long as each was within its budget.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

MAX_SEGMENTS = 1000  # per heartbeat (api contract)
GRID_CELLS = 1000  # a lesson is split into at most this many grid cells
MAX_PLAYBACK_RATE = 2.0
CREDIT_GRACE_SECONDS = 5.0

Interval = tuple[float, float]


def grid_seconds(duration: float | None) -> int:
    """The grid step of a lesson's intervals: 1 s, or more for lessons longer than `GRID_CELLS` s."""
    if not duration or duration <= 0:
        return 1
    return max(1, math.ceil(duration / GRID_CELLS))


def snap(value: float, grid: int) -> int:
    """The nearest grid point (halves round up: the same in Python and in the store)."""
    return math.floor(value / grid + 0.5) * grid


def normalise(segments: Sequence[Sequence[float]], *, duration: float | None, grid: int) -> list[Interval]:
    """Validated segments (finite, 0 <= start <= end) → clipped to the duration, snapped to the grid,
    sorted and merged. Empty segments vanish."""
    snapped: list[Interval] = []
    for start, end in segments:
        if duration is not None and duration > 0:
            start, end = min(start, duration), min(end, duration)
        a, b = snap(start, grid), snap(end, grid)
        if b > a:
            snapped.append((a, b))
    return merge(snapped)


def merge(intervals: Sequence[Interval]) -> list[Interval]:
    """Sorted union; touching intervals ([0, 5] and [5, 9]) coalesce."""
    out: list[Interval] = []
    for a, b in sorted(intervals):
        if out and out[-1][1] >= a:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def length(intervals: Sequence[Interval]) -> float:
    return float(sum(b - a for a, b in intervals))


def uncovered(union: Sequence[Interval], incoming: Sequence[Interval]) -> list[Interval]:
    """The parts of `incoming` (sorted, disjoint) not in `union` (sorted, disjoint), in order."""
    gaps: list[Interval] = []
    prev = 0.0
    for a, b in union:
        if a > prev:
            gaps.append((prev, a))
        prev = b
    gaps.append((prev, math.inf))
    pieces: list[Interval] = []
    for a, b in incoming:
        for g0, g1 in gaps:
            lo, hi = max(a, g0), min(b, g1)
            if lo < hi:
                pieces.append((lo, hi))
    return pieces


def credit_budget(*, previous_beat: datetime | None, now: datetime) -> float:
    """Seconds one heartbeat may add: wall-clock time since the previous one * 2 + 5 (first: 5)."""
    if previous_beat is None:
        return CREDIT_GRACE_SECONDS
    elapsed = max(0.0, (now - previous_beat).total_seconds())
    return elapsed * MAX_PLAYBACK_RATE + CREDIT_GRACE_SECONDS


def take_budget(pieces: Sequence[Interval], *, budget: float, grid: int) -> list[Interval]:
    """The first `budget` seconds of `pieces` (whole grid steps), in order."""
    taken: list[Interval] = []
    left = budget
    for a, b in pieces:
        take = min(b - a, math.floor(left / grid) * grid)
        if take > 0:
            taken.append((a, a + take))
            left -= take
    return taken


@dataclass(frozen=True)
class CoverageState:
    """The reference model of one progress document's coverage fields."""

    union: tuple[Interval, ...] = ()
    beat_at: datetime | None = None

    @property
    def watched(self) -> float:
        return length(self.union)


def heartbeat_apply(
    state: CoverageState,
    *,
    segments: Sequence[Sequence[float]],
    duration: float | None,
    now: datetime,
) -> CoverageState:
    """The reference heartbeat: what the store's upsert does to the coverage fields."""
    grid = grid_seconds(duration)
    incoming = normalise(segments, duration=duration, grid=grid)
    budget = credit_budget(previous_beat=state.beat_at, now=now)
    taken = take_budget(uncovered(state.union, incoming), budget=budget, grid=grid)
    beat_at = now if state.beat_at is None or now > state.beat_at else state.beat_at
    return CoverageState(union=tuple(merge([*state.union, *taken])), beat_at=beat_at)


def coverage_of(*, watched: float, duration: float | None) -> float:
    """watched / duration, 0-1 (0 while the duration is unknown)."""
    if not duration or duration <= 0:
        return 0.0
    return min(1.0, watched / duration)
