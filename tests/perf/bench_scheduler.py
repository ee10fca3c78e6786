"""Scheduler benchmark: plan quality against the exact optimum and astroplan, and planning speed (``make bench``).

Quality, on the five seeded instances of :mod:`tests.perf.scheduler_instances`
(100 sequences over one night at the configured site each):

* **ours**: :meth:`pyros.scheduling.planner.Planner.plan`, visibility included;
* **optimum**: the same problem discretised in 5-minute slots, solved exactly by
  HiGHS (:mod:`tests.perf.scheduler_milp`); when its time limit stops it, its dual
  bound is the reference;
* **astroplan**: its ``PriorityScheduler`` with the same constraints and overheads at
  1-minute resolution (:mod:`tests.perf.scheduler_astroplan`);
* **upper bound** (information, no target): the relaxation of
  :mod:`tests.perf.scheduler_milp` on 1-minute slots, which no plan can beat
  (the 5-minute optimum can be beaten: its starts are restricted to the slots).

The objective is the sum of priority x duration over the planned sequences,
recomputed here from the entries. The three schedules go through the
independent checker :func:`pyros.scheduling.verify.verify_plan`. Targets: ours
>= 98 % of the optimum (or of its bound) and >= astroplan's on every instance,
no violation in ours.

Speed: plan the 1,000-sequence instance and replan it two hours into the night
after inserting one urgent sequence (the running entry kept, the previous
plan's later starts kept as ``previous``), each timed call with a new
:class:`~pyros.scheduling.visibility.VisibilityCalculator` so that the
visibility of every target is computed in it. Targets: < 1 s and < 0.2 s,
medians of ``--runs`` runs after a warm-up (the Sun, Moon and Earth-orientation
caches of :mod:`pyros.astro` are filled by a first call, which is reported but
not judged). The service's replan, whose calculator already knows the night's
targets, is reported too.

Our planner runs ``--runs`` times per instance, alternating with the two
references (which run once: they are slow); times are medians. Results go to
``docs/performance.md`` between ``<!-- bench:scheduler:start -->`` and
``<!-- bench:scheduler:end -->``. The exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass, field, replace

import astroplan
import scipy

from pyros.scheduling.plan import Plan, PlannedEntry
from pyros.scheduling.planner import Planner
from pyros.scheduling.problem import PlanningProblem, RunningEntry, SequenceToPlan
from pyros.scheduling.verify import Violation, verify_plan
from pyros.scheduling.visibility import VisibilityCalculator
from tests.perf.doc_section import replace_section
from tests.perf.scheduler_astroplan import AstroplanResult, run_astroplan
from tests.perf.scheduler_instances import (SPEED_INSTANCE, Instance, bench_sky, quality_instances, speed_instance,
                                            with_urgent_sequence)
from tests.perf.scheduler_milp import SLOT_S, MilpResult, solve_milp

BOUND_SLOT_S = 60.0
"""Slot of the upper bound's relaxation, seconds."""

BOUND_GAP = 0.002
"""HiGHS' relative gap for the relaxation: only its dual bound is used, valid whenever it stops."""

QUALITY_OF_OPTIMUM = 0.98
"""Our objective must be at least this fraction of the optimum (or its bound)."""

PLAN_TARGET_S = 1.0
"""Planning 1,000 sequences must take less (median)."""

REPLAN_TARGET_S = 0.2
"""Replanning after one urgent insertion must take less (median)."""


@dataclass
class QualityRow:
    """One instance's figures."""

    instance: Instance
    candidates: int
    ours: Plan
    ours_objective: float
    ours_times: list[float]
    milp: MilpResult
    astroplan: AstroplanResult
    upper: MilpResult | None
    violations: dict[str, list[Violation]] = field(default_factory=dict)

    @property
    def reference(self) -> float:
        """The optimum, or its bound when the solver was stopped."""
        return self.milp.objective if self.milp.status == "optimal" else self.milp.bound

    @property
    def share_of_optimum(self) -> float:
        """Ours / the optimum (or its bound)."""
        return self.ours_objective / self.reference if self.reference > 0 else float("inf")

    @property
    def share_of_astroplan(self) -> float:
        """Ours / astroplan's."""
        return self.ours_objective / self.astroplan.objective if self.astroplan.objective > 0 else float("inf")

    @property
    def share_of_upper_bound(self) -> float | None:
        """Ours / the upper bound of every plan (None when it was not computed)."""
        if self.upper is None:
            return None
        return self.ours_objective / self.upper.bound if self.upper.bound > 0 else float("inf")

    @property
    def passed(self) -> bool:
        """All three quality targets met."""
        return (self.share_of_optimum >= QUALITY_OF_OPTIMUM and self.ours_objective >= self.astroplan.objective
                and not self.violations["ours"])


