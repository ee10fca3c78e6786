"""Unit tests of the client/worker MDP codec (:mod:`pyros.mdp.codec`).

Expected frames are written out literally from 7/MDP and 18/MDP so that the
tests check the wire format, not the package's own constants.
"""

from __future__ import annotations

import pytest

from pyros.errors import ProtocolError
from pyros.mdp.broker_core import BrokerCore, BrokerSettings
from pyros.mdp.codec import (
    ClientMessage,
    Dialect,
    WorkerCommand,
    WorkerMessage,
    client_request,
    parse_client_message,
    parse_worker_message,
    worker_disconnect,
    worker_heartbeat,
    worker_ready,
    worker_reply,
)

ALL_DIALECTS = [Dialect.V1, Dialect.V2, Dialect.V2_ENVELOPE]
V2_DIALECTS = [Dialect.V2, Dialect.V2_ENVELOPE]

PREFIX = {Dialect.V1: [b""], Dialect.V2: [], Dialect.V2_ENVELOPE: [b""]}
"""Frames that precede the protocol header in each dialect."""


# --------------------------------------------------------------------- Dialect


def test_dialect_envelope() -> None:
    """Only 18/MDP as specified goes without the leading empty frame."""
    assert Dialect.V1.envelope == (b"",)
    assert Dialect.V2.envelope == ()
    assert Dialect.V2_ENVELOPE.envelope == (b"",)


# ---------------------------------------------------------------- client side


@pytest.mark.parametrize("service", ["echo", b"echo"])
def test_client_request_v1_frames(service: str | bytes) -> None:
    """7/MDP REQUEST: empty, MDPC01, service, body frames."""
    assert client_request(service, [b"a", b"b"], Dialect.V1) == [b"", b"MDPC01", b"echo", b"a", b"b"]


def test_client_request_v2_frames() -> None:
    """18/MDP REQUEST: MDPC02, 0x01, service, body frames (no empty frame)."""
    assert client_request("echo", [b"a"], Dialect.V2) == [b"MDPC02", b"\x01", b"echo", b"a"]


def test_client_request_v2_envelope_frames() -> None:
    """18/MDP REQUEST with the leading empty frame some 0.2 peers send."""
    assert client_request("echo", [b"a"], Dialect.V2_ENVELOPE) == [b"", b"MDPC02", b"\x01", b"echo", b"a"]


def test_client_request_default_dialect_is_v2() -> None:
    """Without a dialect, the client speaks 18/MDP."""
    assert client_request("svc", [b"x"]) == client_request("svc", [b"x"], Dialect.V2)


@pytest.mark.parametrize("envelope", [[], [b""]])
def test_parse_client_message_v1_reply(envelope: list[bytes]) -> None:
    """An MDPC01 REPLY parses as final, with every body frame kept."""
    msg = parse_client_message([*envelope, b"MDPC01", b"echo", b"a", b"", b"c"])
    assert msg == ClientMessage(service=b"echo", body=[b"a", b"", b"c"], final=True)


@pytest.mark.parametrize("envelope", [[], [b""]])
def test_parse_client_message_v2_final(envelope: list[bytes]) -> None:
    """An MDPC02 FINAL (0x03) parses as final."""
    msg = parse_client_message([*envelope, b"MDPC02", b"\x03", b"svc", b"body"])
    assert msg == ClientMessage(service=b"svc", body=[b"body"], final=True)


@pytest.mark.parametrize("envelope", [[], [b""]])
def test_parse_client_message_v2_partial(envelope: list[bytes]) -> None:
    """An MDPC02 PARTIAL (0x02) parses as not final."""
    msg = parse_client_message([*envelope, b"MDPC02", b"\x02", b"svc", b"p1", b"p2"])
    assert msg == ClientMessage(service=b"svc", body=[b"p1", b"p2"], final=False)


