"""Tests of the clone server state machine (pyros.kv.store)."""

from __future__ import annotations

import pytest

from pyros.kv.message import (
    Hugz,
    Kthxbai,
    KVMessage,
    decode_snapshot_reply,
    decode_update,
    encode_hugz,
    encode_icanhaz,
)
from pyros.kv.store import CloneStore, parse_ttl


def kvset(key: str, body: bytes = b"", **props: str) -> KVMessage:
    return KVMessage(key, 0, b"", dict(props), body)


def pub(out: list[list[bytes]]) -> KVMessage:
    assert len(out) == 1
    msg = decode_update(out[0])
    assert isinstance(msg, KVMessage)
    return msg


def test_epoch_is_random_and_settable() -> None:
    assert CloneStore().epoch != CloneStore().epoch
    assert CloneStore(epoch="e1").epoch == "e1"
    with pytest.raises(ValueError):
        CloneStore(epoch="a\nb")
    with pytest.raises(ValueError):
        CloneStore(hugz_interval=0)


def test_sequencing_and_epoch_property() -> None:
    store = CloneStore(epoch="e1")
    uuid = bytes(16)
    first = pub(store.apply(KVMessage("/a", 99, uuid, {"epoch": "forged"}, b"1"), now=0))
    second = pub(store.apply(kvset("/b", b"2"), now=0))
    assert (first.sequence, second.sequence) == (1, 2)
    assert first.properties == {"epoch": "e1"} and first.uuid == uuid
    assert store.contents() == {"/a": b"1", "/b": b"2"}
    assert store.entries["/a"].sequence == 1


def test_delete_on_empty_body() -> None:
    store = CloneStore(epoch="e")
    store.apply(kvset("/a", b"1"), 0)
    deletion = pub(store.apply(kvset("/a"), 0))
    assert deletion.body == b"" and deletion.sequence == 2
    assert store.contents() == {}
    assert pub(store.apply(kvset("/absent"), 0)).sequence == 3


def test_ttl_expiry_published_as_deletion() -> None:
    store = CloneStore(hugz_interval=100, epoch="e")
    published = pub(store.apply(kvset("/service/x/1", b"hb", ttl="2.5"), now=10))
    assert published.properties == {"ttl": "2.5", "epoch": "e"}
    store.apply(kvset("/keep", b"k"), now=10)
    assert store.next_tick == 12.5
    assert store.tick(12.4) == []
    out = store.tick(12.5)
    deletion = pub(out)
    assert deletion == KVMessage("/service/x/1", 3, b"", {"epoch": "e"}, b"")
    assert store.contents() == {"/keep": b"k"}
    assert store.tick(13) == []


def test_ttl_refresh_moves_expiry() -> None:
    store = CloneStore(hugz_interval=100)
    store.apply(kvset("/a", b"1", ttl="1"), now=0)
    store.apply(kvset("/a", b"1", ttl="1"), now=0.9)
    assert store.tick(1.5) == []
    assert len(store.tick(1.9)) == 1


def test_several_expiries_in_expiry_order() -> None:
    store = CloneStore(hugz_interval=100)
    store.apply(kvset("/b", b"1", ttl="2"), now=0)
    store.apply(kvset("/a", b"1", ttl="3"), now=0)
    keys = [decode_update(m).key for m in store.tick(5)]  # type: ignore[union-attr]
    assert keys == ["/b", "/a"]
    assert store.sequence == 4


@pytest.mark.parametrize("ttl", ["x", "0", "-1", "nan", "inf", ""])
def test_bad_ttl_dropped(ttl: str) -> None:
    store = CloneStore()
    assert store.apply(kvset("/a", b"1", ttl=ttl), 0) == []
    assert store.drops["bad_ttl"] == 1 and store.sequence == 0
    with pytest.raises(ValueError):
        parse_ttl(ttl)


def test_ttl_ignored_on_delete() -> None:
    store = CloneStore()
    assert len(store.apply(kvset("/a", ttl="x"), 0)) == 1