@dataclass
class SpeedResult:
    """The 1,000-sequence figures."""

    sequences: int
    first_plan_s: float
    plan_times: list[float]
    replan_times: list[float]
    service_replan_times: list[float]
    planned: int
    objective: float
    violations: list[Violation]
    replan_violations: list[Violation]
    urgent_start_after_now_s: float | None
    running_end_after_now_s: float | None
    kept_entries: int
    kept_in_order: bool
    median_shift_s: float
    previous_entries: int


def objective_of(problem: PlanningProblem, entries: tuple[PlannedEntry, ...]) -> float:
    """Sum of priority x duration over the entries' sequences, the running one excluded."""
    values = {s.id: s.value for s in problem.sequences}
    return float(sum(values.get(entry.sequence_id, 0.0) for entry in entries if not entry.running))


def timed_plan(planner: Planner, problem: PlanningProblem) -> tuple[Plan, float]:
    """Plan once; the wall time of the whole call (visibility included)."""
    started = time.perf_counter()
    plan = planner.plan(problem)
    return plan, time.perf_counter() - started


def check(problem: PlanningProblem, entries: tuple[PlannedEntry, ...]) -> list[Violation]:
    """The independent checker at the benchmark's site."""
    sky = bench_sky()
    return verify_plan(problem, entries, sky.location, sky.night_sun_altitude_deg)


def measure_quality(instances: list[Instance], runs: int, milp_time_limit_s: float, bound_time_limit_s: float | None,
                    log: bool) -> list[QualityRow]:
    """Ours ``runs`` times per instance, alternating with one MILP and one astroplan run (and the upper bound's
    relaxation unless ``bound_time_limit_s`` is None)."""
    sky = bench_sky()
    calculator = VisibilityCalculator(sky)
    rows: list[QualityRow] = []
    for instance in instances:
        problem = instance.problem
        times: list[float] = []
        plan, elapsed = timed_plan(Planner(VisibilityCalculator(sky)), problem)
        times.append(elapsed)
        milp = solve_milp(problem, calculator, time_limit_s=milp_time_limit_s)
        plan, elapsed = timed_plan(Planner(VisibilityCalculator(sky)), problem)
        times.append(elapsed)
        reference = run_astroplan(problem, sky.location)
        for _ in range(max(0, runs - 2)):
            plan, elapsed = timed_plan(Planner(VisibilityCalculator(sky)), problem)
            times.append(elapsed)
        times = times[:runs]
        upper = None
        if bound_time_limit_s is not None:
            upper = solve_milp(problem, calculator, time_limit_s=bound_time_limit_s, slot_s=BOUND_SLOT_S,
                               mip_rel_gap=BOUND_GAP, relaxed=True)
        feasible = calculator.feasibility(problem)
        row = QualityRow(instance, sum(1 for f in feasible.values() if f.starts), plan,
                         objective_of(problem, plan.entries), times, milp, reference, upper)
        row.violations = {"ours": check(problem, plan.entries), "optimum": check(problem, milp.entries),
                          "astroplan": check(problem, reference.entries)}
        if abs(row.ours_objective - plan.objective) > 1e-6 * max(1.0, abs(plan.objective)):
            raise RuntimeError(f"{instance.name}: the plan reports objective {plan.objective}, its entries are worth "
                               f"{row.ours_objective}")
        if log:
            print(f"{instance.name}: ours {row.ours_objective:,.0f} in {statistics.median(times) * 1000:.0f} ms, "
                  f"optimum {milp.objective:,.0f} ({milp.status}, bound {milp.bound:,.0f}) in {milp.total_s:.1f} s, "
                  f"astroplan {reference.objective:,.0f} in {reference.elapsed_s:.1f} s", file=sys.stderr)
        rows.append(row)
    return rows