@pytest.mark.parametrize(
    "frames",
    [[], [b""], [b"MDPC01"], [b"", b"MDPC01"], [b"", b""]],
    ids=["empty", "only-empty-frame", "header-only", "empty+header", "two-empty"],
)
def test_parse_client_message_too_short(frames: list[bytes]) -> None:
    """Fewer than two frames after the optional empty frame is an error."""
    with pytest.raises(ProtocolError, match="too short"):
        parse_client_message(frames)


@pytest.mark.parametrize("envelope", [[], [b""]])
def test_parse_client_message_v1_without_body(envelope: list[bytes]) -> None:
    """An MDPC01 reply needs at least one body frame."""
    with pytest.raises(ProtocolError, match="without body"):
        parse_client_message([*envelope, b"MDPC01", b"svc"])


@pytest.mark.parametrize("tail", [[b"\x03"], [b"\x03", b"svc"]])
def test_parse_client_message_v2_too_short(tail: list[bytes]) -> None:
    """An MDPC02 message needs a command, a service and a body."""
    with pytest.raises(ProtocolError, match="MDPC02 message too short"):
        parse_client_message([b"MDPC02", *tail])


@pytest.mark.parametrize("command", [b"\x01", b"\x04", b"", b"\x03\x03"])
def test_parse_client_message_v2_unknown_command(command: bytes) -> None:
    """REQUEST (0x01) and anything else than PARTIAL/FINAL is refused."""
    with pytest.raises(ProtocolError, match="unknown MDPC02 command"):
        parse_client_message([b"MDPC02", command, b"svc", b"body"])


@pytest.mark.parametrize("header", [b"MDPW01", b"MDPC03", b"", b"x" * 100])
def test_parse_client_message_unknown_header(header: bytes) -> None:
    """A header that is not MDPC01/MDPC02 is refused, naming (a prefix of) it."""
    with pytest.raises(ProtocolError, match="unknown client protocol header"):
        parse_client_message([b"", header, b"svc", b"body"])


# ---------------------------------------------------------------- worker side


def test_worker_commands_v1_frames() -> None:
    """7/MDP worker commands start with an empty frame and MDPW01."""
    assert worker_ready("svc", Dialect.V1) == [b"", b"MDPW01", b"\x01", b"svc"]
    assert worker_heartbeat(Dialect.V1) == [b"", b"MDPW01", b"\x04"]
    assert worker_disconnect(Dialect.V1) == [b"", b"MDPW01", b"\x05"]
    assert worker_reply(b"cli", [b"a", b"b"], Dialect.V1) == [b"", b"MDPW01", b"\x03", b"cli", b"", b"a", b"b"]


def test_worker_commands_v2_frames() -> None:
    """18/MDP worker commands: MDPW02 first, command bytes 0x01, 0x03-0x06."""
    assert worker_ready(b"svc", Dialect.V2) == [b"MDPW02", b"\x01", b"svc"]
    assert worker_heartbeat(Dialect.V2) == [b"MDPW02", b"\x05"]
    assert worker_disconnect(Dialect.V2) == [b"MDPW02", b"\x06"]
    assert worker_reply(b"cli", [b"a"], Dialect.V2) == [b"MDPW02", b"\x04", b"cli", b"", b"a"]
    assert worker_reply(b"cli", [b"a"], Dialect.V2, final=False) == [b"MDPW02", b"\x03", b"cli", b"", b"a"]


def test_worker_commands_v2_envelope_frames() -> None:
    """The V2_ENVELOPE dialect is 18/MDP with a leading empty frame."""
    assert worker_ready("svc", Dialect.V2_ENVELOPE) == [b"", b"MDPW02", b"\x01", b"svc"]
    assert worker_heartbeat(Dialect.V2_ENVELOPE) == [b"", b"MDPW02", b"\x05"]
    assert worker_disconnect(Dialect.V2_ENVELOPE) == [b"", b"MDPW02", b"\x06"]
    assert worker_reply(b"c", [b"a"], Dialect.V2_ENVELOPE, final=False) == [b"", b"MDPW02", b"\x03", b"c", b"", b"a"]


