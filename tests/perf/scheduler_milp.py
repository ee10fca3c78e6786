"""The exact optimum of a planning problem discretised in 5-minute slots (benchmark reference).

The problem is the planner's, with starts restricted to slot boundaries
``horizon start + slot_s * t``. A binary ``x[i, t]`` says that sequence ``i``
starts at slot ``t``; it exists only when that instant is one of the sequence's
allowed starts (:class:`~pyros.scheduling.visibility.Feasibility`, the very sets
the planner uses, so both solve the same problem). A sequence of duration
``d_i`` occupies ``len_i = ceil(d_i / slot_s)`` slots. Constraints:

* each sequence at most once: ``sum_t x[i, t] <= 1``;
* each slot has at most one occupant: ``sum x[i, t] <= 1`` over the ``(i, t)``
  with ``t <= slot < t + len_i``;
* transitions: when ``j`` starts right after ``i``'s last slot, the slack
  ``len_i * slot_s - d_i`` must cover ``transition(i, j)``. For each ``(i, t)``,
  ``x[i, t] + sum_{j in C_i} x[j, t + len_i] <= 1`` with
  ``C_i = {j : d_i + transition(i, j) > len_i * slot_s}``. A ``j`` starting one
  slot later or more has at least ``slot_s`` of slack, so the formulation is exact
  as long as no transition exceeds one slot (checked; :class:`ValueError` otherwise).

The objective is the planner's: maximise ``sum priority_i * d_i * x[i, t]`` (true
durations). ``scipy.optimize.milp`` (HiGHS) solves it with sparse matrices; when
its time limit stops it, the best schedule found and HiGHS' dual bound (an upper
bound of the discretised optimum) are returned.

Starts on slot boundaries only, the discretised optimum is *not* an upper bound of
the problem itself, where starts are free. ``relaxed=True`` solves a relaxation
that is: ``x[i, t]`` exists when any allowed start lies in ``[slot t, slot t + 1)``,
a sequence occupies ``floor(d_i / slot_s)`` slots, and transitions are ignored.
Any valid schedule maps onto it (each sequence to the slot holding its start: two
runs that do not overlap get slot ranges that do not overlap), so its optimum,
or its dual bound, bounds every plan from above.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from pyros.scheduling.plan import PlannedEntry
from pyros.scheduling.problem import PlanningProblem
from pyros.scheduling.visibility import Feasibility, VisibilityCalculator

__all__ = ["MilpResult", "SLOT_S", "solve_milp"]

SLOT_S = 300.0
"""The slot length of the benchmark's reference, seconds."""


@dataclass(frozen=True)
class MilpResult:
    """The discretised optimum.

    Attributes:
        objective: Sum of priority x duration over the schedule found.
        bound: Upper bound of the discretised optimum (HiGHS' dual bound; equals
            ``objective`` up to the solver's gap when ``status`` is ``optimal``).
        status: ``optimal`` or ``time_limit``.
        entries: The schedule found, in time order (empty for the relaxation, whose
            solutions are not schedules).
        build_s: Seconds spent computing the feasibility and building the model.
        solve_s: Seconds spent in ``scipy.optimize.milp``.
        variables: Number of binary variables.
        constraints: Number of constraint rows.
    """

    objective: float
    bound: float
    status: str
    entries: tuple[PlannedEntry, ...]
    build_s: float
    solve_s: float
    variables: int
    constraints: int

    @property
    def total_s(self) -> float:
        """Build and solve time."""
        return self.build_s + self.solve_s


def _allowed_slots(feasibility: Feasibility, slot_starts: np.ndarray, slot_s: float, earliest: float,
                   relaxed: bool) -> np.ndarray:
    """Indices of the slots whose boundary lies in the sequence's start intervals (closed), not before
    ``earliest``; relaxed: of the slots ``[boundary, boundary + slot_s)`` holding such a start."""
    allowed = np.zeros(slot_starts.size, dtype=bool)
    for start, end in feasibility.starts:
        start = max(start, earliest)
        if end < start:
            continue
        if relaxed:
            allowed |= (slot_starts <= end) & (slot_starts + slot_s > start)
        else:
            allowed |= (slot_starts >= start) & (slot_starts <= end)
    return np.flatnonzero(allowed)


