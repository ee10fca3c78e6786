"""Broker performance benchmark (``make bench``).

Nothing in this package is collected by pytest (no ``test_*.py`` files): the
benchmark starts real processes and runs for minutes, so it is run explicitly
with ``python -m tests.perf.bench_broker``. See ``docs/performance.md``.
"""