def test_worker_defaults_are_v2() -> None:
    """Without a dialect the worker speaks 18/MDP without the empty frame."""
    assert worker_ready("s") == worker_ready("s", Dialect.V2)
    assert worker_heartbeat() == worker_heartbeat(Dialect.V2)
    assert worker_disconnect() == worker_disconnect(Dialect.V2)
    assert worker_reply(b"c", [b"x"]) == worker_reply(b"c", [b"x"], Dialect.V2)


def test_worker_reply_v1_partial_is_refused() -> None:
    """7/MDP has no PARTIAL: asking for one raises ValueError."""
    with pytest.raises(ValueError, match="no PARTIAL"):
        worker_reply(b"cli", [b"x"], Dialect.V1, final=False)


@pytest.mark.parametrize("dialect", ALL_DIALECTS)
def test_parse_worker_request(dialect: Dialect) -> None:
    """A broker REQUEST parses into client address and every body frame."""
    header = b"MDPW01" if dialect is Dialect.V1 else b"MDPW02"
    frames = [*PREFIX[dialect], header, b"\x02", b"client-7", b"", b"b1", b"", b"b3"]
    assert parse_worker_message(frames, dialect) == WorkerMessage(
        WorkerCommand.REQUEST, client=b"client-7", body=[b"b1", b"", b"b3"])


@pytest.mark.parametrize(("dialect", "heartbeat", "disconnect"), [
    (Dialect.V1, b"\x04", b"\x05"), (Dialect.V2, b"\x05", b"\x06"), (Dialect.V2_ENVELOPE, b"\x05", b"\x06")])
def test_parse_worker_heartbeat_and_disconnect(dialect: Dialect, heartbeat: bytes, disconnect: bytes) -> None:
    """HEARTBEAT and DISCONNECT carry no client and no body."""
    header = b"MDPW01" if dialect is Dialect.V1 else b"MDPW02"
    assert parse_worker_message([*PREFIX[dialect], header, heartbeat], dialect) == WorkerMessage(
        WorkerCommand.HEARTBEAT)
    assert parse_worker_message([*PREFIX[dialect], header, disconnect], dialect) == WorkerMessage(
        WorkerCommand.DISCONNECT, client=b"", body=None)


@pytest.mark.parametrize("dialect", ALL_DIALECTS)
@pytest.mark.parametrize("frames", [[], [b""], [b"MDPW01"], [b"", b"MDPW02"]])
def test_parse_worker_message_too_short(dialect: Dialect, frames: list[bytes]) -> None:
    """Fewer than two frames after the optional empty frame is an error."""
    with pytest.raises(ProtocolError, match="too short"):
        parse_worker_message(frames, dialect)


@pytest.mark.parametrize(("dialect", "wrong"), [
    (Dialect.V1, b"MDPW02"), (Dialect.V2, b"MDPW01"), (Dialect.V2_ENVELOPE, b"MDPW01"), (Dialect.V1, b"MDPC01")])
def test_parse_worker_message_wrong_header(dialect: Dialect, wrong: bytes) -> None:
    """A worker expects the header of its own dialect only."""
    with pytest.raises(ProtocolError, match="expected header"):
        parse_worker_message([b"", wrong, b"\x04"], dialect)


@pytest.mark.parametrize(("dialect", "command"), [
    (Dialect.V1, b"\x01"), (Dialect.V1, b"\x03"), (Dialect.V1, b"\x06"), (Dialect.V1, b""),
    (Dialect.V2, b"\x01"), (Dialect.V2, b"\x03"), (Dialect.V2, b"\x04"), (Dialect.V2, b"\x07"),
    (Dialect.V2_ENVELOPE, b"\x04"), (Dialect.V2_ENVELOPE, b"\x02\x02")])
