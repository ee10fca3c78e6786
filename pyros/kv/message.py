"""Wire encoding of 12/CHP (Clustered Hashmap Protocol) messages, with no I/O.

Every key-value command (KVSYNC, KVPUB, KVSET) has five frames::

    Frame 0: key, UTF-8 string (non-empty)
    Frame 1: sequence number, 8 bytes, unsigned, network (big-endian) order
    Frame 2: UUID, 16 bytes, or empty (the RFC makes it optional)
    Frame 3: properties, UTF-8, zero or more "name=value\\n" lines
    Frame 4: value, opaque blob (PyROS puts msgpack there); empty = delete

The control commands are::

    ICANHAZ?  ["ICANHAZ?", subtree]
    KTHXBAI   ["KTHXBAI", sequence, "", properties, subtree]
    HUGZ      ["HUGZ", 8 zero bytes, "", properties, ""]

PyROS extensions, which a strict 12/CHP peer never sees or safely ignores:

* **Batched snapshots.** A client may add a third frame to ICANHAZ?, a
  properties frame with ``batch=N`` (N ≥ 1); the server then sends the
  snapshot's key-value commands N at a time, each group as one ``KVBATCH``
  message ``["KVBATCH", payload]`` where ``payload`` is a msgpack array of
  ``[key, sequence, uuid, properties frame, value]`` arrays (KTHXBAI follows as
  usual). A strict ICANHAZ? (two frames) gets ordinary KVSYNCs.
* **HUGZ carry properties**: PyROS servers put ``epoch=...`` in frame 3
  (the RFC leaves it empty), so that an idle client notices a restarted server.

A property name is non-empty and contains neither ``=`` nor a newline; a value
contains no newline (it may contain ``=``: a line is split at its first ``=``).
A subtree is empty (everything) or starts and ends with ``/``.

Decoders treat their input as untrusted: anything malformed raises
:class:`pyros.errors.ProtocolError` naming what is wrong. Encoders raise
:class:`ValueError` for arguments that cannot be put on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgpack

from pyros.errors import ProtocolError

ICANHAZ = b"ICANHAZ?"
"""Frame 0 of a snapshot request."""
KTHXBAI = b"KTHXBAI"
"""Frame 0 of the end of a snapshot."""
HUGZ = b"HUGZ"
"""Frame 0 of the server's idle heartbeat."""
KVBATCH = b"KVBATCH"
"""Frame 0 of several snapshot entries in one message (PyROS extension)."""
BATCH_PROPERTY = "batch"
"""ICANHAZ? property asking for KVBATCH messages of at most this many entries."""
RESERVED_KEYS = frozenset({"ICANHAZ?", "KTHXBAI", "HUGZ", "KVBATCH"})
"""Command names that can never be used as keys."""

SEQUENCE_BYTES = 8
UUID_BYTES = 16
MAX_SEQUENCE = 2**64 - 1

_FRAME_TYPES = (bytes, bytearray, memoryview)
_BYTES_ONLY = {bytes}


class KVProtocolError(ProtocolError):
    """A 12/CHP message received from a peer is malformed."""


# ---------------------------------------------------------------- helpers


def _frame_bytes(frame: Any, what: str) -> bytes:
    """Return ``frame`` as ``bytes`` or raise if it is not a buffer."""
    if isinstance(frame, bytes):
        return frame
    if isinstance(frame, _FRAME_TYPES):
        return bytes(frame)
    buffer = getattr(frame, "bytes", None)  # zmq.Frame
    if isinstance(buffer, bytes):
        return buffer
    raise KVProtocolError(f"{what} frame is a {type(frame).__name__}, not bytes")