def measure_speed(runs: int) -> SpeedResult:
    """Plan the 1,000-sequence instance and replan it after one urgent insertion, ``runs`` times each.

    Every timed plan and replan gets a new :class:`VisibilityCalculator`, so the visibility of every
    target is computed in the timed call (only :mod:`pyros.astro`'s Sun, Moon and Earth-orientation
    caches are warm). The replan happens two hours into the night, the plan's entry then being
    executed, with the sequences already done removed; the service's own case, whose calculator
    already holds the night's targets, is timed too.
    """
    instance = speed_instance()
    problem = instance.problem
    sky = bench_sky()
    plan, first = timed_plan(Planner(VisibilityCalculator(sky)), problem)     # warm-up: pyros.astro's caches
    replan_problem, urgent, previous = mid_night_replan(problem, plan)
    plan_times: list[float] = []
    replan_times: list[float] = []
    service_times: list[float] = []
    for _ in range(runs):
        plan, elapsed = timed_plan(Planner(VisibilityCalculator(sky)), problem)
        plan_times.append(elapsed)
        replanned, elapsed = timed_plan(Planner(VisibilityCalculator(sky)), replan_problem)
        replan_times.append(elapsed)
        service = Planner(VisibilityCalculator(sky))
        service.plan(problem)
        _, elapsed = timed_plan(service, replan_problem)
        service_times.append(elapsed)
    urgent_entry = replanned.entry(urgent.id)
    kept = [e for e in replanned.entries if not e.running and e.sequence_id in previous]
    shifts = [abs(e.start_s - previous[e.sequence_id]) for e in kept]
    in_order = [e.sequence_id for e in kept] == sorted((e.sequence_id for e in kept), key=previous.__getitem__)
    return SpeedResult(
        sequences=len(problem.sequences), first_plan_s=first, plan_times=plan_times, replan_times=replan_times,
        service_replan_times=service_times, planned=len(plan.entries), objective=objective_of(problem, plan.entries),
        violations=check(problem, plan.entries), replan_violations=check(replan_problem, replanned.entries),
        urgent_start_after_now_s=None if urgent_entry is None else urgent_entry.start_s - replan_problem.start_s,
        running_end_after_now_s=(None if replan_problem.running is None
                                 else replan_problem.running.end_s - replan_problem.start_s),
        kept_entries=len(kept), kept_in_order=in_order,
        median_shift_s=statistics.median(shifts) if shifts else 0.0, previous_entries=len(previous))


def mid_night_replan(problem: PlanningProblem, plan: Plan,
                     after_s: float = 2 * 3600.0) -> tuple[PlanningProblem, SequenceToPlan, dict[int, float]]:
    """The replan ``after_s`` into the night: running entry kept, done ones removed, one urgent sequence added.

    Returns:
        The replan's problem, the urgent sequence and the previous starts it keeps.
    """
    now = problem.horizon[0] + after_s
    by_id = {s.id: s for s in problem.sequences}
    running_entry = next((e for e in plan.entries if e.start_s <= now < e.end_s), None)
    done = {e.sequence_id for e in plan.entries if e.end_s <= now}
    running = None
    if running_entry is not None:
        running = RunningEntry(by_id[running_entry.sequence_id], running_entry.start_s, running_entry.end_s)
        done.add(running_entry.sequence_id)
    later = [e for e in plan.entries if e.start_s > now]
    like = by_id[later[0].sequence_id] if later else by_id[plan.entries[0].sequence_id]
    previous = {e.sequence_id: e.start_s for e in later}
    remaining = replace(problem, sequences=tuple(s for s in problem.sequences if s.id not in done))
    replanned, urgent = with_urgent_sequence(remaining, previous, like)
    return replace(replanned, start_s=now, running=running), urgent, previous


def _ms(values: list[float]) -> str:
    return ", ".join(f"{v * 1000:.0f}" for v in values)


def _bound_sentence(bound_time_limit_s: float | None) -> str:
    if bound_time_limit_s is None:
        return "**Upper bound**: not computed in this run. "
    return (f"**Upper bound** (no target): a relaxation on {BOUND_SLOT_S / 60:.0f}-minute slots (any start in a slot "
            "counts, durations rounded down, no transitions) that no plan can beat; HiGHS' dual bound, with a gap of "
            f"{BOUND_GAP:.1%} or a time limit of {bound_time_limit_s:g} s. ")


def _upper(row: QualityRow) -> str:
    if row.upper is None or row.share_of_upper_bound is None:
        return "— | —"
    return f"{row.upper.bound:,.0f} | {row.share_of_upper_bound:.1%}"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _violations(values: list[Violation]) -> str:
    if not values:
        return "0"
    kinds: dict[str, int] = {}
    for violation in values:
        kinds[violation.kind] = kinds.get(violation.kind, 0) + 1
    return f"{len(values)} (" + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())) + ")"