def solve_milp(problem: PlanningProblem, calculator: VisibilityCalculator, time_limit_s: float = 120.0,
               slot_s: float = SLOT_S, mip_rel_gap: float = 0.0, relaxed: bool = False) -> MilpResult:
    """Solve the problem exactly on a grid of ``slot_s`` slots (or its relaxation).

    Args:
        problem: A fresh plan (no running sequence, no known origin).
        calculator: Computes the allowed starts (the planner's own feasibility).
        time_limit_s: HiGHS' time limit, seconds.
        slot_s: The slot length, seconds.
        mip_rel_gap: HiGHS' relative gap at which it stops (0: proven optimum).
        relaxed: Solve the relaxation that bounds every plan (see the module) instead.

    Raises:
        ValueError: For a problem with a running sequence or a known origin, a
            transition longer than one slot, or non-positive limits.
    """
    if not time_limit_s > 0 or not slot_s > 0:
        raise ValueError(f"time_limit_s and slot_s must be positive, got {time_limit_s!r} and {slot_s!r}")
    if problem.running is not None or problem.origin is not None:
        raise ValueError("the MILP reference plans from the horizon's start with an unknown origin only "
                         "(no running sequence, no origin pointing)")
    started = time.perf_counter()
    sequences = problem.sequences
    feasibility = calculator.feasibility(problem)
    horizon_start, horizon_end = problem.horizon
    slot_count = max(0, int(math.ceil((horizon_end - horizon_start) / slot_s - 1e-9)))
    slot_starts = horizon_start + slot_s * np.arange(slot_count, dtype=float)
    earliest = horizon_start + problem.unknown_origin_transition_s
    durations = np.array([s.duration_s for s in sequences], dtype=float)
    if relaxed:
        lengths = np.floor(durations / slot_s + 1e-9).astype(int)
    else:
        lengths = np.ceil(durations / slot_s - 1e-9).astype(int)
    transitions = problem.overheads.transition_matrix_s(
        [s.ra_deg for s in sequences], [s.dec_deg for s in sequences],
        [s.first_filter for s in sequences], [s.last_filter for s in sequences])

    index = np.full((len(sequences), slot_count), -1, dtype=np.int64)
    var_sequence: list[int] = []
    var_slot: list[int] = []
    for i, sequence in enumerate(sequences):
        for t in _allowed_slots(feasibility[sequence.id], slot_starts, slot_s, earliest, relaxed).tolist():
            index[i, t] = len(var_sequence)
            var_sequence.append(i)
            var_slot.append(t)
    variables = len(var_sequence)
    schedulable = np.unique(np.array(var_sequence, dtype=int))
    if schedulable.size and not relaxed:
        sub = transitions[np.ix_(schedulable, schedulable)]
        if sub.max() > slot_s:
            raise ValueError(f"a transition takes {sub.max():.1f} s, more than one slot ({slot_s:g} s): "
                             "the formulation would need more terms")
    if variables == 0:
        return MilpResult(0.0, 0.0, "optimal", (), time.perf_counter() - started, 0.0, 0, 0)

    seq_of = np.array(var_sequence, dtype=int)
    slot_of = np.array(var_slot, dtype=int)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    row_count = 0
    # Each sequence at most once.
    rows.append(seq_of.copy())
    cols.append(np.arange(variables))
    row_count += len(sequences)
    # Each slot at most one occupant.
    occupied = lengths[seq_of]
    owner = np.repeat(np.arange(variables), occupied)
    offset = np.arange(owner.size) - np.repeat(np.cumsum(occupied) - occupied, occupied)
    rows.append(row_count + slot_of[owner] + offset)
    cols.append(owner)
    row_count += slot_count
    # Transitions into the slot right after each start's last slot.
    conflicts = (durations[:, None] + transitions) > (lengths * slot_s)[:, None]
    np.fill_diagonal(conflicts, False)
    for k in range(0 if relaxed else variables):
        i, after = seq_of[k], slot_of[k] + lengths[seq_of[k]]
        if after >= slot_count:
            continue
        followers = index[conflicts[i], after]
        followers = followers[followers >= 0]
        if followers.size == 0:
            continue
        rows.append(np.full(followers.size + 1, row_count))
        cols.append(np.concatenate([[k], followers]))
        row_count += 1
    matrix = coo_array((np.ones(sum(r.size for r in rows)), (np.concatenate(rows), np.concatenate(cols))),
                       shape=(row_count, variables)).tocsr()
    values = np.array([sequences[i].value for i in seq_of], dtype=float)
    build_s = time.perf_counter() - started

    started = time.perf_counter()
    result = milp(-values, constraints=LinearConstraint(matrix, -np.inf, 1.0), integrality=np.ones(variables),
                  bounds=Bounds(0.0, 1.0),
                  options={"time_limit": float(time_limit_s), "mip_rel_gap": float(mip_rel_gap), "disp": False})
    solve_s = time.perf_counter() - started
    if result.status not in (0, 1):
        raise RuntimeError(f"HiGHS failed: status {result.status}, {result.message}")
    chosen = [] if result.x is None else np.flatnonzero(result.x > 0.5).tolist()
    order = sorted(chosen, key=lambda k: slot_of[k])
    entries: list[PlannedEntry] = []
    previous: int | None = None
    for k in [] if relaxed else order:
        i = int(seq_of[k])
        start = float(slot_starts[slot_of[k]])
        transition = problem.unknown_origin_transition_s if previous is None else float(transitions[previous, i])
        entries.append(PlannedEntry(sequences[i].id, start, start + sequences[i].duration_s, transition))
        previous = i
    objective = float(sum(values[k] for k in chosen))
    dual = getattr(result, "mip_dual_bound", None)
    bound = objective if dual is None or not math.isfinite(dual) else max(objective, -float(dual))
    status = "optimal" if result.status == 0 else "time_limit"
    return MilpResult(objective, bound, status, tuple(entries), build_s, solve_s, variables, row_count)
