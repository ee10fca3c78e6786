"""Tests of the clone subscriber state machine (pyros.kv.cache)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyros.kv.cache import CacheState, CloneCache, Resync
from pyros.kv.message import KVMessage, encode_hugz, encode_icanhaz, encode_kthxbai
from pyros.kv.store import CloneStore
from pyros.messages import pack


def kvset(key: str, value: Any = None, **props: str) -> KVMessage:
    return KVMessage(key, 0, b"", dict(props), b"" if value is None else pack(value))


def kvpub(key: str, seq: int, value: Any = None, epoch: str = "e") -> list[bytes]:
    return KVMessage(key, seq, b"", {"epoch": epoch}, b"" if value is None else pack(value)).encode()


def synced(store: CloneStore, subtree: str = "", now: float = 0) -> CloneCache:
    cache = CloneCache(subtree, silence=3, now=now)
    assert cache.request_snapshot(now) == encode_icanhaz(subtree)
    for frames in store.snapshot(subtree):
        assert cache.on_snapshot(frames, now) is None
    assert cache.state is CacheState.LIVE
    return cache


def test_states_and_snapshot() -> None:
    store = CloneStore(epoch="e")
    store.apply(kvset("/a", 1), 0)
    store.apply(kvset("/b", {"x": 2}, ttl="9"), 0)
    cache = CloneCache()
    assert cache.state is CacheState.SUBSCRIBING
    cache.request_snapshot(0)
    assert cache.state is CacheState.SNAPSHOT
    for frames in store.snapshot(""):
        cache.on_snapshot(frames, 0)
    assert cache.state is CacheState.LIVE
    assert cache.get("/a") == 1 and cache.get("/b") == {"x": 2} and cache.get("/c", "d") == "d"
    assert cache.data["/b"].properties == {"ttl": "9", "epoch": "e"}
    assert cache.data["/b"].sequence == 2
    assert (cache.sequence, cache.epoch) == (2, "e")


def test_buffered_updates_merged_after_snapshot() -> None:
    store = CloneStore(epoch="e")
    cache = CloneCache()
    early = store.apply(kvset("/a", 1), 0)  # arrives before and is in the snapshot
    cache.on_update(early[0], 0)
    cache.request_snapshot(0)
    snap = store.snapshot("")
    late = store.apply(kvset("/a", 2), 0) + store.apply(kvset("/b", 3), 0)
    for frames in late:
        assert cache.on_update(frames, 0) is None
    assert cache.data == {}
    for frames in snap:
        assert cache.on_snapshot(frames, 0) is None
    assert cache.contents() == store.contents()
    assert cache.sequence == 3 and cache.drops["stale"] == 1


def test_stale_discarded_and_delete() -> None:
    cache = synced(CloneStore(epoch="e"))
    assert cache.on_update(kvpub("/a", 1, 1), 0) is None
    assert cache.on_update(kvpub("/a", 1, 5), 0) is None
    assert cache.get("/a") == 1 and cache.drops["stale"] == 1
    cache.on_update(kvpub("/a", 2), 0)
    assert "/a" not in cache.data


def test_gap_requests_resync() -> None:
    cache = synced(CloneStore(epoch="e"))
    cache.on_update(kvpub("/a", 1, 1), 0)
    assert cache.on_update(kvpub("/a", 3, 1), 0) == Resync("gap")
    assert cache.state is CacheState.SUBSCRIBING and cache.counts["resync_gap"] == 1


def test_gap_in_buffer_requests_resync() -> None:
    cache = CloneCache()
    cache.request_snapshot(0)
    cache.on_update(kvpub("/a", 5, 1), 0)
    assert cache.on_snapshot(encode_kthxbai(3, "", {"epoch": "e"}), 0) == Resync("gap")


def test_subtree_cache_tolerates_gaps_and_filters() -> None:
    store = CloneStore(epoch="e")
    cache = synced(store, "/env/")
    store.apply(kvset("/other", 1), 0)
    for frames in store.apply(kvset("/env/x", 1), 0):
        assert cache.on_update(frames, 0) is None
    assert cache.on_update(kvpub("/clock", 3, 1), 0) is None
    assert cache.contents() == {"/env/x": pack(1)} and cache.drops["outside_subtree"] == 1


def test_epoch_change_requests_resync_and_recovers() -> None:
    old = CloneStore(epoch="old")
    old.apply(kvset("/a", 1), 0)
    old.apply(kvset("/gone", 1), 0)
    cache = synced(old)
    new = CloneStore(epoch="new")
    changes: list[tuple[str, Any]] = []
    cache.add_callback("", lambda k, v: changes.append((k, v)))
    out = new.apply(kvset("/a", 2), 1)
    assert cache.on_update(out[0], 1) == Resync("epoch")
    assert cache.on_update(kvpub("/a", 9, 7, epoch="old"), 1) is None  # late message of the dead server
    cache.request_snapshot(1)
    for frames in new.snapshot(""):
        assert cache.on_snapshot(frames, 1) is None
    assert cache.contents() == new.contents() and cache.epoch == "new"
    assert sorted(changes) == [("/a", 2), ("/gone", None)]
    assert cache.on_update(kvpub("/a", 9, 7, epoch="old"), 1) is None
    assert cache.drops["dead_epoch"] == 2 and cache.get("/a") == 2


def test_buffered_update_of_other_epoch_requests_resync() -> None:
    cache = CloneCache()
    cache.request_snapshot(0)
    cache.on_update(kvpub("/a", 1, 1, epoch="x"), 0)
    assert cache.on_snapshot(encode_kthxbai(0, "", {"epoch": "e"}), 0) == Resync("epoch")


def test_silence_requests_resync() -> None:
    cache = CloneCache(silence=3, now=0)
    assert cache.tick(100) is None  # not yet asked for a snapshot
    cache.request_snapshot(10)
    assert cache.tick(12.9) is None
    assert cache.tick(13) == Resync("silence")
    assert cache.tick(20) is None
    cache = synced(CloneStore(epoch="e"), now=0)
    cache.on_update(encode_hugz(), 2)
    assert cache.next_tick == 5 and cache.tick(4.9) is None
    assert cache.tick(5) == Resync("silence")


def test_callbacks_per_subtree() -> None:
    store = CloneStore(epoch="e")
    cache = synced(store)
    env: list[tuple[str, Any]] = []
    dev: list[tuple[str, Any]] = []
    cb = lambda k, v: dev.append((k, v))  # noqa: E731
    cache.add_callback("/env/", lambda k, v: env.append((k, v)))
    cache.add_callback("/device/", cb)

    def boom(key: str, value: Any) -> None:
        raise RuntimeError("callback failure")

    cache.add_callback("/env/", boom)
    for msg in [kvset("/env/wind", 3), kvset("/device/dome", "open"), kvset("/env/wind", 3),
                kvset("/env/wind", 4), kvset("/env/wind")]:
        for frames in store.apply(msg, 0):
            assert cache.on_update(frames, 0) is None
    assert env == [("/env/wind", 3), ("/env/wind", 4), ("/env/wind", None)]
    assert dev == [("/device/dome", "open")]
    assert cache.counts["callback_error"] == 3
    cache.remove_callback("/device/", cb)
    cache.remove_callback("/device/", cb)
    store_out = store.apply(kvset("/device/dome", "closed"), 0)
    cache.on_update(store_out[0], 0)
    assert dev == [("/device/dome", "open")]


def test_malformed_and_unexpected_input_dropped() -> None:
    cache = CloneCache()
    assert cache.on_update([b"/a", b"x", b"", b"", b""], 0) is None
    assert cache.on_snapshot([b"KTHXBAI"], 0) is None
    assert cache.on_snapshot(encode_kthxbai(0), 0) is None  # no snapshot was asked
    assert cache.drops == {"malformed_update": 1, "malformed_snapshot": 1, "unexpected_snapshot": 1}
    cache.request_snapshot(0)
    cache.on_snapshot(kvpub("/x", 0, 1), 0)
    cache.on_snapshot(kvpub("/x", 0), 0)
    cache.on_snapshot(encode_kthxbai(0, "", {"epoch": "e"}), 0)
    assert cache.data == {}
    cache.on_update(KVMessage("/bad", 1, b"", {"epoch": "e"}, b"\xc1").encode(), 0)
    assert cache.drops["bad_value"] == 1 and "/bad" not in cache.data


def test_snapshot_outside_subtree_dropped_and_constructor_checks() -> None:
    cache = CloneCache("/env/")
    cache.request_snapshot(0)
    cache.on_snapshot(kvpub("/clock", 1, 1), 0)
    assert cache.drops["outside_subtree"] == 1
    with pytest.raises(ValueError):
        CloneCache("env")
    with pytest.raises(ValueError):
        CloneCache(silence=0)


# ----------------------------------------------------------------- property

OPS = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(["/a", "/b", "/env/c", "/env/d"]), st.integers(0, 5),
              st.none() | st.sampled_from(["0.5", "1", "3"])),
    st.tuples(st.just("del"), st.sampled_from(["/a", "/b", "/env/c", "/env/d"]), st.none(), st.none()),
    st.tuples(st.just("tick"), st.none(), st.floats(0, 2), st.none()),
)


@given(ops=st.lists(OPS, max_size=40), data=st.data(), subtree=st.sampled_from(["", "/env/"]),
       batch=st.sampled_from([0, 1, 3]))
def test_late_joining_cache_converges(ops: list[tuple[Any, ...]], data: st.DataObject, subtree: str,
                                      batch: int) -> None:
    store = CloneStore(hugz_interval=0.7, epoch="e")
    now = 0.0
    published: list[list[bytes]] = []
    snapshots: dict[int, list[list[bytes]]] = {0: store.snapshot(subtree, batch)}
    for kind, key, arg, ttl in ops:
        if kind == "set":
            props = {} if ttl is None else {"ttl": ttl}
            published += store.apply(kvset(key, arg, **props), now)
        elif kind == "del":
            published += store.apply(kvset(key), now)
        else:
            now += arg
            published += store.tick(now)
        snapshots[len(published)] = store.snapshot(subtree, batch)  # may be served between two steps
    # The cache subscribes, then the snapshot is taken later; some updates beat KTHXBAI.
    snap_at = data.draw(st.sampled_from(sorted(snapshots)), label="snapshot index")
    subscribe_at = data.draw(st.integers(0, snap_at), label="subscribe index")
    updates = published[subscribe_at:]
    if subtree:  # the SUB socket filters on the subtree (and HUGZ)
        updates = [m for m in updates if m[0].startswith(subtree.encode()) or m[0] == b"HUGZ"]
    before = data.draw(st.integers(0, len(updates)), label="updates before KTHXBAI")
    cache = CloneCache(subtree, snapshot_batch=batch)
    assert cache.request_snapshot(0) == encode_icanhaz(subtree, batch)
    for frames in updates[:before]:
        assert cache.on_update(frames, 0) is None
    for frames in snapshots[snap_at]:
        assert cache.on_snapshot(frames, 0) is None
    for frames in updates[before:]:
        assert cache.on_update(frames, 0) is None
    assert cache.state is CacheState.LIVE
    assert cache.contents() == {k: v for k, v in store.contents().items() if k.startswith(subtree)}
    assert {k: e.properties for k, e in cache.data.items()} == \
        {k: e.properties for k, e in store.entries.items() if k.startswith(subtree)}


def test_hugz_from_a_restarted_idle_server_requests_resync() -> None:
    cache = synced(CloneStore(epoch="e"))
    assert cache.on_update(encode_hugz({"epoch": "e"}), 1) is None
    assert cache.on_update(encode_hugz(), 1) is None  # a strict server's HUGZ tells nothing
    assert cache.on_update(encode_hugz({"epoch": "f"}), 1) == Resync("epoch")
    assert cache.state is CacheState.SUBSCRIBING
    # The abandoned epoch's HUGZ (still in flight) does not ask again.
    cache.request_snapshot(2)
    for frames in CloneStore(epoch="f").snapshot(""):
        cache.on_snapshot(frames, 2)
    assert cache.epoch == "f" and cache.on_update(encode_hugz({"epoch": "e"}), 3) is None