def _frames(frames: Any, count: int, what: str) -> list[bytes]:
    """Check the frame count of a message and return its frames as bytes."""
    if type(frames) is list and len(frames) == count and {type(f) for f in frames} == _BYTES_ONLY:
        return frames  # the common case: copied frames from recv_multipart
    if not isinstance(frames, (list, tuple)):
        raise KVProtocolError(f"{what} must be a list of frames, not {type(frames).__name__}")
    if len(frames) != count:
        raise KVProtocolError(f"{what} has {len(frames)} frames, expected {count}")
    return [_frame_bytes(f, f"{what} frame {i}") for i, f in enumerate(frames)]


def _text(data: bytes, what: str) -> str:
    """Decode UTF-8 or raise naming ``what``."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KVProtocolError(f"{what} is not valid UTF-8: {exc.reason} at byte {exc.start}") from None


def encode_sequence(sequence: int) -> bytes:
    """Encode a sequence number as 8 bytes in network order.

    Raises:
        ValueError: If ``sequence`` is not an int in ``0 .. 2**64-1``.
    """
    if isinstance(sequence, bool) or not isinstance(sequence, int) or not 0 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"sequence must be an int in 0..2**64-1, not {sequence!r}")
    return sequence.to_bytes(SEQUENCE_BYTES, "big")


def decode_sequence(frame: bytes) -> int:
    """Decode an 8-byte network-order sequence number.

    Raises:
        KVProtocolError: If the frame is not exactly 8 bytes.
    """
    if len(frame) != SEQUENCE_BYTES:
        raise KVProtocolError(f"sequence frame is {len(frame)} bytes, expected {SEQUENCE_BYTES}")
    return int.from_bytes(frame, "big")


def _check_property(name: Any, value: Any) -> None:
    """Raise :class:`ValueError` if a property cannot be encoded."""
    if not isinstance(name, str) or not isinstance(value, str):
        raise ValueError(f"property {name!r}: names and values must be str")
    if not name or "=" in name or "\n" in name:
        raise ValueError(f"property name {name!r} must be non-empty without '=' or newline")
    if "\n" in value:
        raise ValueError(f"property {name!r}: value must not contain a newline")


def encode_properties(properties: dict[str, str]) -> bytes:
    """Encode properties as ``name=value\\n`` lines (UTF-8), in insertion order.

    Raises:
        ValueError: If a name is empty or holds ``=``/newline, or a value holds a newline.
    """
    for name, value in properties.items():
        _check_property(name, value)
    return "".join(f"{name}={value}\n" for name, value in properties.items()).encode("utf-8")


_PROPERTIES_MEMO: dict[bytes, dict[str, str]] = {}
_PROPERTIES_MEMO_SIZE = 1024
"""Decoded properties frames kept: a server's updates mostly repeat a few (``epoch=...``)."""


def decode_properties(frame: bytes) -> dict[str, str]:
    """Decode a properties frame (a new dict each call).

    Raises:
        KVProtocolError: If the frame is not UTF-8, does not end with a newline,
            has a line without ``=``, an empty name, or a repeated name.
    """
    known = _PROPERTIES_MEMO.get(frame)
    if known is not None:
        return dict(known)
    result = _parse_properties(frame)
    if len(_PROPERTIES_MEMO) >= _PROPERTIES_MEMO_SIZE:
        _PROPERTIES_MEMO.clear()
    _PROPERTIES_MEMO[bytes(frame)] = dict(result)
    return result


def _parse_properties(frame: bytes) -> dict[str, str]:
    text = _text(frame, "properties frame")
    if not text:
        return {}
    if not text.endswith("\n"):
        raise KVProtocolError("properties frame does not end with a newline")
    result: dict[str, str] = {}
    for number, line in enumerate(text[:-1].split("\n"), 1):
        name, sep, value = line.partition("=")
        if not sep:
            raise KVProtocolError(f"property line {number} {line[:40]!r} has no '='")
        if not name:
            raise KVProtocolError(f"property line {number} has an empty name")
        if name in result:
            raise KVProtocolError(f"property {name[:40]!r} is repeated")
        result[name] = value
    return result


def valid_subtree(subtree: str) -> bool:
    """True if ``subtree`` is empty or starts and ends with ``/``."""
    return subtree == "" or (subtree.startswith("/") and subtree.endswith("/"))


