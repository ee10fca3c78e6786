"""Tests of the threaded INDI client (pyros.indi.client) against a scripted server on a loopback socket."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from pyros.indi import (Blob, BlobMode, Change, GetProperties, IndiClient, IndiConnectionError, IndiElement,
                        IndiParser, IndiPropertyAlert, IndiStreamError, IndiTimeout, IndiUnknownProperty, NewVector,
                        ParserLimits, PropertyEvent, PropertyState)
from pyros.indi.messages import EnableBlob, PingReply
from pyros.testing import wait_until

WAIT = 10.0
"""Generous bound on anything that should happen at once."""

DEFINITIONS = b"""\
<defSwitchVector device="Dome Simulator" name="CONNECTION" label="Connection" group="Main Control" state="Idle" perm="rw" rule="OneOfMany" timeout="60" timestamp="2026-11-22T06:49:22">
    <defSwitch name="CONNECT" label="Connect">
Off
    </defSwitch>
    <defSwitch name="DISCONNECT" label="Disconnect">
On
    </defSwitch>
</defSwitchVector>
<defNumberVector device="Dome Simulator" name="ABS_DOME_POSITION" label="Absolute Position" group="Main Control" state="Ok" perm="rw" timeout="60" timestamp="2026-11-22T06:49:23">
    <defNumber name="DOME_ABSOLUTE_POSITION" label="Degrees" format="%6.2f" min="0" max="360" step="1">
0
    </defNumber>
</defNumberVector>
<defTextVector device="Dome Simulator" name="DRIVER_INFO" label="Driver Info" group="Connection" state="Idle" perm="ro" timeout="60" timestamp="2026-11-22T06:49:22">
    <defText name="DRIVER_NAME" label="Name">
Dome Simulator
    </defText>
</defTextVector>
<defTextVector device="Dome Simulator" name="ACTIVE_DEVICES" label="Snoop devices" group="Options" state="Idle" perm="rw" timeout="60" timestamp="2026-11-22T06:49:22">
    <defText name="ACTIVE_TELESCOPE" label="Telescope">
Telescope Simulator
    </defText>
</defTextVector>
<defBLOBVector device="CCD Simulator" name="CCD1" label="Image Data" group="Image Info" state="Idle" perm="ro" timeout="60" timestamp="2026-11-22T06:46:43">
    <defBLOB name="CCD1" label="Image"/>
</defBLOBVector>
"""


def position(value: float, state: str) -> bytes:
    return (f'<setNumberVector device="Dome Simulator" name="ABS_DOME_POSITION" state="{state}" timeout="60">'
            f'<oneNumber name="DOME_ABSOLUTE_POSITION">{value}</oneNumber></setNumberVector>\n').encode()


def connection(connect: bool, state: str) -> bytes:
    on, off = ("On", "Off") if connect else ("Off", "On")
    return (f'<setSwitchVector device="Dome Simulator" name="CONNECTION" state="{state}" timeout="60">'
            f'<oneSwitch name="CONNECT">{on}</oneSwitch><oneSwitch name="DISCONNECT">{off}</oneSwitch>'
            f'</setSwitchVector>\n').encode()


class Peer:
    """The server side of one accepted connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.settimeout(WAIT)
        self.parser = IndiParser()
        self.received: list[IndiElement] = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def receive(self, count: int = 1) -> list[IndiElement]:
        """Read until ``count`` more elements came from the client (or fail after WAIT seconds)."""
        start = len(self.received)
        deadline = time.monotonic() + WAIT
        while len(self.received) < start + count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the client sent {self.received[start:]}, expected {count} elements")
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the client closed the connection")
            self.received += self.parser.feed(data)
        return self.received[start:]

    def at_eof(self) -> bool:
        """True once the client has closed its side, False if it stays open for WAIT seconds."""
        try:
            while self.sock.recv(65536):
                pass
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
        return True

    def serve(self, answer: Callable[[IndiElement], bytes]) -> threading.Thread:
        """Answer each element the client sends with ``answer(element)``, in a thread, until EOF."""
        def run() -> None:
            try:
                while True:
                    data = self.sock.recv(65536)
                    if not data:
                        return
                    for element in self.parser.feed(data):
                        self.received.append(element)
                        self.send(answer(element))
            except OSError:
                return

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.sock.close()


class FakeServer:
    """A listening loopback socket standing in for indiserver."""

    def __init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.listener.settimeout(WAIT)
        self.port = int(self.listener.getsockname()[1])
        self.peers: list[Peer] = []

    def accept(self) -> Peer:
        sock, _ = self.listener.accept()
        peer = Peer(sock)
        self.peers.append(peer)
        return peer

    def close(self) -> None:
        for peer in self.peers:
            peer.close()
        self.listener.close()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    yield fake
    fake.close()