def targets(rows: list[QualityRow], speed: SpeedResult) -> list[tuple[str, bool]]:
    """Every target with its outcome."""
    checks = []
    for row in rows:
        checks.append((f"{row.instance.name}: ours {row.share_of_optimum:.1%} of the optimum"
                       f"{'' if row.milp.status == 'optimal' else ' bound'} (>= {QUALITY_OF_OPTIMUM:.0%})",
                       row.share_of_optimum >= QUALITY_OF_OPTIMUM))
        checks.append((f"{row.instance.name}: ours {row.share_of_astroplan:.1%} of astroplan (>= 100%)",
                       row.ours_objective >= row.astroplan.objective))
        checks.append((f"{row.instance.name}: {len(row.violations['ours'])} violation(s) in ours (0)",
                       not row.violations["ours"]))
    plan_median = statistics.median(speed.plan_times)
    replan_median = statistics.median(speed.replan_times)
    checks.append((f"plan {speed.sequences:,} sequences: {plan_median * 1000:.0f} ms (< {PLAN_TARGET_S * 1000:.0f})",
                   plan_median < PLAN_TARGET_S))
    checks.append((f"replan after an urgent insertion: {replan_median * 1000:.0f} ms "
                   f"(< {REPLAN_TARGET_S * 1000:.0f})", replan_median < REPLAN_TARGET_S))
    checks.append((f"{speed.sequences:,}-sequence plan and replan: "
                   f"{len(speed.violations) + len(speed.replan_violations)} violation(s) (0)",
                   not speed.violations and not speed.replan_violations))
    return checks


