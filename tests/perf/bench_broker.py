"""Broker benchmark: echo router vs minimal MDP loop vs the PyROS broker.

Run by ``make bench``::

    .venv/bin/python -m tests.perf.bench_broker            # full: 5 runs x 3 s
    .venv/bin/python -m tests.perf.bench_broker --quick    # smoke: 1 run x 1 s
    .venv/bin/python -m tests.perf.bench_broker --only echo,minimal

Every measurement starts a fresh broker process plus fresh worker and client
processes. Runs alternate (for run: for shape: for broker) so that drifts of
the machine hit every broker alike; the report gives medians over the runs.
The Markdown report is printed and, unless ``--quick`` or ``--no-doc``, written
between the ``bench:broker`` markers of ``docs/performance.md``. Targets are
reported as PASS/FAIL, never asserted: the exit code is 0 unless the harness
itself breaks.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import zmq

from tests.perf.harness import REPO_ROOT, BrokerSpec, Harness, Measurement, RssResult, Shape

START_MARKER = "<!-- bench:broker:start -->"
END_MARKER = "<!-- bench:broker:end -->"
DEFAULT_DOC = REPO_ROOT / "docs" / "performance.md"
PYROS_BROKER_FILE = REPO_ROOT / "servers" / "broker.py"

DEFAULT_SHAPES = ("1x1x1/64", "1x1x1/64k", "4x2x8/64", "4x2x8/64k")
THROUGHPUT_SHAPE = Shape(4, 2, 8, 64)
"""Shape of the throughput targets and of the RSS measurement."""
LATENCY_SHAPE = Shape(1, 1, 1, 64)
"""Shape of the p99 latency target."""

CLIENT_PROCS_TEXT = {"single": "all in one process", "per-client": "one process per client"}

MIN_THROUGHPUT_RATIO = 0.9
MIN_THROUGHPUT = 5_000.0
MAX_P99_RATIO = 1.2
MAX_RSS_GROWTH_MIB = 5.0

_DOC_INTRO = f"""# Broker performance

`make bench` (`.venv/bin/python -m tests.perf.bench_broker`) measures the PyROS
broker (`servers/broker.py`) against two references started the same way, each
as its own OS process on loopback TCP, driven by the same client and worker processes:

* **echo**: a ROUTER that sends every message straight back to its sender
  (`tests/perf/echo_router.py`): clients get their own 7/MDP request frames
  back with no worker hop. This is the transport's physical limit.
* **minimal**: a minimal 7/MDP routing loop (`tests/perf/minimal_broker.py`):
  one ROUTER, all ready messages drained per poll, per-service deques of idle
  workers and waiting requests, frames forwarded without validation,
  heartbeats or bookkeeping. This is the protocol's limit in Python.
* **pyros**: our broker, `python -m servers.broker --bind ENDPOINT --heartbeat-interval 2.5`.

Workers are 7/MDP v0.1 echo workers, one process each, heartbeating every 2.5 s.
Clients are DEALER sockets keeping K pipelined requests in flight; the body is an
8-byte sequence number plus padding, and each request's latency is taken from
send to reply with `time.perf_counter_ns`. A shape `CxWxK / SIZE` means C
clients, W workers (unused by echo), K requests in flight per client, SIZE body.

## Method

* Every measurement starts a fresh broker, waits for a probe round trip
  (worker `READY`, request, reply), starts the workers and clients, loads for
  a warm-up, then records for a fixed window (defaults: 0.5 s and 3 s).
* Runs alternate: `for run in 1..5: for shape: for broker: measure`, so slow
  drifts of the machine affect every broker alike. Tables give the **median
  over the runs** of req/s, p50 and p99.
* Memory: VmRSS of the broker process (`/proc/PID/status`) after a warm-up and
  again after 10^6 requests at 4x2x8 / 64 B; the difference is the growth.
* Targets (reported, not asserted): pyros ≥ {MIN_THROUGHPUT_RATIO}× minimal and
  ≥ {MIN_THROUGHPUT:,.0f} req/s at 4x2x8 / 64 B; pyros p99 ≤ {MAX_P99_RATIO}× minimal at
  1x1x1 / 64 B; RSS growth ≤ {MAX_RSS_GROWTH_MIB:g} MiB over 10^6 requests.