def _check_subtree(subtree: Any) -> None:
    if not isinstance(subtree, str) or not valid_subtree(subtree):
        raise ValueError(f"subtree must be '' or start and end with '/', not {subtree!r}")


def _decode_subtree(frame: bytes) -> str:
    subtree = _text(frame, "subtree")
    if not valid_subtree(subtree):
        raise KVProtocolError(f"subtree {subtree[:60]!r} must be empty or start and end with '/'")
    return subtree


# ---------------------------------------------------------------- key-value


@dataclass(frozen=True, slots=True)
class KVMessage:
    """One key-value command: KVSYNC, KVPUB or KVSET (same five frames).

    Attributes:
        key: The key, a non-empty string that is not a command name.
        sequence: Sequence number (assigned by the server; 0 in KVSET).
        uuid: 16 bytes, or ``b""`` when absent.
        properties: Properties such as ``ttl`` (seconds) and ``epoch``.
        body: The value; empty means "delete the key".
    """

    key: str
    sequence: int = 0
    uuid: bytes = b""
    properties: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise ValueError(f"key must be a non-empty str, not {self.key!r}")
        if self.key in RESERVED_KEYS:
            raise ValueError(f"key {self.key!r} is a reserved command name")
        encode_sequence(self.sequence)
        if not isinstance(self.uuid, bytes) or len(self.uuid) not in (0, UUID_BYTES):
            raise ValueError(f"uuid must be 16 bytes or empty, not {self.uuid!r}")
        if not isinstance(self.properties, dict):
            raise ValueError("properties must be a dict")
        for name, value in self.properties.items():
            _check_property(name, value)
        if not isinstance(self.body, bytes):
            raise ValueError("body must be bytes")

    @property
    def is_delete(self) -> bool:
        """True if the body is empty (the key is to be deleted)."""
        return not self.body

    def encode(self) -> list[bytes]:
        """Return the five frames of this message."""
        return [self.key.encode("utf-8"), encode_sequence(self.sequence), self.uuid,
                encode_properties(self.properties), self.body]

    @classmethod
    def decode(cls, frames: list[Any]) -> KVMessage:
        """Parse the five frames of a KVSYNC, KVPUB or KVSET command.

        Raises:
            KVProtocolError: Wrong frame count, key empty/not UTF-8/reserved,
                sequence not 8 bytes, UUID neither 16 nor 0 bytes, bad properties.
        """
        key_frame, seq_frame, uuid_frame, prop_frame, body = _frames(frames, 5, "key-value message")
        key = _text(key_frame, "key")
        if not key:
            raise KVProtocolError("key is empty")
        if key in RESERVED_KEYS:
            raise KVProtocolError(f"key {key!r} is a reserved command name")
        sequence = decode_sequence(seq_frame)
        if len(uuid_frame) not in (0, UUID_BYTES):
            raise KVProtocolError(f"uuid frame is {len(uuid_frame)} bytes, expected {UUID_BYTES} or 0")
        properties = decode_properties(prop_frame)
        return cls.checked(key, sequence, uuid_frame, properties, body)

    @classmethod
    def checked(cls, key: str, sequence: int, uuid: bytes, properties: dict[str, str], body: bytes) -> KVMessage:
        """Build a message from fields already validated (by :meth:`decode`), skipping the checks.

        The fields must satisfy everything ``__post_init__`` checks; this is the
        hot path of servers and subscribers, which validate while decoding.
        """
        message = object.__new__(cls)
        setter = object.__setattr__
        setter(message, "key", key)
        setter(message, "sequence", sequence)
        setter(message, "uuid", uuid)
        setter(message, "properties", properties)
        setter(message, "body", body)
        return message


# ---------------------------------------------------------------- control