@pytest.fixture
def client(server: FakeServer) -> Iterator[IndiClient]:
    indi = IndiClient("127.0.0.1", server.port, connect_timeout=WAIT, send_timeout=WAIT)
    yield indi
    indi.close()


def connected(server: FakeServer, client: IndiClient, definitions: bytes = DEFINITIONS) -> Peer:
    """Connect ``client``, check its getProperties, send ``definitions`` and wait until they are cached."""
    client.connect()
    peer = server.accept()
    assert peer.receive() == [GetProperties("1.7", None, None)]
    peer.send(definitions)
    client.wait_for("CCD Simulator", "CCD1", timeout=WAIT)
    return peer


def test_connect_asks_for_properties_and_caches_definitions(server: FakeServer, client: IndiClient) -> None:
    connected(server, client)
    assert client.connected
    assert client.devices() == ["Dome Simulator", "CCD Simulator"]
    assert [v.name for v in client.vectors("Dome Simulator")] == ["CONNECTION", "ABS_DOME_POSITION", "DRIVER_INFO",
                                                                 "ACTIVE_DEVICES"]
    vector = client.get("Dome Simulator", "ABS_DOME_POSITION")
    assert vector is not None and vector.value("DOME_ABSOLUTE_POSITION") == 0
    assert client.sequence == 5


def test_wait_for_sees_every_version_even_a_short_busy(server: FakeServer, client: IndiClient) -> None:
    peer = connected(server, client)
    mark = client.sequence
    result: list[object] = []

    def wait_busy() -> None:
        result.append(client.wait_for("Dome Simulator", "ABS_DOME_POSITION",
                                      lambda v: v.state is PropertyState.BUSY, WAIT, after=mark))

    waiting = threading.Thread(target=wait_busy)
    waiting.start()
    wait_until(lambda: bool(client._waiters), timeout=WAIT, what="waiter registered")
    peer.send(position(10, "Busy") + position(90, "Ok"))  # in one segment: Busy lasts no time in the cache
    waiting.join(WAIT)
    (busy,) = result
    assert busy.state is PropertyState.BUSY and busy.value("DOME_ABSOLUTE_POSITION") == 10  # type: ignore[attr-defined]
    final = client.wait_state("Dome Simulator", "ABS_DOME_POSITION", PropertyState.OK, WAIT, after=mark)
    assert final.value("DOME_ABSOLUTE_POSITION") == 90


def test_wait_for_accepts_the_current_version_unless_after_excludes_it(server: FakeServer,
                                                                       client: IndiClient) -> None:
    connected(server, client)
    current = client.wait_for("Dome Simulator", "ABS_DOME_POSITION", lambda v: v.state is PropertyState.OK, WAIT)
    assert current.sequence == 2
    with pytest.raises(IndiTimeout, match=r"Dome Simulator.ABS_DOME_POSITION did not reach the expected condition "
                                          r"within 0.2 s \(last: PropertyVector\(Number"):
        client.wait_for("Dome Simulator", "ABS_DOME_POSITION", None, 0.2, after=client.sequence)
    with pytest.raises(IndiTimeout, match="it is not defined"):
        client.wait_for("Dome Simulator", "NOT_THERE", None, 0.2)


def test_predicate_errors_reach_the_waiting_caller(server: FakeServer, client: IndiClient) -> None:
    peer = connected(server, client)

    def predicate(vector: object) -> bool:
        raise ZeroDivisionError("bad predicate")

    mark = client.sequence
    raised: list[BaseException] = []

    def wait() -> None:
        try:
            client.wait_for("Dome Simulator", "ABS_DOME_POSITION", predicate, WAIT, after=mark)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            raised.append(exc)

    waiting = threading.Thread(target=wait)
    waiting.start()
    wait_until(lambda: bool(client._waiters), timeout=WAIT, what="waiter registered")
    peer.send(position(5, "Ok"))  # the predicate runs in the reader thread
    waiting.join(WAIT)
    (error,) = raised
    assert isinstance(error, ZeroDivisionError) and str(error) == "bad predicate"
    assert client.connected
    with pytest.raises(ZeroDivisionError, match="bad predicate"):  # and on the current version, in the caller
        client.wait_for("Dome Simulator", "ABS_DOME_POSITION", predicate, WAIT)