* `--quick` (1 run, 1 s windows, 20,000 RSS requests) is a smoke check and
  does not touch this file. See `--help` for all options.

The section below is rewritten by each full run.

"""


@dataclass
class Summary:
    """Medians over the runs of one broker at one shape.

    Attributes:
        broker: Broker name.
        shape: Load shape.
        runs: Successful runs.
        failed: Failed runs.
        req_per_s: Median throughput.
        p50_us: Median of the per-run p50 latencies.
        p99_us: Median of the per-run p99 latencies.
        notes: Distinct failure notes.
    """

    broker: str
    shape: Shape
    runs: int
    failed: int
    req_per_s: float
    p50_us: float
    p99_us: float
    notes: list[str]


def summarize(measurements: Sequence[Measurement], broker: str, shape: Shape) -> Summary:
    """Median over the successful runs of one broker at one shape.

    Args:
        measurements: All measurements of the session.
        broker: Broker name.
        shape: Load shape.

    Returns:
        The summary (NaN figures when no run succeeded).
    """
    mine = [m for m in measurements if m.broker == broker and m.shape == shape]
    good = [m for m in mine if m.ok]
    nan = float("nan")
    notes = sorted({m.note.splitlines()[0] for m in mine if not m.ok and m.note})
    return Summary(
        broker,
        shape,
        len(good),
        len(mine) - len(good),
        statistics.median(m.req_per_s for m in good) if good else nan,
        statistics.median(m.p50_us for m in good) if good else nan,
        statistics.median(m.p99_us for m in good) if good else nan,
        notes,
    )


def _num(value: float, digits: int = 0) -> str:
    """Format a number with thousands separators, ``n/a`` for NaN."""
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, or ``unknown``."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def machine_info(load_before: str) -> list[tuple[str, str]]:
    """Describe the machine and software versions.

    Args:
        load_before: Load averages read before the benchmark started.

    Returns:
        ``(name, value)`` pairs.
    """
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return [
        ("nproc", f"{usable} (os.cpu_count {os.cpu_count()})"),
        ("CPU", model),
        ("OS", platform.platform()),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("pyzmq / libzmq", f"{zmq.__version__} / {zmq.zmq_version()}"),
        ("load average (1/5/15 min)", f"{load_before} before, {load_average()} after the benchmark"),
    ]


def _verdict(ok: bool | None) -> str:
    """PASS, FAIL or n/a."""
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def render(
    summaries: Sequence[Summary],
    rss: Sequence[RssResult],
    brokers: Sequence[str],
    shapes: Sequence[Shape],
    args: argparse.Namespace,
    skipped: dict[str, str],
    command: str,
    load_before: str,
) -> str:
    """Render the Markdown report.

    Args:
        summaries: Medians per broker and shape.
        rss: Memory results.
        brokers: Brokers measured, in report order.
        shapes: Shapes measured, in report order.
        args: Parsed command line (run parameters).
        skipped: Brokers not measured and why.
        command: Command line that reproduces the run.
        load_before: Load averages read before the benchmark started.

    Returns:
        The report.
    """
    by_key = {(s.broker, s.shape): s for s in summaries}
    out: list[str] = []
    stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    out.append(f"### Broker benchmark, {stamp}")
    out.append("")
    out.append(
        f"{args.runs} alternating run(s); each measurement: fresh processes, {args.warmup:g} s warm-up, "
        f"{args.duration:g} s recorded; clients: {CLIENT_PROCS_TEXT[args.client_procs]}. "
        f"Figures are medians over the runs."
    )
    out.append("")
    out.append("| shape | broker | req/s | p50 µs | p99 µs |")
    out.append("|---|---|---:|---:|---:|")
    for shape in shapes:
        for broker in brokers:
            s = by_key.get((broker, shape))
            if s is None:
                continue
            name = broker if not s.failed else f"{broker} ({s.failed} of {s.runs + s.failed} runs failed)"
            out.append(
                f"| {shape.label} | {name} | {_num(s.req_per_s)} | {_num(s.p50_us)} | {_num(s.p99_us)} |"
            )
    for name, why in skipped.items():
        out.append("")
        out.append(f"*{name} not measured: {why}*")
    failures = [(s, n) for s in summaries for n in s.notes]
    if failures:
        out.append("")
        out.append("Failed measurements:")
        out.append("")
        for s, note in failures:
            out.append(f"* {s.broker} at {s.shape.label}: {note}")

    if rss:
        out.append("")
        out.append(f"Broker RSS (VmRSS) around {args.rss_requests:,} requests at {THROUGHPUT_SHAPE.label}:")
        out.append("")
        out.append("| broker | before MiB | after MiB | growth MiB | req/s during |")
        out.append("|---|---:|---:|---:|---:|")
        for r in rss:
            if r.ok:
                rate = r.requests / r.seconds if r.seconds > 0 else float("nan")
                out.append(
                    f"| {r.broker} | {r.before_kib / 1024:.1f} | {r.after_kib / 1024:.1f} | "
                    f"{r.growth_mib:+.2f} | {_num(rate)} |"
                )
            else:
                out.append(f"| {r.broker} | failed: {r.note.splitlines()[0] if r.note else '?'} | | | |")

    out.append("")
    out.append("Targets (pyros = `servers.broker`, minimal = `tests.perf.minimal_broker`):")
    out.append("")
    out.append("| target | measured | limit | result |")
    out.append("|---|---:|---:|---|")
    ours_t = by_key.get(("pyros", THROUGHPUT_SHAPE))
    min_t = by_key.get(("minimal", THROUGHPUT_SHAPE))
    ours_l = by_key.get(("pyros", LATENCY_SHAPE))
    min_l = by_key.get(("minimal", LATENCY_SHAPE))

    def ratio(a: Summary | None, b: Summary | None, attr: str) -> float:
        if a is None or b is None:
            return float("nan")
        num, den = getattr(a, attr), getattr(b, attr)
        return num / den if den and not math.isnan(num) and not math.isnan(den) else float("nan")

    thr_ratio = ratio(ours_t, min_t, "req_per_s")
    thr = ours_t.req_per_s if ours_t else float("nan")
    p99_ratio = ratio(ours_l, min_l, "p99_us")
    rss_ours = next((r for r in rss if r.broker == "pyros"), None)
    growth = rss_ours.growth_mib if rss_ours and rss_ours.ok else float("nan")
    rows = [
        (
            f"pyros / minimal req/s at {THROUGHPUT_SHAPE.label}",
            f"{thr_ratio:.2f}×" if not math.isnan(thr_ratio) else "n/a",
            f"≥ {MIN_THROUGHPUT_RATIO}×",
            None if math.isnan(thr_ratio) else thr_ratio >= MIN_THROUGHPUT_RATIO,
        ),
        (
            f"pyros req/s at {THROUGHPUT_SHAPE.label}",
            _num(thr),
            f"≥ {MIN_THROUGHPUT:,.0f}",
            None if math.isnan(thr) else thr >= MIN_THROUGHPUT,
        ),
        (
            f"pyros / minimal p99 at {LATENCY_SHAPE.label}",
            f"{p99_ratio:.2f}×" if not math.isnan(p99_ratio) else "n/a",
            f"≤ {MAX_P99_RATIO}×",
            None if math.isnan(p99_ratio) else p99_ratio <= MAX_P99_RATIO,
        ),
        (
            f"pyros RSS growth over {args.rss_requests:,} requests",
            f"{growth:+.2f} MiB" if not math.isnan(growth) else "n/a",
            f"≤ {MAX_RSS_GROWTH_MIB:g} MiB",
            None if math.isnan(growth) else growth <= MAX_RSS_GROWTH_MIB,
        ),
    ]
    for label, measured, limit, ok in rows:
        out.append(f"| {label} | {measured} | {limit} | {_verdict(ok)} |")
    ref = []
    for shape in (THROUGHPUT_SHAPE, LATENCY_SHAPE):
        e, m = by_key.get(("echo", shape)), by_key.get(("minimal", shape))
        r = ratio(m, e, "req_per_s")
        if not math.isnan(r):
            ref.append(f"minimal / echo req/s at {shape.label}: {r:.2f}×")
    if ref:
        out.append("")
        out.append("For reference: " + "; ".join(ref) + ".")
    standard = (
        args.runs == 5
        and args.duration == 3.0
        and args.warmup == 0.5
        and args.rss_requests == 1_000_000
        and list(shapes) == [Shape.parse(text) for text in DEFAULT_SHAPES]
        and args.client_procs == "single"
    )
    if not standard:
        out.append("")
        out.append(
            "*Not the standard configuration (5 runs, 0.5 s + 3 s windows, default shapes, "
            "10^6 RSS requests, clients in one process): figures are indicative only.*"
        )

    out.append("")
    out.append("Machine:")
    out.append("")
    for name, value in machine_info(load_before):
        out.append(f"* {name}: {value}")
    out.append("")
    out.append("Reproduce:")
    out.append("")
    out.append(f"    {command}")
    return "\n".join(out) + "\n"


def write_doc(path: Path, report: str) -> None:
    """Put the report between the markers of ``path``, keeping everything else.

    Creates the file with an introduction when it does not exist; appends the
    markers when the file lacks them.

    Args:
        path: Markdown file, normally ``docs/performance.md``.
        report: Markdown to put between the markers.
    """
    block = f"{START_MARKER}\n{report}{END_MARKER}\n"
    if path.exists():
        text = path.read_text(encoding="utf-8")
    else:
        text = _DOC_INTRO
    start = text.find(START_MARKER)
    end = text.find(END_MARKER, start + 1) if start >= 0 else -1
    if start >= 0 and end >= 0:
        after = text[end + len(END_MARKER) :]
        text = text[:start] + block + after.removeprefix("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block if text.strip() else block
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The options, with ``--quick`` defaults applied.
    """
    parser = argparse.ArgumentParser(
        prog="python -m tests.perf.bench_broker",
        description="Compare the PyROS broker with an echo router and a minimal MDP loop.",
    )
    parser.add_argument("--quick", action="store_true", help="smoke check: 1 run, 1 s windows, 20,000 RSS requests")
    parser.add_argument("--runs", type=int, help="alternating runs (default 5, quick 1)")
    parser.add_argument("--duration", type=float, help="recorded seconds per measurement (default 3, quick 1)")
    parser.add_argument("--warmup", type=float, default=0.5, help="warm-up seconds per measurement (default 0.5)")
    parser.add_argument("--rss-requests", type=int, help="requests between RSS readings (default 1000000, quick 20000; 0 skips)")
    parser.add_argument("--only", default="echo,minimal,pyros", help="comma-separated brokers (default echo,minimal,pyros)")
    parser.add_argument(
        "--shapes",
        default=",".join(DEFAULT_SHAPES),
        help="comma-separated CxWxK/SIZE shapes, SIZE in bytes or with k for KiB (default %(default)s)",
    )
    parser.add_argument("--heartbeat-interval", type=float, default=2.5, help="pyros and worker heartbeat seconds (default 2.5)")
    parser.add_argument(
        "--client-procs",
        choices=("single", "per-client"),
        default="single",
        help="all clients in one process, or one process per client (default single)",
    )
    parser.add_argument("--doc", type=Path, help=f"Markdown file to update (default {DEFAULT_DOC.relative_to(REPO_ROOT)})")
    parser.add_argument("--no-doc", action="store_true", help="only print the report")
    parser.add_argument("--keep-logs", action="store_true", help="keep the child logs directory and print its path")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every started process")
    args = parser.parse_args(argv)
    args.runs = args.runs if args.runs is not None else (1 if args.quick else 5)
    args.duration = args.duration if args.duration is not None else (1.0 if args.quick else 3.0)
    if args.rss_requests is None:
        args.rss_requests = 20_000 if args.quick else 1_000_000
    if args.runs < 1 or args.duration <= 0 or args.warmup < 0 or args.rss_requests < 0:
        parser.error("--runs must be >= 1, --duration > 0, --warmup and --rss-requests >= 0")
    known = ("echo", "minimal", "pyros")
    args.brokers = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in args.brokers if name not in known]
    if unknown or not args.brokers:
        parser.error(f"--only takes a subset of {','.join(known)}, got {args.only!r}")
    args.brokers = [name for name in known if name in args.brokers]
    try:
        args.shape_list = [Shape.parse(text) for text in args.shapes.split(",") if text.strip()]
    except ValueError as exc:
        parser.error(str(exc))
    if args.doc is None and not args.quick and not args.no_doc:
        args.doc = DEFAULT_DOC
    if args.no_doc:
        args.doc = None
    return args