@dataclass(frozen=True, slots=True)
class Kthxbai:
    """End of a snapshot.

    Attributes:
        sequence: The server's sequence number when the snapshot was taken.
        subtree: The subtree that was requested.
        properties: Properties (PyROS servers send ``epoch``).
    """

    sequence: int
    subtree: str = ""
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Hugz:
    """The server's idle heartbeat.

    Attributes:
        properties: Properties (PyROS servers send ``epoch``; empty from others).
    """

    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SnapshotRequest:
    """An ICANHAZ?.

    Attributes:
        subtree: The subtree asked for (``""`` = everything).
        batch: Entries per KVBATCH message asked for; 0 for plain KVSYNCs.
    """

    subtree: str = ""
    batch: int = 0


def encode_icanhaz(subtree: str = "", batch: int = 0) -> list[bytes]:
    """Encode a snapshot request for ``subtree`` (``""`` = everything).

    Args:
        subtree: The subtree.
        batch: Ask for KVBATCH messages of at most this many entries (PyROS
            servers only); 0 sends the strict two-frame 12/CHP request.

    Raises:
        ValueError: If the subtree is neither empty nor ``/.../``, or ``batch`` < 0.
    """
    _check_subtree(subtree)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 0:
        raise ValueError(f"batch must be an int >= 0, not {batch!r}")
    if batch:
        return [ICANHAZ, subtree.encode("utf-8"), encode_properties({BATCH_PROPERTY: str(batch)})]
    return [ICANHAZ, subtree.encode("utf-8")]


def decode_icanhaz(frames: list[Any]) -> SnapshotRequest:
    """Parse a snapshot request (without the routing identity).

    Raises:
        KVProtocolError: Wrong frame count or command, a malformed subtree, or a
            ``batch`` property that is not a positive integer.
    """
    count = len(frames) if isinstance(frames, (list, tuple)) else 0
    parts = _frames(frames, 3 if count == 3 else 2, "ICANHAZ? message")
    if parts[0] != ICANHAZ:
        raise KVProtocolError(f"expected command ICANHAZ?, got {parts[0][:20]!r}")
    subtree = _decode_subtree(parts[1])
    batch = 0
    text = decode_properties(parts[2]).get(BATCH_PROPERTY) if len(parts) == 3 else None
    if text is not None:
        if not (text.isascii() and text.isdigit() and 0 < len(text) < 10 and int(text) > 0):
            raise KVProtocolError(f"batch property {text[:20]!r} is not a positive integer")
        batch = int(text)
    return SnapshotRequest(subtree, batch)


def encode_kthxbai(sequence: int, subtree: str = "", properties: dict[str, str] | None = None) -> list[bytes]:
    """Encode the end of a snapshot.

    Raises:
        ValueError: Bad sequence, subtree or properties.
    """
    _check_subtree(subtree)
    return [KTHXBAI, encode_sequence(sequence), b"", encode_properties(properties or {}),
            subtree.encode("utf-8")]


def decode_kthxbai(frames: list[Any]) -> Kthxbai:
    """Parse a KTHXBAI command.

    Raises:
        KVProtocolError: Wrong frame count or command, bad sequence, properties or subtree.
    """
    command, seq, _uuid, props, subtree = _frames(frames, 5, "KTHXBAI message")
    if command != KTHXBAI:
        raise KVProtocolError(f"expected command KTHXBAI, got {command[:20]!r}")
    return Kthxbai(decode_sequence(seq), _decode_subtree(subtree), decode_properties(props))


def encode_hugz(properties: dict[str, str] | None = None) -> list[bytes]:
    """Encode a HUGZ heartbeat (sequence 0; ``properties`` in frame 3, e.g. the epoch)."""
    return [HUGZ, bytes(SEQUENCE_BYTES), b"", encode_properties(properties or {}), b""]