def test_listeners_get_events_and_messages_in_order(server: FakeServer, client: IndiClient,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    seen: list[object] = []
    client.add_property_listener(lambda event: seen.append((event.change, event.vector.name)))
    client.add_message_listener(lambda message: seen.append(message.text))

    def broken(event: PropertyEvent) -> None:
        raise RuntimeError("listener bug")

    client.add_property_listener(broken)
    peer = connected(server, client)
    with caplog.at_level(logging.ERROR, logger="pyros.indi.client"):
        peer.send(b'<message device="Dome Simulator" timestamp="2026-11-22T06:49:23" message="[INFO] hello"/>\n'
                  + position(1, "Ok").replace(b'timeout="60"', b'timeout="60" message="[INFO] moved"')
                  + b'<delProperty device="Dome Simulator" name="DRIVER_INFO"/>\n')
        wait_until(lambda: (Change.DELETED, "DRIVER_INFO") in seen, timeout=WAIT, what="deletion seen")
    assert seen[:5] == [(Change.DEFINED, "CONNECTION"), (Change.DEFINED, "ABS_DOME_POSITION"),
                        (Change.DEFINED, "DRIVER_INFO"), (Change.DEFINED, "ACTIVE_DEVICES"), (Change.DEFINED, "CCD1")]
    assert seen[5:] == ["[INFO] hello", (Change.UPDATED, "ABS_DOME_POSITION"), "[INFO] moved",
                        (Change.DELETED, "DRIVER_INFO")]
    assert "listener bug" in caplog.text
    assert [m.text for m in client.messages("Dome Simulator")] == ["[INFO] hello", "[INFO] moved"]
    assert client.messages("Other") == []
    client.remove_property_listener(broken)
    assert client.connected


def test_waiting_inside_a_listener_is_refused(server: FakeServer, client: IndiClient) -> None:
    peer = connected(server, client)
    errors: list[BaseException] = []

    def listener(event: PropertyEvent) -> None:
        try:
            client.wait_for("Dome Simulator", "ABS_DOME_POSITION", None, WAIT, after=event.vector.sequence)
        except RuntimeError as exc:
            errors.append(exc)

    client.add_property_listener(listener)
    peer.send(position(3, "Ok"))
    wait_until(lambda: bool(errors), timeout=WAIT, what="listener ran")
    assert "in a listener or predicate" in str(errors[0])
    assert client.connected


def test_invalid_elements_are_counted_and_the_stream_goes_on(server: FakeServer, client: IndiClient) -> None:
    peer = connected(server, client)
    peer.send(b'<setNumberVector device="Dome Simulator" name="ABS_DOME_POSITION" state="Weird">'
              b'<oneNumber name="DOME_ABSOLUTE_POSITION">1</oneNumber></setNumberVector>' + position(2, "Ok"))
    vector = client.wait_for("Dome Simulator", "ABS_DOME_POSITION", lambda v: v.value("DOME_ABSOLUTE_POSITION") == 2,
                             WAIT)
    assert vector.state is PropertyState.OK
    assert client.invalid_elements == 1


def test_ping_request_is_answered(server: FakeServer, client: IndiClient) -> None:
    peer = connected(server, client)
    peer.send(b'<pingRequest uid="42.5"/>\n')
    assert peer.receive() == [PingReply("42.5")]


def test_commands_are_checked_against_the_definitions(server: FakeServer, client: IndiClient) -> None:
    connected(server, client)
    with pytest.raises(IndiUnknownProperty, match=r"Dome Simulator.NOPE is not defined .*Dome Simulator defines "
                                                  r"CONNECTION, ABS_DOME_POSITION"):
        client.set_number("Dome Simulator", "NOPE", {"X": 1})
    with pytest.raises(IndiUnknownProperty, match=r"no device 'Nobody' \(devices: Dome Simulator, CCD Simulator\)"):
        client.set_switch("Nobody", "CONNECTION", {"CONNECT": True})
    with pytest.raises(TypeError, match="CONNECTION is a Switch vector, not a Number vector"):
        client.set_number("Dome Simulator", "CONNECTION", {"CONNECT": 1})
    with pytest.raises(ValueError, match="DRIVER_INFO is read-only"):
        client.set_text("Dome Simulator", "DRIVER_INFO", {"DRIVER_NAME": "x"})
    with pytest.raises(ValueError, match=r"has no member 'AZ' \(members: DOME_ABSOLUTE_POSITION\)"):
        client.set_number("Dome Simulator", "ABS_DOME_POSITION", {"AZ": 1})
    with pytest.raises(ValueError, match=r"DOME_ABSOLUTE_POSITION = 400 is outside \[0, 360\]"):
        client.set_number("Dome Simulator", "ABS_DOME_POSITION", {"DOME_ABSOLUTE_POSITION": 400})
    with pytest.raises(ValueError, match="is OneOfMany: only one switch may be On, got CONNECT, DISCONNECT"):
        client.set_switch("Dome Simulator", "CONNECTION", {"CONNECT": True, "DISCONNECT": True})
    with pytest.raises(TypeError, match="must be an int or float, not str"):
        client.set_number("Dome Simulator", "ABS_DOME_POSITION",
                          {"DOME_ABSOLUTE_POSITION": "90"})  # type: ignore[dict-item]


def test_commands_reach_the_server(server: FakeServer, client: IndiClient) -> None:
    peer = connected(server, client)
    mark = client.set_number("Dome Simulator", "ABS_DOME_POSITION", {"DOME_ABSOLUTE_POSITION": 123.5})
    assert mark == client.sequence
    client.set_text("Dome Simulator", "ACTIVE_DEVICES", {"ACTIVE_TELESCOPE": "Scope <&> 2"})
    client.enable_blob("CCD Simulator", "CCD1")
    client.get_properties("Dome Simulator")
    number, text, blob, get = peer.receive(4)
    assert isinstance(number, NewVector) and number.members[0].value == 123.5
    assert isinstance(text, NewVector) and text.members[0].value == "Scope <&> 2"
    assert blob == EnableBlob("CCD Simulator", "CCD1", BlobMode.ALSO)
    assert get == GetProperties("1.7", "Dome Simulator", None)


def test_connect_device(server: FakeServer, client: IndiClient) -> None:
    peer = connected(server, client)

    def answer(element: IndiElement) -> bytes:
        if isinstance(element, NewVector) and element.name == "CONNECTION":
            connect = element.members[0].name == "CONNECT"
            return connection(connect, "Busy") + connection(connect, "Ok" if connect else "Idle")
        return b""

    peer.serve(answer)
    vector = client.connect_device("Dome Simulator", timeout=WAIT)
    assert vector.switches_on() == ("CONNECT",) and vector.state is PropertyState.OK
    assert client.connect_device("Dome Simulator", timeout=WAIT) is vector  # already connected: nothing sent
    vector = client.disconnect_device("Dome Simulator", timeout=WAIT)
    assert vector.switches_on() == ("DISCONNECT",) and vector.state is PropertyState.IDLE
    assert sum(isinstance(e, NewVector) for e in peer.received) == 2


def test_connect_device_refused_raises_the_alert_with_the_last_message(server: FakeServer,
                                                                       client: IndiClient) -> None:
    peer = connected(server, client)
    peer.serve(lambda element: (b'<message device="Dome Simulator" message="[ERROR] Port /dev/ttyUSB0 not found"/>'
                                + connection(False, "Alert")))
    with pytest.raises(IndiPropertyAlert, match=r"Dome Simulator.CONNECTION went to Alert on CONNECT; last message: "
                                                r"\[ERROR\] Port /dev/ttyUSB0 not found") as caught:
        client.connect_device("Dome Simulator", timeout=WAIT)
    assert caught.value.vector.state is PropertyState.ALERT


def test_blob_reception(server: FakeServer, client: IndiClient) -> None:
    peer = connected(server, client)
    mark = client.sequence
    peer.send(b'<setBLOBVector device="CCD Simulator" name="CCD1" state="Ok"><oneBLOB name="CCD1" size="6" '
              b'format=".fits" len="6">U0lNUExF</oneBLOB></setBLOBVector>\n')
    vector = client.wait_for("CCD Simulator", "CCD1", None, WAIT, after=mark)
    assert vector.value("CCD1") == Blob(b"SIMPLE", ".fits", 6)


def test_server_closing_is_detected_and_reported(server: FakeServer, client: IndiClient) -> None:
    peer = connected(server, client)
    reasons: list[object] = []
    client.add_disconnect_listener(reasons.append)
    waiting: list[BaseException] = []

    def wait_forever() -> None:
        try:
            client.wait_for("Dome Simulator", "ABS_DOME_POSITION", None, 60.0, after=client.sequence)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            waiting.append(exc)

    thread = threading.Thread(target=wait_forever)
    thread.start()
    wait_until(lambda: bool(client._waiters), timeout=WAIT, what="waiter registered")
    started = time.monotonic()
    peer.send(b'<message message="x">')
    peer.close()
    thread.join(WAIT)
    assert time.monotonic() - started < WAIT
    (error,) = waiting
    assert isinstance(error, IndiConnectionError)
    assert "lost while waiting for Dome Simulator.ABS_DOME_POSITION" in str(error)
    assert "closed the connection in the middle of an element" in str(error)
    wait_until(lambda: bool(reasons), timeout=WAIT, what="disconnect listener called")
    assert isinstance(reasons[0], IndiConnectionError) and reasons == [client.disconnect_reason]
    assert not client.connected
    with pytest.raises(IndiConnectionError, match=r"\(cannot send\): the INDI server .* closed the connection"):
        client.set_number("Dome Simulator", "ABS_DOME_POSITION", {"DOME_ABSOLUTE_POSITION": 1})
    with pytest.raises(IndiConnectionError, match="cannot wait for"):
        client.wait_for("Dome Simulator", "ABS_DOME_POSITION", None, 1.0, after=client.sequence)
    assert client.get("Dome Simulator", "ABS_DOME_POSITION") is not None  # the last known state stays readable


def test_hostile_stream_makes_the_client_disconnect(server: FakeServer) -> None:
    client = IndiClient("127.0.0.1", server.port, limits=ParserLimits(max_element_bytes=64 * 1024))
    try:
        peer = connected(server, client)
        peer.send(b'<setTextVector device="Dome Simulator" name="ACTIVE_DEVICES"><oneText name="ACTIVE_TELESCOPE">')
        chunk = b"x" * 65536
        with pytest.raises(OSError):
            for _ in range(1000):  # 64 MiB: the client must hang up long before
                peer.send(chunk)
        wait_until(lambda: not client.connected, timeout=WAIT, what="client disconnected")
        assert isinstance(client.disconnect_reason, IndiStreamError)
        assert "max_element_bytes" in str(client.disconnect_reason)
    finally:
        client.close()


def test_dtd_makes_the_client_disconnect(server: FakeServer, client: IndiClient) -> None:
    peer = connected(server, client)
    peer.send(b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><message message="&a;"/>')
    assert peer.at_eof()
    wait_until(lambda: client.disconnect_reason is not None, timeout=WAIT, what="disconnect reason recorded")
    assert "DTD" in str(client.disconnect_reason)


def test_close_is_prompt_and_reported_without_reason(server: FakeServer, client: IndiClient) -> None:
    peer = connected(server, client)
    reasons: list[object] = []
    client.add_disconnect_listener(reasons.append)
    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < WAIT
    assert reasons == [None] and client.disconnect_reason is None and not client.connected
    assert peer.at_eof()
    client.close()  # closing twice is harmless


def test_reconnect_starts_with_an_empty_cache(server: FakeServer, client: IndiClient) -> None:
    first = connected(server, client)
    first.close()
    wait_until(lambda: not client.connected, timeout=WAIT, what="first connection lost")
    client.connect()
    second = server.accept()
    assert second.receive() == [GetProperties("1.7", None, None)]
    assert client.devices() == []
    second.send(DEFINITIONS)
    assert client.wait_for("CCD Simulator", "CCD1", timeout=WAIT).sequence > 5
    with pytest.raises(IndiConnectionError, match="already connected"):
        client.connect()


def test_connect_to_a_closed_port_fails_clearly() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = IndiClient("127.0.0.1", port, connect_timeout=WAIT)
    with pytest.raises(IndiConnectionError, match=f"cannot connect to the INDI server 127.0.0.1:{port}"):
        client.connect()
    with pytest.raises(IndiConnectionError, match="not connected"):
        client.send(b"<getProperties/>")


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"host": ""}, ValueError, "host must be a non-empty string"),
    ({"port": 0}, ValueError, "port must be an int in 1..65535"),
    ({"port": "7624"}, ValueError, "port must be an int"),
    ({"connect_timeout": 0}, ValueError, "connect_timeout must be a positive finite number"),
    ({"send_timeout": float("inf")}, ValueError, "send_timeout must be a positive finite number"),
    ({"message_history": -1}, ValueError, "message_history must be an int >= 0"),
    ({"limits": {"max_depth": 3}}, TypeError, "limits must be a ParserLimits"),
])
def test_constructor_arguments_are_validated(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        IndiClient(**kwargs)  # type: ignore[arg-type]


def test_wait_and_send_arguments_are_validated(server: FakeServer, client: IndiClient) -> None:
    connected(server, client)
    with pytest.raises(ValueError, match="timeout must be a positive finite number"):
        client.wait_for("Dome Simulator", "CONNECTION", None, -1)
    with pytest.raises(TypeError, match="predicate must be callable"):
        client.wait_for("Dome Simulator", "CONNECTION", "Ok", 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="state must be a PropertyState"):
        client.wait_state("Dome Simulator", "CONNECTION", "Ok", 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes bytes, not str"):
        client.send("<getProperties/>")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="listener must be callable"):
        client.add_message_listener(None)  # type: ignore[arg-type]