def test_parse_worker_message_unknown_command(dialect: Dialect, command: bytes) -> None:
    """READY, REPLY/PARTIAL/FINAL and unknown bytes are not broker-to-worker commands."""
    header = b"MDPW01" if dialect is Dialect.V1 else b"MDPW02"
    with pytest.raises(ProtocolError, match="unknown or unexpected worker command"):
        parse_worker_message([*PREFIX[dialect], header, command, b"c", b"", b"x"], dialect)


@pytest.mark.parametrize("dialect", ALL_DIALECTS)
@pytest.mark.parametrize("tail", [[], [b"cli"], [b"cli", b""], [b"cli", b"not-empty", b"body"]],
                         ids=["no-address", "no-delimiter", "no-body", "non-empty-delimiter"])
def test_parse_worker_request_malformed(dialect: Dialect, tail: list[bytes]) -> None:
    """A REQUEST needs a client address, an empty delimiter and a body."""
    header = b"MDPW01" if dialect is Dialect.V1 else b"MDPW02"
    with pytest.raises(ProtocolError, match="REQUEST must carry"):
        parse_worker_message([*PREFIX[dialect], header, b"\x02", *tail], dialect)


def test_parse_worker_message_default_dialect_is_v2() -> None:
    """Without a dialect, MDPW02 is expected."""
    assert parse_worker_message([b"MDPW02", b"\x05"]).command is WorkerCommand.HEARTBEAT
    with pytest.raises(ProtocolError):
        parse_worker_message([b"", b"MDPW01", b"\x04"])


# ------------------------------------------------ round trips through the broker


@pytest.mark.parametrize("client_dialect", ALL_DIALECTS)
@pytest.mark.parametrize("worker_dialect", ALL_DIALECTS)
def test_round_trip_through_broker(client_dialect: Dialect, worker_dialect: Dialect) -> None:
    """Codec-built commands pass through the broker and parse back on each side."""
    core = BrokerCore(BrokerSettings(), now=0.0)
    assert core.handle([b"W", *worker_ready("svc", worker_dialect)], 0.0) == []
    out = core.handle([b"C", *client_request("svc", [b"req", b"", b"2"], client_dialect)], 0.0)
    assert len(out) == 1 and out[0][0] == b"W"
    request = parse_worker_message(out[0][1:], worker_dialect)
    assert request == WorkerMessage(WorkerCommand.REQUEST, client=b"C", body=[b"req", b"", b"2"])

    if worker_dialect is not Dialect.V1:
        out = core.handle([b"W", *worker_reply(request.client, [b"half"], worker_dialect, final=False)], 0.1)
        if client_dialect is Dialect.V1:
            assert out == []
        else:
            assert len(out) == 1 and out[0][0] == b"C"
            assert parse_client_message(out[0][1:]) == ClientMessage(b"svc", [b"half"], final=False)

    out = core.handle([b"W", *worker_reply(request.client, [b"done", b"x"], worker_dialect)], 0.2)
    assert len(out) == 1 and out[0][0] == b"C"
    assert parse_client_message(out[0][1:]) == ClientMessage(b"svc", [b"done", b"x"], final=True)

    core.handle([b"W", *worker_heartbeat(worker_dialect)], 0.3)
    beats = core.tick(core.settings.heartbeat_interval)
    assert parse_worker_message(beats[0][1:], worker_dialect) == WorkerMessage(WorkerCommand.HEARTBEAT)
    assert core.handle([b"W", *worker_disconnect(worker_dialect)], 0.4) == []
    assert core.workers == {}


@pytest.mark.parametrize("dialect", ALL_DIALECTS)
def test_round_trip_broker_disconnect_parses(dialect: Dialect) -> None:
    """The DISCONNECT the broker sends for a reserved name parses in the worker's dialect."""
    core = BrokerCore(BrokerSettings(), now=0.0)
    out = core.handle([b"W", *worker_ready("mmi.x", dialect)], 0.0)
    assert len(out) == 1 and out[0][0] == b"W"
    assert parse_worker_message(out[0][1:], dialect) == WorkerMessage(WorkerCommand.DISCONNECT)