def report(rows: list[QualityRow], speed: SpeedResult, runs: int, milp_time_limit_s: float,
           bound_time_limit_s: float | None, command: str) -> str:
    """The markdown section: quality table, speed table, targets, machine."""
    sizes = sorted({len(row.instance.problem.sequences) for row in rows})
    lines = [
        f"### Scheduler benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"{len(rows)} seeded instances of {', '.join(str(n) for n in sizes)} sequences over one night "
        "at the configured site (`tests/perf/scheduler_instances.py`: random targets, windows, durations 5-60 min, "
        "priorities 1-10, airmass <= 2, Moon distances, one filter each; slews 1°/s, no settling, 30 s per filter "
        "change). Objective: sum of priority x duration (s) of the planned sequences. **Optimum**: the same problem "
        f"with starts on {SLOT_S / 60:.0f}-minute slots, solved exactly by HiGHS (`scipy.optimize.milp`, time limit "
        f"{milp_time_limit_s:g} s; when it stops there, its dual bound is the reference). Starting anywhere, ours may "
        "beat it. **astroplan**: `PriorityScheduler`, same constraints and overheads, 1-minute resolution. "
        f"{_bound_sentence(bound_time_limit_s)}"
        "Violations: the independent checker `pyros.scheduling.verify.verify_plan` (astropy `AltAz`, samples every "
        "30 s and at both ends of each run). Times: ours is the median of "
        f"{runs} runs of `Planner.plan` (visibility included), alternating with one run of each reference.",
        "",
        "| night #seed | can run | ours | ours ms | optimum (5 min) | bound | HiGHS s | ours / optimum | "
        "astroplan | astroplan s | ours / astroplan | upper bound | ours / upper bound | "
        "violations ours / optimum / astroplan | result |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        status = "" if row.milp.status == "optimal" else " (time limit)"
        lines.append(
            f"| {row.instance.name} | {row.candidates} | {row.ours_objective:,.0f} | "
            f"{statistics.median(row.ours_times) * 1000:,.0f} | {row.milp.objective:,.0f}{status} | "
            f"{row.milp.bound:,.0f} | {row.milp.total_s:,.1f} | {row.share_of_optimum:.1%} | "
            f"{row.astroplan.objective:,.0f} | {row.astroplan.elapsed_s:,.1f} | {row.share_of_astroplan:.1%} | "
            f"{_upper(row)} | "
            f"{_violations(row.violations['ours'])} / {_violations(row.violations['optimum'])} / "
            f"{_violations(row.violations['astroplan'])} | {_verdict(row.passed)} |")
    plan_median = statistics.median(speed.plan_times)
    replan_median = statistics.median(speed.replan_times)
    service_median = statistics.median(speed.service_replan_times)
    if speed.urgent_start_after_now_s is None:
        urgent = "is not planned"
    else:
        urgent = f"starts {speed.urgent_start_after_now_s:,.0f} s after now"
        if speed.running_end_after_now_s is not None:
            urgent += f" (the running sequence ends {speed.running_end_after_now_s:,.0f} s after now)"
    lines += [
        "",
        f"Speed: {speed.sequences:,} sequences over the night of {speed_instance_label()}, medians of {runs} runs "
        f"after a warm-up of `pyros.astro` (the first call on that night took {speed.first_plan_s * 1000:,.0f} ms). "
        "Each timed call has a new `VisibilityCalculator`, so it computes the visibility of every target. The "
        "replan happens two hours into the night: the entry then running is kept, the sequences done are removed, "
        "one urgent sequence (priority 10, 20 min, the target of the next entry) is added, and the previous "
        "plan's later starts are passed as `previous`. The service's replan reuses the targets its calculator "
        "computed for the night's plan (only the urgent one is new).",
        "",
        "| measurement | median ms | runs (ms) | target | result |",
        "|---|---:|---|---:|---|",
        f"| plan {speed.sequences:,} sequences (visibility included) | {plan_median * 1000:,.0f} | "
        f"{_ms(speed.plan_times)} | < {PLAN_TARGET_S * 1000:,.0f} | {_verdict(plan_median < PLAN_TARGET_S)} |",
        f"| replan after one urgent insertion (visibility included) | {replan_median * 1000:,.0f} | "
        f"{_ms(speed.replan_times)} | < {REPLAN_TARGET_S * 1000:,.0f} | {_verdict(replan_median < REPLAN_TARGET_S)} |",
        f"| the same replan in the service (night's targets known) | {service_median * 1000:,.0f} | "
        f"{_ms(speed.service_replan_times)} | — | — |",
        "",
        f"The plan holds {speed.planned} sequences worth {speed.objective:,.0f}; checker: "
        f"{_violations(speed.violations)} violation(s) in the plan, {_violations(speed.replan_violations)} in the "
        f"replan. In the replan the urgent sequence {urgent}; {speed.kept_entries} of the "
        f"{speed.previous_entries} later entries of the previous plan stay in it, "
        f"{'in the same order' if speed.kept_in_order else 'in another order'}, moved by "
        f"{speed.median_shift_s / 60:,.1f} min (median; the urgent sequence and its transitions push them).",
        "",
        f"Machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} after; "
        f"Python {sys.version.split()[0]}, SciPy {scipy.__version__} (HiGHS), astroplan {astroplan.__version__}. "
        f"Reproduce: `{command}`.",
    ]
    return "\n".join(lines)


def speed_instance_label() -> str:
    """The speed instance's night and seed."""
    seed, night_date = SPEED_INSTANCE
    return f"{night_date.isoformat()} (seed {seed})"


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--quick``, ``--milp-time-limit``, ``--runs``, ``--no-doc``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="two instances, 3 runs, MILP limit 30 s; docs/performance.md is left alone")
    parser.add_argument("--milp-time-limit", type=float, default=None, metavar="S",
                        help="HiGHS time limit per instance, seconds (default 120, 30 with --quick)")
    parser.add_argument("--bound-time-limit", type=float, default=60.0, metavar="S",
                        help="HiGHS time limit of the upper bound's relaxation per instance (default 60; 0: skip it, "
                             "as --quick does)")
    parser.add_argument("--runs", type=int, default=None, help="runs of our planner per measurement (default 5)")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args(argv)
    runs = args.runs if args.runs is not None else (3 if args.quick else 5)
    milp_limit = args.milp_time_limit if args.milp_time_limit is not None else (30.0 if args.quick else 120.0)
    if runs < 1:
        parser.error("--runs must be at least 1")
    if not milp_limit > 0:
        parser.error("--milp-time-limit must be positive")
    if args.bound_time_limit < 0:
        parser.error("--bound-time-limit must be positive (or 0 to skip the upper bound)")
    bound_limit = None if args.quick or args.bound_time_limit == 0 else args.bound_time_limit
    instances = quality_instances()
    if args.quick:
        instances = instances[:2]
    Planner(VisibilityCalculator(bench_sky())).plan(instances[0].problem)  # warm-up: pyros.astro's caches
    rows = measure_quality(instances, runs, milp_limit, bound_limit, log=True)
    speed = measure_speed(runs)
    command = ".venv/bin/python -m tests.perf.bench_scheduler" + (" --quick" if args.quick else "")
    if args.milp_time_limit is not None:
        command += f" --milp-time-limit {args.milp_time_limit:g}"
    if args.bound_time_limit != 60.0:
        command += f" --bound-time-limit {args.bound_time_limit:g}"
    section = report(rows, speed, runs, milp_limit, bound_limit, command)
    print(section)
    print()
    outcomes = targets(rows, speed)
    for label, ok in outcomes:
        print(f"{_verdict(ok)}  {label}")
    if not args.no_doc and not args.quick:
        replace_section("scheduler", section, "## Scheduler")
    if not all(ok for _, ok in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()
