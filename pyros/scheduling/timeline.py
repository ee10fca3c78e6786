"""An ordered sequence of entries and the earliest and latest start of each.

The planner decides an *order*; the times follow. For an order, the forward
pass gives each entry its earliest start (each as early as its predecessor,
the transition and its own start intervals allow), the backward pass its
latest start (as late as its successors allow). The order is feasible when
every earliest start is at most the latest one, and an entry ``j`` fits
between neighbours ``p`` and ``q`` exactly when::

    s = earliest start of j at or after  E[p] + d[p] + T[p][j]
    s + d[j] + T[j][q] <= L[q]

(because choosing the earliest start for ``p`` and the latest for ``q``
leaves the most room). This is an O(1) check per position plus a binary
search in ``j``'s start intervals, which is what makes planning 1,000
sequences fast.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Insertion", "StartSets", "Timeline"]


class StartSets:
    """The allowed start intervals of every candidate, for fast lookups.

    Args:
        intervals: Per candidate index, its sorted disjoint closed start intervals.
    """

    def __init__(self, intervals: Sequence[Sequence[tuple[float, float]]]) -> None:
        self.lows = [[float(a) for a, _ in spans] for spans in intervals]
        self.highs = [[float(b) for _, b in spans] for spans in intervals]

    def pin(self, index: int, instant: float) -> None:
        """Allow ``index`` to start only at ``instant`` (an urgent sequence placed)."""
        self.lows[index] = [instant]
        self.highs[index] = [instant]

    def earliest(self, index: int, at_or_after: float) -> float:
        """The earliest allowed start of ``index`` at or after an instant (``inf`` if none)."""
        highs = self.highs[index]
        position = bisect_left(highs, at_or_after)
        if position == len(highs):
            return math.inf
        return max(at_or_after, self.lows[index][position])

    def latest(self, index: int, at_or_before: float) -> float:
        """The latest allowed start of ``index`` at or before an instant (``-inf`` if none)."""
        lows = self.lows[index]
        position = bisect_right(lows, at_or_before) - 1
        if position < 0:
            return -math.inf
        return min(at_or_before, self.highs[index][position])

    def nearest(self, index: int, wanted: float, low: float, high: float) -> float | None:
        """The allowed start of ``index`` in ``[low, high]`` nearest to ``wanted`` (``None`` if none)."""
        best: float | None = None
        for a, b in zip(self.lows[index], self.highs[index], strict=True):
            a = max(a, low)
            b = min(b, high)
            if a > b:
                continue
            candidate = min(max(wanted, a), b)
            if best is None or abs(candidate - wanted) < abs(best - wanted):
                best = candidate
        return best


@dataclass(frozen=True)
class Insertion:
    """Where a candidate fits in a timeline.

    Attributes:
        position: Index in the order it would take.
        earliest_s: Its earliest start there.
        latest_s: Its latest start there.
        added_s: Time it adds to the chain: its duration plus the transitions
            around it, minus the transition it replaces.
    """

    position: int
    earliest_s: float
    latest_s: float
    added_s: float


class Timeline:
    """An order of candidates with earliest and latest starts.

    Args:
        starts: Allowed start intervals of every candidate.
        durations: Duration of every candidate, seconds.
        transitions: ``transitions[i][j]`` seconds from candidate i to j; the last
            row (index ``origin``) holds the transitions from where the telescope is.
        origin_s: When the first transition may begin (the period's start, or the
            end of the running sequence).
        order: The initial order (candidate indices).
    """

    def __init__(self, starts: StartSets, durations: Sequence[float], transitions: Sequence[Sequence[float]],
                 origin_s: float, order: Sequence[int] = ()) -> None:
        self.starts = starts
        self.durations = durations
        self.transitions = transitions
        self.origin = len(durations)
        self.origin_s = origin_s
        self.order: list[int] = list(order)
        self.earliest: list[float] = []
        self.latest: list[float] = []
        self.refresh()

    def copy(self) -> Timeline:
        """An independent copy (the order is copied; the inputs are shared)."""
        twin = Timeline.__new__(Timeline)
        twin.starts, twin.durations, twin.transitions = self.starts, self.durations, self.transitions
        twin.origin, twin.origin_s = self.origin, self.origin_s
        twin.order = list(self.order)
        twin.earliest = list(self.earliest)
        twin.latest = list(self.latest)
        return twin

    def refresh(self) -> bool:
        """Recompute earliest and latest starts; return whether the order is feasible."""
        order, durations, transitions, starts = self.order, self.durations, self.transitions, self.starts
        earliest: list[float] = []
        previous = self.origin
        ready = self.origin_s
        for index in order:
            start = starts.earliest(index, ready + transitions[previous][index])
            earliest.append(start)
            ready = start + durations[index]
            previous = index
        latest = [0.0] * len(order)
        limit = math.inf
        following = -1
        for position in range(len(order) - 1, -1, -1):
            index = order[position]
            bound = limit if following < 0 else limit - transitions[index][following] - durations[index]
            latest[position] = starts.latest(index, bound)
            limit = latest[position]
            following = index
        self.earliest, self.latest = earliest, latest
        return all(e <= l for e, l in zip(earliest, latest, strict=True))

    @property
    def feasible(self) -> bool:
        """Whether every entry can start in its allowed intervals in this order."""
        return all(e <= l for e, l in zip(self.earliest, self.latest, strict=True))

    def insertion_at(self, candidate: int, position: int) -> Insertion | None:
        """How ``candidate`` fits at ``position`` of the order, or ``None`` if it does not."""
        order, durations, transitions = self.order, self.durations, self.transitions
        if position == 0:
            before = self.origin
            ready = self.origin_s + transitions[before][candidate]
        else:
            before = order[position - 1]
            ready = self.earliest[position - 1] + durations[before] + transitions[before][candidate]
        start = self.starts.earliest(candidate, ready)
        if start == math.inf:
            return None
        duration = durations[candidate]
        if position < len(order):
            after = order[position]
            limit = self.latest[position] - transitions[candidate][after] - duration
            if start > limit:
                return None
            added = transitions[before][candidate] + duration + transitions[candidate][after] - transitions[before][after]
        else:
            limit = math.inf
            added = transitions[before][candidate] + duration
        return Insertion(position, start, self.starts.latest(candidate, limit), added)

    def insertions(self, candidate: int) -> list[Insertion]:
        """Every position where ``candidate`` fits."""
        result = []
        for position in range(len(self.order) + 1):
            found = self.insertion_at(candidate, position)
            if found is not None:
                result.append(found)
        return result

    def insert(self, candidate: int, position: int) -> None:
        """Put ``candidate`` at ``position`` and recompute the times."""
        self.order.insert(position, candidate)
        self.refresh()

    def remove(self, candidate: int) -> bool:
        """Take ``candidate`` out, recompute the times and return whether the order is still feasible.

        It nearly always is: transitions obey the triangle inequality, so the
        new neighbours are no further apart than before, unless the removed
        entry was shorter than the slew it saved (a few-second sequence
        without a target between two distant ones).
        """
        self.order.remove(candidate)
        return self.refresh()
