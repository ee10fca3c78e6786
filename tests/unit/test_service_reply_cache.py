"""Duplicate request ids: answered from the reply cache, never executed twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from pyros.messages import Request, decode_reply
from pyros.service import Service, ServiceRuntime, command
from pyros.service.reply_cache import ReplyCache, request_fingerprint
from tests.unit.test_service_support import TIMEOUT, Background, CountingClock, call


class Counter(Service):
    """Counts how often its commands run."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()
        self.started = threading.Event()
        self.release = threading.Event()

    @command()
    def bump(self, by: int = 1, note: str = "") -> int:
        """Add ``by`` to the call counter and return the number of calls."""
        with self._lock:
            self.calls += 1
            return self.calls

    @command()
    def slow_bump(self) -> int:
        """Bump once the test releases it."""
        with self._lock:
            self.calls += 1
            calls = self.calls
        self.started.set()
        self.release.wait(TIMEOUT)
        return calls


@pytest.fixture()
def clock() -> CountingClock:
    return CountingClock()


@pytest.fixture()
def counter() -> Iterator[Counter]:
    service = Counter()
    yield service
    service.release.set()


@pytest.fixture()
def rt(counter: Counter, clock: CountingClock) -> Iterator[ServiceRuntime]:
    runtime = ServiceRuntime(
        counter, instance="c1", reply_cache_ttl=60.0, monotonic=clock, reply_cache_size=3, default_timeout=TIMEOUT
    )
    yield runtime
    runtime.close()


def test_sequential_duplicate_runs_once(rt: ServiceRuntime, counter: Counter) -> None:
    body = Request(id="req-1", cmd="bump", args={"by": 2}).encode()
    first = rt.handle(body, lambda _b: None)
    second = rt.handle(body, lambda _b: None)
    assert first == second
    assert counter.calls == 1
    assert decode_reply(first).data == 1  # type: ignore[union-attr]


def test_duplicate_with_reordered_args_is_the_same_request(rt: ServiceRuntime, counter: Counter) -> None:
    first = Request(id="r", cmd="bump", args={"by": 1, "note": "n"}).encode()
    second = Request(id="r", cmd="bump", args={"note": "n", "by": 1}).encode()
    assert first != second
    assert rt.handle(first, lambda _b: None) == rt.handle(second, lambda _b: None)
    assert counter.calls == 1


def test_same_id_different_request_is_duplicate_id(rt: ServiceRuntime, counter: Counter) -> None:
    assert call(rt, "bump", {"by": 1}, rid="r").data == 1
    for cmd, args, token in (("bump", {"by": 2}, None), ("ping", {}, None), ("bump", {"by": 1}, "tok")):
        reply = call(rt, cmd, args, rid="r", token=token)
        assert reply.error is not None
        assert reply.error.type == "DuplicateId"
        assert "'r'" in reply.error.message
    assert call(rt, "bump", {"by": 1}, rid="r").data == 1
    assert counter.calls == 1


def test_error_replies_are_cached_too(rt: ServiceRuntime, counter: Counter) -> None:
    body = Request(id="bad", cmd="bump", args={"by": "x"}).encode()
    assert rt.handle(body, lambda _b: None) == rt.handle(body, lambda _b: None)
    assert counter.calls == 0


def test_concurrent_duplicate_waits_for_the_original(
    rt: ServiceRuntime, counter: Counter, clock: CountingClock
) -> None:
    body = Request(id="same", cmd="slow_bump", args={}).encode()
    original = Background(lambda: rt.handle(body, lambda _b: None))
    assert counter.started.wait(TIMEOUT)
    reads = clock.reads
    duplicate = Background(lambda: rt.handle(body, lambda _b: None))
    clock.wait_reads(reads + 1)  # the duplicate has claimed the id while the original runs
    assert not duplicate.done.wait(0.05)
    counter.release.set()
    assert original.get() == duplicate.get()
    assert counter.calls == 1


def test_many_concurrent_duplicates_run_once(rt: ServiceRuntime, counter: Counter) -> None:
    body = Request(id="storm", cmd="bump", args={}).encode()
    barrier = threading.Barrier(12)

    def send() -> bytes:
        barrier.wait(TIMEOUT)
        return rt.handle(body, lambda _b: None)

    calls = [Background(send) for _ in range(12)]
    replies = {c.get() for c in calls}
    assert len(replies) == 1
    assert counter.calls == 1


def test_reply_expires_after_ttl(rt: ServiceRuntime, counter: Counter, clock: CountingClock) -> None:
    assert call(rt, "bump", rid="r").data == 1
    clock.advance(59.0)
    assert call(rt, "bump", rid="r").data == 1
    clock.advance(2.0)
    assert call(rt, "bump", rid="r").data == 2
    assert counter.calls == 2


def test_cache_is_size_bounded(rt: ServiceRuntime, counter: Counter) -> None:
    for rid in ("a", "b", "c", "d"):
        call(rt, "bump", rid=rid)
    assert call(rt, "bump", rid="d").data == 4
    assert call(rt, "bump", rid="a").data == 5  # evicted: runs again
    assert counter.calls == 5


def test_cache_unit_claim_and_complete() -> None:
    clock = CountingClock()
    cache = ReplyCache(10.0, max_entries=2, monotonic=clock)
    fp = request_fingerprint("cmd", {"a": 1, "b": [1, {"c": 2}]}, None)
    assert fp == request_fingerprint("cmd", {"b": [1, {"c": 2}], "a": 1}, None)
    assert fp != request_fingerprint("cmd", {"a": 1.0, "b": [1, {"c": 2}]}, None)
    assert request_fingerprint("c", {"a": [["m", []]]}, None) != request_fingerprint("c", {"a": {}}, None)
    entry, owner = cache.claim("x", fp)
    assert owner and not entry.done
    again, owner2 = cache.claim("x", fp)
    assert again is entry and not owner2
    cache.complete("x", entry, b"reply")
    assert entry.wait() == b"reply"
    assert cache.claim("x", fp) == (entry, False)
    clock.advance(10.0)
    fresh, owner3 = cache.claim("x", fp)
    assert owner3 and fresh is not entry


def test_cache_bytes_bound_and_zero_ttl() -> None:
    cache = ReplyCache(10.0, max_bytes=8)
    entry, _ = cache.claim("a", b"fp")
    cache.complete("a", entry, b"123456789")  # larger than the bound: not kept
    assert cache.claim("a", b"fp")[1]
    zero = ReplyCache(0.0)
    entry, _ = zero.claim("a", b"fp")
    zero.complete("a", entry, b"r")
    assert zero.claim("a", b"fp")[1]
    assert len(zero) == 1
    with pytest.raises(ValueError):
        ReplyCache(-1.0)
