"""The planner: which sequences run tonight, in which order, at what time.

The problem is to choose and order sequences so that each runs whole inside
its allowed start intervals (:mod:`pyros.scheduling.visibility`), one at a
time with the transitions between them (:mod:`pyros.scheduling.overheads`),
maximising the sum of priority x duration, then keeping preferred times.

How (``docs/scheduler.md`` has the details and the measured quality):

1. **Construction.** Urgent (alert) sequences first, each at the earliest
   instant it can start; then, on a replan, the sequences of the previous plan
   in their previous order, near their previous times (stability); then every
   other sequence by decreasing priority (the value per second of a sequence
   is its priority), the least flexible first, each inserted at the position
   of the order where it adds the least time, a preferred time counting as a
   small cost per second of distance. Insertion shifts the others left or
   right within their own intervals (:class:`~pyros.scheduling.timeline.Timeline`).
2. **Improvement** by ruin and recreate: take out the entries of a random
   stretch of the night, insert again, in priority order with some noise
   (none, a little or a lot, drawn each time),
   every sequence that could run there, and keep the result when it is worth
   at least as much (ties go to the smaller preference penalty). A seeded
   generator makes it deterministic; an iteration count and a time cap bound it.
3. **Times.** Each entry starts at its preferred time (or its previous start
   on a replan) when the neighbours allow, otherwise as early as it can.
4. **Reasons.** Every sequence left out gets a reason: its own (from the
   visibility), or the plan's (lost to higher priority, no room), with the
   entries that hold its time.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Any

from pyros.scheduling.plan import Plan, PlannedEntry, Unplaced, UnplacedReason
from pyros.scheduling.problem import PlanningProblem, SequenceToPlan
from pyros.scheduling.timeline import Insertion, StartSets, Timeline
from pyros.scheduling.visibility import Feasibility, VisibilityCalculator

__all__ = ["Planner"]

_NOISE_LEVELS = (0.0, 0.25, 1.0)
"""How much randomness the recreate step puts in the value order (a factor of 1 + level x U(0, 1))."""


@dataclass
class _Candidates:
    """The sequences that can run, as parallel lists indexed 0..n-1 (n = the origin)."""

    sequences: list[SequenceToPlan]
    feasibility: list[Feasibility]
    durations: list[float]
    values: list[float]
    wanted: list[float | None]
    transitions: list[list[float]]
    starts: StartSets
    origin_s: float
    hull: list[tuple[float, float]]

    @property
    def count(self) -> int:
        return len(self.sequences)


def _candidates(problem: PlanningProblem, feasibility: dict[int, Feasibility]) -> _Candidates:
    chosen = [s for s in problem.sequences if feasibility[s.id].starts]
    chosen.sort(key=lambda s: s.id)
    running = problem.running
    if running is not None:
        origin_ra, origin_dec, origin_filter = running.sequence.ra_deg, running.sequence.dec_deg, running.sequence.last_filter
    elif problem.origin is not None:
        origin_ra, origin_dec, origin_filter = problem.origin.ra_deg, problem.origin.dec_deg, problem.origin.filter
    else:
        origin_ra = origin_dec = origin_filter = None
    ra = [s.ra_deg for s in chosen] + [origin_ra]
    dec = [s.dec_deg for s in chosen] + [origin_dec]
    first = [s.first_filter for s in chosen] + [None]
    last = [s.last_filter for s in chosen] + [origin_filter]
    matrix = problem.overheads.transition_matrix_s(ra, dec, first, last)
    if running is None and problem.origin is None:
        matrix[len(chosen), :] = problem.unknown_origin_transition_s
    transitions = matrix.tolist()
    horizon_start, _ = problem.horizon
    origin_s = max(horizon_start, running.end_s) if running is not None else horizon_start
    wanted: list[float | None] = []
    for s in chosen:
        if s.preferred_s is not None:
            wanted.append(s.preferred_s)
        else:
            wanted.append(problem.previous.get(s.id))
    feas = [feasibility[s.id] for s in chosen]
    return _Candidates(
        sequences=chosen, feasibility=feas, durations=[s.duration_s for s in chosen],
        values=[s.value for s in chosen], wanted=wanted, transitions=transitions,
        starts=StartSets([f.starts for f in feas]), origin_s=origin_s,
        hull=[(f.first_start, f.last_start + s.duration_s) for f, s in zip(feas, chosen, strict=True)])


class Planner:
    """Plans a night (or its rest) for a :class:`~pyros.scheduling.problem.PlanningProblem`.

    Args:
        visibility: Computes when each sequence may start.
        preference_weight: Seconds of added time one second of distance from a
            preferred time is worth when choosing a position (0.05: an hour away
            costs as much as three minutes of slewing).
        improvement_iterations: Ruin-and-recreate iterations per candidate
            sequence (at least ``min_iterations``, at most ``max_iterations``).
        min_iterations: See ``improvement_iterations``.
        max_iterations: See ``improvement_iterations``.
        time_cap_s: Improvement stops after this many seconds whatever the count
            (a guard for slow machines; the count normally ends it first).
        pool_limit: Most sequences tried again in one ruined stretch (the most valuable).
        seed: Seed of the improvement's random choices (plans are reproducible).
    """

    def __init__(self, visibility: VisibilityCalculator, *, preference_weight: float = 0.05,
                 improvement_iterations: float = 4.0, min_iterations: int = 100, max_iterations: int = 300,
                 pool_limit: int = 40,
                 time_cap_s: float = 0.6, seed: int = 20251) -> None:
        self.visibility = visibility
        self.preference_weight = preference_weight
        self.improvement_iterations = improvement_iterations
        self.min_iterations = min_iterations
        self.max_iterations = max_iterations
        self.time_cap_s = time_cap_s
        self.pool_limit = pool_limit
        self.seed = seed

    # -- planning ---------------------------------------------------------------------------

    def plan(self, problem: PlanningProblem, *, time_cap_s: float | None = None) -> Plan:
        """Plan the problem: a fresh plan, or a replan when ``problem.previous`` or ``running`` is set.

        Args:
            problem: What to plan.
            time_cap_s: Overrides the improvement's time cap for this call.

        Returns:
            The plan, with a reason for every sequence left out.
        """
        began = time.perf_counter()
        feasibility = self.visibility.feasibility(problem)
        visibility_done = time.perf_counter()
        candidates = _candidates(problem, feasibility)
        timeline = Timeline(candidates.starts, candidates.durations, candidates.transitions, candidates.origin_s)
        self._construct(candidates, timeline, problem)
        constructed = time.perf_counter()
        cap = self.time_cap_s if time_cap_s is None else time_cap_s
        iterations = self._improve(candidates, timeline, constructed + cap, bool(problem.previous))
        improved = time.perf_counter()
        entries = self._entries(candidates, timeline, problem)
        unplaced = self._unplaced(problem, candidates, feasibility, entries)
        objective = sum(candidates.values[i] for i in timeline.order)
        penalty = self._penalty(candidates, timeline, entries)
        finished = time.perf_counter()
        stats = {"sequences": float(len(problem.sequences)), "candidates": float(candidates.count),
                 "planned": float(len(timeline.order)), "iterations": float(iterations),
                 "visibility_s": visibility_done - began, "construction_s": constructed - visibility_done,
                 "improvement_s": improved - constructed, "total_s": finished - began}
        start, end = problem.horizon
        return Plan(start_s=float(start), end_s=float(end), entries=tuple(entries), unplaced=unplaced,
                    objective=objective, preference_penalty_s=penalty, stats=stats)

    def _cost(self, candidates: _Candidates, index: int, insertion: Insertion) -> float:
        wanted = candidates.wanted[index]
        cost = insertion.added_s
        if wanted is not None:
            distance = max(0.0, insertion.earliest_s - wanted, wanted - insertion.latest_s)
            cost += self.preference_weight * distance
        return cost

    def _best_insertion(self, candidates: _Candidates, timeline: Timeline, index: int) -> Insertion | None:
        best: Insertion | None = None
        best_cost = math.inf
        for position in range(len(timeline.order) + 1):
            found = timeline.insertion_at(index, position)
            if found is None:
                continue
            cost = self._cost(candidates, index, found)
            if cost < best_cost:
                best, best_cost = found, cost
        return best

    def _earliest_insertion(self, timeline: Timeline, index: int) -> Insertion | None:
        options = timeline.insertions(index)
        return min(options, key=lambda o: (o.earliest_s, o.added_s)) if options else None

    def _construct(self, candidates: _Candidates, timeline: Timeline, problem: PlanningProblem) -> None:
        sequences = candidates.sequences
        urgent = [i for i in range(candidates.count) if sequences[i].urgent]
        urgent.sort(key=lambda i: (-sequences[i].priority, candidates.feasibility[i].first_start, sequences[i].id))
        for index in urgent:
            self._place_urgent(candidates, timeline, index)
        placed = set(timeline.order)
        previous = [i for i in range(candidates.count)
                    if i not in placed and sequences[i].id in problem.previous]
        previous.sort(key=lambda i: problem.previous[sequences[i].id])
        for index in previous:
            # Keep the previous order: after the entries already there if it still fits.
            found = timeline.insertion_at(index, len(timeline.order))
            if found is None:
                found = self._best_insertion(candidates, timeline, index)
            if found is not None:
                timeline.insert(index, found.position)
        placed = set(timeline.order)
        rest = [i for i in range(candidates.count) if i not in placed]
        rest.sort(key=lambda i: (-sequences[i].priority, candidates.feasibility[i].flexibility_s,
                                 -candidates.durations[i], sequences[i].id))
        for index in rest:
            found = self._best_insertion(candidates, timeline, index)
            if found is not None:
                timeline.insert(index, found.position)

    def _place_urgent(self, candidates: _Candidates, timeline: Timeline, index: int) -> None:
        """Put an urgent sequence where it starts earliest and pin it there.

        Urgent sequences are placed before any other, so only earlier urgent
        ones can be in the way; pinning (its start intervals become that one
        instant) keeps every later insertion from pushing it back.
        """
        found = self._earliest_insertion(timeline, index)
        if found is None:
            return
        candidates.starts.pin(index, found.earliest_s)
        timeline.insert(index, found.position)

    # -- improvement ------------------------------------------------------------------------

    def _improve(self, candidates: _Candidates, timeline: Timeline, deadline: float, replanning: bool) -> int:
        """Ruin and recreate; return the number of iterations done."""
        count = candidates.count
        if count == 0:
            return 0
        iterations = int(min(self.max_iterations, max(self.min_iterations, self.improvement_iterations * count)))
        if replanning:
            iterations = min(iterations, max(self.min_iterations // 2, 1))
        generator = random.Random(self.seed + count)
        start_s = candidates.origin_s
        end_s = max(h for _, h in candidates.hull)
        if not end_s > start_s:
            return 0
        sequences = candidates.sequences
        values = candidates.values
        best_value = sum(values[i] for i in timeline.order)
        best_penalty = self._order_penalty(candidates, timeline)
        done = 0
        for done in range(1, iterations + 1):
            if time.perf_counter() > deadline:
                break
            width = generator.uniform(1200.0, 7200.0)
            left = generator.uniform(start_s - width / 2.0, end_s - width / 2.0)
            right = left + width
            trial = timeline.copy()
            removed = [i for position, i in enumerate(trial.order)
                       if not sequences[i].urgent and trial.earliest[position] < right
                       and trial.earliest[position] + candidates.durations[i] > left]
            for index in removed:
                trial.order.remove(index)
            if not trial.refresh():
                continue
            in_plan = set(trial.order)
            pool = [i for i in range(count)
                    if i not in in_plan and candidates.hull[i][0] < right and candidates.hull[i][1] > left]
            noise = generator.choice(_NOISE_LEVELS)
            pool.sort(key=lambda i: -(sequences[i].priority * (1.0 + noise * generator.random())))
            for index in pool[:self.pool_limit]:
                found = self._best_insertion(candidates, trial, index)
                if found is not None:
                    trial.insert(index, found.position)
            value = sum(values[i] for i in trial.order)
            if value < best_value - 1e-9:
                continue
            penalty = self._order_penalty(candidates, trial)
            if value > best_value + 1e-9 or penalty < best_penalty - 1e-9:
                timeline.order, timeline.earliest, timeline.latest = trial.order, trial.earliest, trial.latest
                best_value, best_penalty = value, penalty
        return done

    def _order_penalty(self, candidates: _Candidates, timeline: Timeline) -> float:
        """The preference penalty of the times this order gives (see :meth:`_times`)."""
        times = self._times(candidates, timeline)
        return sum(candidates.sequences[i].priority * abs(start - candidates.wanted[i])
                   for i, start in zip(timeline.order, times, strict=True) if candidates.wanted[i] is not None)

    # -- times and results ------------------------------------------------------------------

    def _times(self, candidates: _Candidates, timeline: Timeline) -> list[float]:
        """Start of each entry: at its wanted time if the neighbours allow, else as early as it can."""
        times: list[float] = []
        previous = timeline.origin
        ready = candidates.origin_s
        for position, index in enumerate(timeline.order):
            low = candidates.starts.earliest(index, ready + candidates.transitions[previous][index])
            high = timeline.latest[position]
            wanted = candidates.wanted[index]
            start = low
            if wanted is not None:
                nearest = candidates.starts.nearest(index, wanted, low, high)
                if nearest is not None:
                    start = nearest
            times.append(start)
            ready = start + candidates.durations[index]
            previous = index
        return times

    def _entries(self, candidates: _Candidates, timeline: Timeline, problem: PlanningProblem) -> list[PlannedEntry]:
        entries: list[PlannedEntry] = []
        if problem.running is not None:
            running = problem.running
            entries.append(PlannedEntry(running.sequence.id, running.start_s, running.end_s, 0.0, running=True))
        previous = timeline.origin
        for index, start in zip(timeline.order, self._times(candidates, timeline), strict=True):
            sequence = candidates.sequences[index]
            entries.append(PlannedEntry(sequence.id, float(start), float(start + sequence.duration_s),
                                        float(candidates.transitions[previous][index])))
            previous = index
        return entries

    def _penalty(self, candidates: _Candidates, timeline: Timeline, entries: list[PlannedEntry]) -> float:
        by_id = {e.sequence_id: e for e in entries}
        total = 0.0
        for index in timeline.order:
            sequence = candidates.sequences[index]
            if sequence.preferred_s is not None:
                total += sequence.priority * abs(by_id[sequence.id].start_s - sequence.preferred_s)
        return total

    def _unplaced(self, problem: PlanningProblem, candidates: _Candidates, feasibility: dict[int, Feasibility],
                  entries: list[PlannedEntry]) -> dict[int, Unplaced]:
        planned = {e.sequence_id for e in entries}
        by_id = {s.id: s for s in problem.sequences}
        if problem.running is not None:
            by_id[problem.running.sequence.id] = problem.running.sequence
        result: dict[int, Unplaced] = {}
        for sequence in problem.sequences:
            if sequence.id in planned:
                continue
            found = feasibility[sequence.id]
            if found.reason is not None:
                result[sequence.id] = Unplaced(sequence.id, found.reason, found.detail)
                continue
            blockers = [e for e in entries if any(e.start_s - e.transition_s < b and e.end_s > a
                                                  for a, b in found.allowed)]
            higher = [e.sequence_id for e in blockers if by_id[e.sequence_id].priority > sequence.priority]
            if blockers and len(higher) == len(blockers):
                result[sequence.id] = Unplaced(
                    sequence.id, UnplacedReason.LOST_TO_HIGHER_PRIORITY,
                    f"the time it could run is taken by {len(higher)} sequence(s) of higher priority",
                    tuple(higher))
            else:
                result[sequence.id] = Unplaced(
                    sequence.id, UnplacedReason.NO_ROOM,
                    "it could run alone, but the plan is worth more (priority x duration) with the "
                    f"{len(blockers)} sequence(s) holding its time", tuple(e.sequence_id for e in blockers))
        return result

    # -- explanation ------------------------------------------------------------------------

    def explain(self, problem: PlanningProblem, plan: Plan, sequence_id: int) -> dict[str, Any]:
        """Why a sequence is where it is in a plan, or why it is not in it.

        Returns:
            ``sequence_id``, ``status`` (``planned``, ``running``, ``unplaced`` or
            ``unknown``), ``start_s``, ``end_s``, ``transition_s``, ``reason``
            (code or ``None``), ``detail``, ``blockers``, ``allowed`` (intervals
            where its whole run may take place), ``preferred_s`` and ``notes``
            (sentences for people).
        """
        sequence = next((s for s in problem.sequences if s.id == sequence_id), None)
        if sequence is None and problem.running is not None and problem.running.sequence.id == sequence_id:
            sequence = problem.running.sequence
        result: dict[str, Any] = {"sequence_id": sequence_id, "status": "unknown", "start_s": None, "end_s": None,
                                  "transition_s": None, "reason": None, "detail": "", "blockers": [],
                                  "allowed": [], "preferred_s": None, "notes": []}
        if sequence is None:
            result["detail"] = f"sequence {sequence_id} is not among the sequences of this plan's problem"
            return result
        result["preferred_s"] = sequence.preferred_s
        feasibility = self.visibility.feasibility(problem, (sequence,))[sequence_id]
        result["allowed"] = [[a, b] for a, b in feasibility.allowed]
        entry = plan.entry(sequence_id)
        notes: list[str] = result["notes"]
        if entry is not None:
            result.update(status="running" if entry.running else "planned", start_s=entry.start_s,
                          end_s=entry.end_s, transition_s=entry.transition_s)
            if entry.running:
                notes.append("it is being executed; a replan keeps it")
                return result
            position = plan.entries.index(entry)
            notes.append(f"it may run in {len(feasibility.allowed)} interval(s) "
                         f"(windows, night, airmass and Moon together)")
            if sequence.preferred_s is not None:
                gap = entry.start_s - sequence.preferred_s
                if abs(gap) < 1.0:
                    notes.append("it starts at its preferred time")
                else:
                    notes.append(f"it starts {abs(gap):.0f} s {'after' if gap > 0 else 'before'} its preferred "
                                 "time, which its neighbours or its constraints do not leave free")
            if position > 0:
                before = plan.entries[position - 1]
                notes.append(f"it follows sequence {before.sequence_id} after a transition of "
                             f"{entry.transition_s:.0f} s (slew, settling, filter)")
            if any(abs(entry.start_s - a) < 1.0 for a, _ in feasibility.starts):
                notes.append("it starts as soon as its constraints allow")
            return result
        unplaced = plan.unplaced.get(sequence_id)
        result["status"] = "unplaced"
        if unplaced is not None:
            result.update(reason=unplaced.reason.value, detail=unplaced.detail, blockers=list(unplaced.blockers))
        return result