def decode_hugz(frames: list[Any]) -> Hugz:
    """Parse a HUGZ command (its sequence is checked for size, then ignored).

    Raises:
        KVProtocolError: Wrong frame count or command, sequence not 8 bytes, bad properties.
    """
    command, seq, _uuid, props, _body = _frames(frames, 5, "HUGZ message")
    if command != HUGZ:
        raise KVProtocolError(f"expected command HUGZ, got {command[:20]!r}")
    decode_sequence(seq)
    return Hugz(decode_properties(props))


def encode_kvbatch(entries: list[list[Any]]) -> list[bytes]:
    """Encode snapshot entries ``[key, sequence, uuid, properties frame, value]`` as one KVBATCH."""
    return [KVBATCH, msgpack.packb(entries, use_bin_type=True)]


def decode_kvbatch(frames: list[Any]) -> list[KVMessage]:
    """Parse a KVBATCH into its key-value messages, each checked as :meth:`KVMessage.decode` would.

    Raises:
        KVProtocolError: Wrong frame count or command, a payload that is not a
            msgpack array of 5-element arrays, or any malformed entry (the whole
            message is refused).
    """
    command, payload = _frames(frames, 2, "KVBATCH message")
    if command != KVBATCH:
        raise KVProtocolError(f"expected command KVBATCH, got {command[:20]!r}")
    try:
        entries = msgpack.unpackb(payload, raw=False, use_list=True)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise KVProtocolError(f"KVBATCH payload is not msgpack: {exc}") from None
    if type(entries) is not list:
        raise KVProtocolError(f"KVBATCH payload is a {type(entries).__name__}, not an array")
    checked, properties_of, reserved = KVMessage.checked, decode_properties, RESERVED_KEYS
    messages = []
    for index, entry in enumerate(entries):
        if type(entry) is not list or len(entry) != 5:
            raise KVProtocolError(f"KVBATCH entry {index} is not a 5-element array")
        key, sequence, uuid, props, body = entry
        if type(key) is not str or not key or key in reserved or type(sequence) is not int \
                or not 0 <= sequence <= MAX_SEQUENCE or type(uuid) is not bytes \
                or (uuid and len(uuid) != UUID_BYTES) or type(props) is not bytes or type(body) is not bytes:
            raise KVProtocolError(f"KVBATCH entry {index}: {_batch_entry_fault(key, sequence, uuid, props, body)}")
        messages.append(checked(key, sequence, uuid, properties_of(props), body))
    return messages


def _batch_entry_fault(key: Any, sequence: Any, uuid: Any, props: Any, body: Any) -> str:
    """What is wrong with a KVBATCH entry that failed the checks of :func:`decode_kvbatch`."""
    if type(key) is not str or not key or key in RESERVED_KEYS:
        return f"key {str(key)[:40]!r} is empty, reserved or not text"
    if type(sequence) is not int or not 0 <= sequence <= MAX_SEQUENCE:
        return f"sequence {str(sequence)[:30]} is not a 64-bit unsigned"
    if type(uuid) is not bytes or len(uuid) not in (0, UUID_BYTES):
        return f"uuid is not 0 or {UUID_BYTES} bytes"
    return "properties and value must be binary"


def decode_update(frames: list[Any]) -> KVMessage | Hugz:
    """Parse what a subscriber receives: a KVPUB or a HUGZ.

    Raises:
        KVProtocolError: If the message is malformed.
    """
    if isinstance(frames, (list, tuple)) and frames and _frame_bytes(frames[0], "frame 0") == HUGZ:
        return decode_hugz(frames)
    return KVMessage.decode(frames)


def decode_snapshot_reply(frames: list[Any]) -> KVMessage | Kthxbai | list[KVMessage]:
    """Parse what a client receives on its snapshot connection: KVSYNC, KVBATCH (a list) or KTHXBAI.

    Raises:
        KVProtocolError: If the message is malformed.
    """
    if isinstance(frames, (list, tuple)) and frames:
        command = _frame_bytes(frames[0], "frame 0")
        if command == KTHXBAI:
            return decode_kthxbai(frames)
        if command == KVBATCH:
            return decode_kvbatch(frames)
    return KVMessage.decode(frames)