def broker_specs(args: argparse.Namespace) -> tuple[list[BrokerSpec], dict[str, str]]:
    """Brokers to measure, and those skipped with the reason.

    Args:
        args: Parsed command line.

    Returns:
        Specs in report order, and ``{name: reason}`` of skipped brokers.
    """
    specs: list[BrokerSpec] = []
    skipped: dict[str, str] = {}
    for name in args.brokers:
        if name == "echo":
            specs.append(BrokerSpec("echo", "tests.perf.echo_router", mdp=False))
        elif name == "minimal":
            specs.append(BrokerSpec("minimal", "tests.perf.minimal_broker"))
        elif PYROS_BROKER_FILE.exists():
            hb = ("--heartbeat-interval", f"{args.heartbeat_interval:g}")
            specs.append(BrokerSpec("pyros", "servers.broker", hb))
        else:
            skipped["pyros"] = f"{PYROS_BROKER_FILE.relative_to(REPO_ROOT)} does not exist yet"
    for name in ("echo", "minimal", "pyros"):
        if name not in args.brokers:
            skipped[name] = "excluded by --only"
    return specs, skipped


def reproduce_command(argv: Sequence[str]) -> str:
    """The command that reproduces this run.

    Args:
        argv: Arguments given to this program.

    Returns:
        ``make bench`` for the defaults, else the explicit module command.
    """
    if not argv:
        return "make bench"
    return ".venv/bin/python -m tests.perf.bench_broker " + " ".join(shlex.quote(a) for a in argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and report.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        Exit code: 0 (targets are reported, not asserted).
    """
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(raw)
    specs, skipped = broker_specs(args)
    for name, why in skipped.items():
        print(f"note: skipping {name}: {why}", file=sys.stderr)
    shapes: list[Shape] = args.shape_list
    measurements: list[Measurement] = []
    rss: list[RssResult] = []
    began = time.monotonic()
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="pyros-bench-") as tmp:
        workdir = Path(tmp)
        if args.keep_logs:
            workdir = Path(tempfile.mkdtemp(prefix="pyros-bench-logs-"))
            print(f"logs: {workdir}", file=sys.stderr)
        harness = Harness(
            workdir, heartbeat=args.heartbeat_interval, client_procs=args.client_procs, verbose=args.verbose
        )
        total = args.runs * len(shapes) * len(specs)
        done = 0
        for run in range(1, args.runs + 1):
            for shape in shapes:
                for spec in specs:
                    done += 1
                    m = harness.measure(spec, shape, args.warmup, args.duration)
                    measurements.append(m)
                    status = "" if m.ok else f"  FAILED: {m.note}"
                    print(
                        f"[{done}/{total}] run {run} {shape.label:>16} {spec.name:>8}: "
                        f"{_num(m.req_per_s):>9} req/s  p50 {_num(m.p50_us):>7} µs  p99 {_num(m.p99_us):>7} µs"
                        f"{status}",
                        file=sys.stderr,
                        flush=True,
                    )
        if args.rss_requests > 0:
            warm = max(1_000, min(50_000, args.rss_requests // 10))
            for spec in specs:
                if not spec.mdp:
                    continue
                print(f"RSS: {spec.name}, {args.rss_requests:,} requests at {THROUGHPUT_SHAPE.label} ...", file=sys.stderr, flush=True)
                r = harness.measure_rss(spec, THROUGHPUT_SHAPE, warm, args.rss_requests)
                rss.append(r)
                if r.ok:
                    print(
                        f"RSS: {spec.name}: {r.before_kib / 1024:.1f} -> {r.after_kib / 1024:.1f} MiB "
                        f"({r.growth_mib:+.2f} MiB) in {r.seconds:.1f} s",
                        file=sys.stderr,
                        flush=True,
                    )
                else:
                    print(f"RSS: {spec.name}: FAILED: {r.note}", file=sys.stderr, flush=True)
    summaries = [summarize(measurements, spec.name, shape) for shape in shapes for spec in specs]
    report = render(summaries, rss, [s.name for s in specs], shapes, args, skipped, reproduce_command(raw), load_before)
    print(report)
    print(f"(benchmark took {time.monotonic() - began:.0f} s)", file=sys.stderr)
    if args.doc is not None:
        write_doc(args.doc, report)
        print(f"wrote {args.doc}", file=sys.stderr)
    elif args.quick:
        print("note: --quick does not update docs/performance.md (pass --doc PATH to force)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
