"""Tests of the 12/CHP wire encoding (pyros.kv.message)."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyros.errors import ProtocolError
from pyros.kv.message import (
    RESERVED_KEYS,
    Hugz,
    Kthxbai,
    KVMessage,
    KVProtocolError,
    decode_hugz,
    SnapshotRequest,
    decode_icanhaz,
    decode_kvbatch,
    decode_kthxbai,
    decode_properties,
    decode_snapshot_reply,
    decode_update,
    encode_hugz,
    encode_kvbatch,
    encode_icanhaz,
    encode_kthxbai,
    encode_properties,
    encode_sequence,
)

UUID = bytes(range(16))


def test_round_trip_and_exact_frames() -> None:
    msg = KVMessage("/clock", 258, UUID, {"ttl": "5", "epoch": "ab=c"}, b"\x01")
    frames = msg.encode()
    assert frames == [b"/clock", b"\x00\x00\x00\x00\x00\x00\x01\x02", UUID, b"ttl=5\nepoch=ab=c\n", b"\x01"]
    assert KVMessage.decode(frames) == msg


def test_empty_uuid_properties_and_body() -> None:
    msg = KVMessage("/k")
    assert msg.encode() == [b"/k", bytes(8), b"", b"", b""]
    assert KVMessage.decode(msg.encode()) == msg
    assert msg.is_delete


def test_decode_accepts_buffers() -> None:
    frames = [memoryview(f) for f in KVMessage("/k", 1, body=b"x").encode()]
    assert KVMessage.decode(frames).body == b"x"


@given(key=st.text(min_size=1).filter(lambda k: k not in RESERVED_KEYS),
       sequence=st.integers(0, 2**64 - 1),
       uuid=st.sampled_from([b"", UUID]),
       properties=st.dictionaries(st.text(min_size=1).filter(lambda n: "=" not in n and "\n" not in n),
                                  st.text().filter(lambda v: "\n" not in v)),
       body=st.binary())
def test_round_trip_property(key: str, sequence: int, uuid: bytes, properties: dict[str, str],
                             body: bytes) -> None:
    msg = KVMessage(key, sequence, uuid, properties, body)
    assert KVMessage.decode(msg.encode()) == msg


@pytest.mark.parametrize(("frames", "match"), [
    ([b"/k", bytes(8), b"", b""], "4 frames, expected 5"),
    ([b"/k", bytes(8), b"", b"", b"", b""], "6 frames"),
    ("notalist", "list of frames"),
    ([b"/k", 5, b"", b"", b""], "not bytes"),
    ([b"", bytes(8), b"", b"", b""], "key is empty"),
    ([b"\xff", bytes(8), b"", b"", b""], "key is not valid UTF-8"),
    ([b"HUGZ", bytes(8), b"", b"", b""], "reserved"),
    ([b"/k", bytes(7), b"", b"", b""], "sequence frame is 7 bytes"),
    ([b"/k", bytes(9), b"", b"", b""], "sequence frame is 9 bytes"),
    ([b"/k", bytes(8), bytes(15), b"", b""], "uuid frame is 15 bytes"),
    ([b"/k", bytes(8), b"", b"\xff\n", b""], "properties frame is not valid UTF-8"),
    ([b"/k", bytes(8), b"", b"a=1", b""], "does not end with a newline"),
    ([b"/k", bytes(8), b"", b"a\n", b""], "has no '='"),
    ([b"/k", bytes(8), b"", b"=1\n", b""], "empty name"),
    ([b"/k", bytes(8), b"", b"a=1\na=2\n", b""], "repeated"),
    ([b"/k", bytes(8), b"", b"a=1\n\n", b""], "line 2"),
])
def test_decode_errors(frames: list[bytes], match: str) -> None:
    with pytest.raises(KVProtocolError, match=match) as info:
        KVMessage.decode(frames)
    assert isinstance(info.value, ProtocolError)


@pytest.mark.parametrize("kwargs", [
    {"key": ""}, {"key": "KTHXBAI"}, {"key": 3},
    {"key": "/k", "sequence": -1}, {"key": "/k", "sequence": 2**64}, {"key": "/k", "sequence": True},
    {"key": "/k", "uuid": b"short"}, {"key": "/k", "properties": {"a=b": "c"}},
    {"key": "/k", "properties": {"": "c"}}, {"key": "/k", "properties": {"a": "c\n"}},
    {"key": "/k", "properties": {"a": 1}}, {"key": "/k", "properties": []}, {"key": "/k", "body": "str"},
])
def test_constructor_errors(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        KVMessage(**kwargs)


def test_properties_helpers() -> None:
    assert encode_properties({"a": "1", "b": ""}) == b"a=1\nb=\n"
    assert decode_properties(b"a=1\nb=\n") == {"a": "1", "b": ""}
    assert decode_properties(b"") == {}
    assert encode_sequence(1) == b"\x00" * 7 + b"\x01"


def test_icanhaz() -> None:
    assert encode_icanhaz() == [b"ICANHAZ?", b""]
    assert encode_icanhaz("/env/") == [b"ICANHAZ?", b"/env/"]
    assert decode_icanhaz([b"ICANHAZ?", b"/env/weather/"]) == SnapshotRequest("/env/weather/")
    assert decode_icanhaz([b"ICANHAZ?", b""]) == SnapshotRequest("")
    with pytest.raises(ValueError):
        encode_icanhaz("env")
    with pytest.raises(KVProtocolError, match="4 frames|2 frames"):
        decode_icanhaz([b"ICANHAZ?", b"", b"", b""])
    # The batched-snapshot extension: a third frame with batch=N.
    assert encode_icanhaz("/env/", 500) == [b"ICANHAZ?", b"/env/", b"batch=500\n"]
    assert decode_icanhaz(encode_icanhaz("/env/", 500)) == SnapshotRequest("/env/", 500)
    assert decode_icanhaz([b"ICANHAZ?", b"", b""]) == SnapshotRequest("", 0)
    for bad in [b"batch=0\n", b"batch=-1\n", b"batch=x\n", b"batch=99999999999\n"]:
        with pytest.raises(KVProtocolError, match="batch"):
            decode_icanhaz([b"ICANHAZ?", b"", bad])
    with pytest.raises(ValueError, match="batch"):
        encode_icanhaz("", -1)
    with pytest.raises(KVProtocolError, match="expected command ICANHAZ"):
        decode_icanhaz([b"ICANHAZ", b""])
    with pytest.raises(KVProtocolError, match="subtree"):
        decode_icanhaz([b"ICANHAZ?", b"/env"])
    with pytest.raises(KVProtocolError, match="subtree is not valid UTF-8"):
        decode_icanhaz([b"ICANHAZ?", b"/\xff/"])


def test_kthxbai() -> None:
    frames = encode_kthxbai(7, "/env/", {"epoch": "e1"})
    assert frames == [b"KTHXBAI", encode_sequence(7), b"", b"epoch=e1\n", b"/env/"]
    assert decode_kthxbai(frames) == Kthxbai(7, "/env/", {"epoch": "e1"})
    assert decode_snapshot_reply(frames) == Kthxbai(7, "/env/", {"epoch": "e1"})
    with pytest.raises(KVProtocolError, match="expected command KTHXBAI"):
        decode_kthxbai([b"X", *frames[1:]])
    with pytest.raises(KVProtocolError, match="sequence"):
        decode_snapshot_reply([b"KTHXBAI", b"\x01", b"", b"", b""])
    with pytest.raises(KVProtocolError, match="subtree"):
        decode_kthxbai([*frames[:4], b"nope"])
    with pytest.raises(KVProtocolError, match="2 frames"):
        decode_snapshot_reply([b"KTHXBAI", b""])
    with pytest.raises(ValueError):
        encode_kthxbai(-1)
    assert isinstance(decode_snapshot_reply(KVMessage("/a", body=b"1").encode()), KVMessage)


def test_hugz() -> None:
    assert encode_hugz() == [b"HUGZ", bytes(8), b"", b"", b""]
    assert decode_hugz(encode_hugz()) == Hugz()
    assert decode_update(encode_hugz()) == Hugz()
    assert decode_update(encode_hugz({"epoch": "e2"})) == Hugz({"epoch": "e2"})
    with pytest.raises(KVProtocolError, match="properties"):
        decode_hugz([b"HUGZ", bytes(8), b"", b"epoch", b""])
    assert isinstance(decode_update(KVMessage("/a", body=b"1").encode()), KVMessage)
    with pytest.raises(KVProtocolError, match="sequence"):
        decode_update([b"HUGZ", b"", b"", b"", b""])
    with pytest.raises(KVProtocolError, match="expected command HUGZ"):
        decode_hugz([b"HUG", bytes(8), b"", b"", b""])
    with pytest.raises(KVProtocolError, match="3 frames"):
        decode_update([b"HUGZ", bytes(8), b""])
    with pytest.raises(KVProtocolError, match="list of frames"):
        decode_update(None)  # type: ignore[arg-type]


def test_kvbatch_round_trip_and_hostile_payloads() -> None:
    entries = [["/a", 1, b"", b"epoch=e\n", b"\x01"], ["/b", 2, b"u" * 16, b"", b"\x02"]]
    frames = encode_kvbatch(entries)
    assert frames[0] == b"KVBATCH" and len(frames) == 2
    decoded = decode_snapshot_reply(frames)
    assert decoded == [KVMessage("/a", 1, b"", {"epoch": "e"}, b"\x01"), KVMessage("/b", 2, b"u" * 16, {}, b"\x02")]
    assert decode_kvbatch(encode_kvbatch([])) == []
    bad_payloads = {
        b"\xc1": "not msgpack",
        msgpack.packb({"a": 1}): "not an array",
        msgpack.packb([["/a", 1, b"", b""]]): "not a 5-element array",
        msgpack.packb([["", 1, b"", b"", b"x"]]): "key",
        msgpack.packb([["HUGZ", 1, b"", b"", b"x"]]): "key",
        msgpack.packb([[b"/a", 1, b"", b"", b"x"]], use_bin_type=True): "key",
        msgpack.packb([["/a", -1, b"", b"", b"x"]], use_bin_type=True): "sequence",
        msgpack.packb([["/a", 1.5, b"", b"", b"x"]], use_bin_type=True): "sequence",
        msgpack.packb([["/a", 1, b"abc", b"", b"x"]], use_bin_type=True): "uuid",
        msgpack.packb([["/a", 1, b"", "text", b"x"]], use_bin_type=True): "binary",
        msgpack.packb([["/a", 1, b"", b"noequals\n", b"x"]], use_bin_type=True): "has no '='",
    }
    for payload, what in bad_payloads.items():
        with pytest.raises(KVProtocolError, match=what):
            decode_snapshot_reply([b"KVBATCH", payload])
    with pytest.raises(KVProtocolError, match="3 frames"):
        decode_kvbatch([b"KVBATCH", b"", b""])
    with pytest.raises(ValueError, match="reserved"):
        KVMessage("KVBATCH")