def test_snapshot_by_subtree() -> None:
    store = CloneStore(epoch="e")
    for key in ["/env/weather/wind", "/env/safety", "/device/dome/shutter", "/clock"]:
        store.apply(kvset(key, key.encode()), 0)
    everything = [decode_snapshot_reply(m) for m in store.snapshot("")]
    assert [m.key for m in everything[:-1]] == sorted(  # type: ignore[union-attr]
        ["/env/weather/wind", "/env/safety", "/device/dome/shutter", "/clock"])
    assert everything[-1] == Kthxbai(4, "", {"epoch": "e"})
    env = [decode_snapshot_reply(m) for m in store.snapshot("/env/")]
    assert [m.key for m in env[:-1]] == ["/env/safety", "/env/weather/wind"]  # type: ignore[union-attr]
    assert env[0] == KVMessage("/env/safety", 2, b"", {"epoch": "e"}, b"/env/safety")
    assert env[-1] == Kthxbai(4, "/env/", {"epoch": "e"})
    assert store.snapshot("/nothing/") == [[b"KTHXBAI", (4).to_bytes(8, "big"), b"", b"epoch=e\n", b"/nothing/"]]
    with pytest.raises(ValueError):
        store.snapshot("env")


def test_handle_icanhaz() -> None:
    store = CloneStore(epoch="e")
    store.apply(kvset("/a/b", b"1"), 0)
    out = list(store.handle_icanhaz([b"peer", *encode_icanhaz("/a/")]))
    assert [m[0] for m in out] == [b"peer", b"peer"]
    assert decode_snapshot_reply(out[0][1:]) == KVMessage("/a/b", 1, b"", {"epoch": "e"}, b"1")
    assert list(store.handle_icanhaz([b"peer", b"ICANHAZ?", b"bad"])) == []
    assert list(store.handle_icanhaz([b"peer", b"WHAT", b""])) == []
    assert list(store.handle_icanhaz([b"peer"])) == []
    assert store.drops["malformed_icanhaz"] == 3
    assert list(store.handle_icanhaz([])) == [] and list(store.handle_icanhaz([1, b"ICANHAZ?", b""])) == []
    assert store.drops["no_identity"] == 2


def test_handle_set_drops_malformed() -> None:
    store = CloneStore()
    assert store.handle_set([b"/a", b"short", b"", b"", b"x"], 0) == []
    assert store.handle_set([b"HUGZ", bytes(8), b"", b"", b"x"], 0) == []
    assert store.drops["malformed"] == 2 and store.sequence == 0
    assert len(store.handle_set(kvset("/a", b"1").encode(), 0)) == 1


def test_hugz_every_interval_busy_or_idle() -> None:
    store = CloneStore(hugz_interval=1.0, now=0)
    assert store.tick(0.5) == []
    assert store.tick(1.0) == [encode_hugz({"epoch": store.epoch})]
    assert decode_update(store.tick(2.0)[0]) == Hugz({"epoch": store.epoch})
    # Publishing does not delay the HUGZ: subscribers of other subtrees hear only HUGZ.
    store.apply(kvset("/a", b"1"), now=2.5)
    assert store.next_tick == 3.0
    assert store.tick(3.0) == [store.hugz()]
    store.apply(kvset("/a", b"2"), now=3.2)
    assert store.tick(3.5) == []
    assert store.tick(4.0) == [store.hugz()]
    assert store.counts["hugz"] == 4


def test_batched_snapshot_matches_the_strict_one() -> None:
    store = CloneStore(epoch="e")
    for i in range(25):
        store.apply(kvset(f"/k/{i:02d}", str(i).encode(), **({"ttl": "9"} if i % 5 == 0 else {})), 0)
    store.apply(kvset("/other", b"x"), 0)
    strict = [decode_snapshot_reply(m) for m in store.snapshot("/k/")]
    batched = [decode_snapshot_reply(m) for m in store.snapshot("/k/", batch=10)]
    assert [len(b) for b in batched[:-1]] == [10, 10, 5]
    assert [m for b in batched[:-1] for m in b] == strict[:-1]
    assert batched[-1] == strict[-1]
    answer = list(store.handle_icanhaz([b"peer", b"ICANHAZ?", b"", b"batch=100\n"]))
    assert [m[1] for m in answer] == [b"KVBATCH", b"KTHXBAI"]
    assert list(store.handle_icanhaz([b"peer", b"ICANHAZ?", b"", b"batch=0\n"])) == []
    assert store.drops["malformed_icanhaz"] == 1


def test_a_new_subscription_gets_a_hugz_at_once() -> None:
    store = CloneStore(epoch="e")
    assert store.handle_subscription(b"\x01/env/") == [encode_hugz({"epoch": "e"})]
    assert store.handle_subscription(b"\x01") == [store.hugz()]
    assert store.handle_subscription(b"\x00/env/") == []
    assert store.handle_subscription(b"") == []
    assert store.counts["subscriptions"] == 2
