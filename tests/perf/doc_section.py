"""Write a benchmark's section of ``docs/performance.md`` between its markers, keeping the rest."""

from __future__ import annotations

import os
from pathlib import Path

PERFORMANCE_DOC = Path(__file__).resolve().parents[2] / "docs" / "performance.md"


def replace_section(name: str, body: str, heading: str, path: Path = PERFORMANCE_DOC) -> None:
    """Put ``body`` between ``<!-- bench:NAME:start -->`` and ``<!-- bench:NAME:end -->``.

    The markers are appended under ``heading`` the first time.

    Args:
        name: Benchmark name in the markers (``titanic``, ``kv``, ...).
        body: Markdown to put between the markers.
        heading: Markdown heading written above the markers when they are first added.
        path: The document (``docs/performance.md`` by default).
    """
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    block = f"{start}\n{body}\n{end}"
    if start in text and end in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + f"\n\n{heading}\n\n{block}\n"
    path.write_text(text, encoding="utf-8")


def machine_line(module: str) -> str:
    """The line ending a section: the machine, its load after the run, and how to run the benchmark again.

    Args:
        module: The benchmark's module (``tests.perf.bench_safety``).
    """
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"Machine: {os.cpu_count()} CPUs, load average {load} after. Reproduce: `.venv/bin/python -m {module}`."
