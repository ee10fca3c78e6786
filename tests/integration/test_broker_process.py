"""The real broker process with real workers and clients over loopback TCP."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import threading
import time
from typing import Iterator

import msgpack
import pytest
import zmq

from pyros.aio_client import AsyncClient
from pyros.client import Client
from pyros.errors import CommandError, RequestTimeout, RetryExhausted, ServiceUnavailable
from pyros.mdp.codec import Dialect
from pyros.messages import Partial, decode_reply, decode_request, ok_reply, pack
from pyros.testing import BrokerProcess, ManagedProcess, free_endpoint, wait_until
from pyros.worker import SendPartial, Worker

pytestmark = pytest.mark.integration


def echo_handler(body: list[bytes], send_partial: SendPartial) -> list[bytes]:
    """Answer with the request's args after two progress reports."""
    request = decode_request(body[0])
    for step in range(2):
        send_partial([Partial(request.id, {"step": step}).encode()])
    return [ok_reply(request.id, {"args": request.args, "cmd": request.cmd})]


@pytest.fixture
def echo_worker(broker: BrokerProcess) -> Iterator[Worker]:
    worker = Worker(broker.endpoint, echo_handler, ["echo"], slots=2, heartbeat_interval=broker.heartbeat_interval)
    worker.start()
    with broker.client(timeout=5) as client:
        wait_until(lambda: client.workers().get("echo", {}).get("workers") == 2, what="two echo slots registered")
    yield worker
    worker.stop()


def worker_process(endpoint: str, service: str, mode: str, heartbeat_interval: float = 0.5) -> ManagedProcess:
    proc = ManagedProcess([sys.executable, "-m", "tests.integration.worker_proc", "--endpoint", endpoint,
                           "--service", service, "--mode", mode, "--heartbeat-interval", str(heartbeat_interval)],
                          stdout=subprocess.PIPE)
    line = proc.proc.stdout.readline().decode().strip() if proc.proc.stdout else ""
    if line != "READY":
        proc.kill()
        raise RuntimeError(f"worker process did not start: {line!r}")
    return proc


def test_call_round_trip_with_progress(broker: BrokerProcess, echo_worker: Worker) -> None:
    progress: list[dict] = []
    with broker.client(timeout=5) as client:
        data = client.call("echo", "hello", {"a": 1}, b=[1, 2], progress=progress.append)
    assert data == {"args": {"a": 1, "b": [1, 2]}, "cmd": "hello"}
    assert progress == [{"step": 0}, {"step": 1}]


def test_v01_client_gets_only_the_final_reply(broker: BrokerProcess, echo_worker: Worker) -> None:
    progress: list[dict] = []
    with broker.client(timeout=5, dialect=Dialect.V1) as client:
        assert client.call("echo", "x", progress=progress.append) == {"args": {}, "cmd": "x"}
    assert progress == []


def test_raw_7mdp_frames_built_by_hand(broker: BrokerProcess, zctx: zmq.Context) -> None:
    """A REQ client and a DEALER worker speaking 7/MDP exactly as the RFC draws the frames."""
    worker = zctx.socket(zmq.DEALER)
    worker.setsockopt(zmq.LINGER, 0)
    worker.connect(broker.endpoint)
    worker.send_multipart([b"", b"MDPW01", b"\x01", b"raw"])
    client = zctx.socket(zmq.REQ)
    client.setsockopt(zmq.LINGER, 0)
    client.connect(broker.endpoint)
    with broker.client(timeout=5) as probe:
        wait_until(lambda: probe.service_exists("raw"), what="raw worker registered")
    client.send_multipart([b"MDPC01", b"raw", b"part-1", b"part-2"])  # REQ adds the empty frame
    assert worker.poll(5000)
    frames = worker.recv_multipart()
    assert frames[:3] == [b"", b"MDPW01", b"\x02"]
    assert frames[4] == b"" and frames[5:] == [b"part-1", b"part-2"]
    worker.send_multipart([b"", b"MDPW01", b"\x03", frames[3], b"", b"answer"])
    assert client.poll(5000)
    assert client.recv_multipart() == [b"MDPC01", b"raw", b"answer"]
    # MMI through the same REQ socket.
    client.send_multipart([b"MDPC01", b"mmi.service", b"raw"])
    assert client.poll(5000)
    assert client.recv_multipart() == [b"MDPC01", b"mmi.service", b"200"]
    client.send_multipart([b"MDPC01", b"mmi.nonsense", b""])
    assert client.poll(5000)
    assert client.recv_multipart() == [b"MDPC01", b"mmi.nonsense", b"501"]


def test_mmi_views(broker: BrokerProcess, echo_worker: Worker) -> None:
    with broker.client(timeout=5) as client:
        assert client.service_exists("echo")
        assert not client.service_exists("nobody")
        assert "echo" in client.services()
        table = client.workers()["echo"]
        assert table == {"workers": 2, "busy": 0, "waiting": 2, "queued": 0}
        assert client.mmi("mmi.echo", b"abc").status == "abc"


def test_service_without_worker_gets_service_unavailable(broker: BrokerProcess) -> None:
    started = time.monotonic()
    with broker.client(timeout=10, retries=0) as client:
        with pytest.raises(ServiceUnavailable, match="no worker for service 'absent'"):
            client.call("absent", "anything")
    assert time.monotonic() - started < 8  # the broker's 2 s, not the client's 10 s


def test_worker_killed_mid_request_has_its_request_requeued(broker: BrokerProcess) -> None:
    holder = worker_process(broker.endpoint, "fragile", "hold")
    result: dict = {}

    def call() -> None:
        with broker.client(timeout=20, retries=0) as client:
            result["data"] = client.call("fragile", "work", n=7)

    caller = threading.Thread(target=call)
    caller.start()
    try:
        assert holder.proc.stdout is not None
        assert holder.proc.stdout.readline().decode().startswith("HOLDING ")
        with worker_process(broker.endpoint, "fragile", "echo") as rescuer:
            holder.kill()  # dies holding the request
            caller.join(20)
            assert result["data"]["args"] == {"n": 7}
            assert result["data"]["pid"] == rescuer.pid
    finally:
        holder.kill()
        caller.join(1)


def test_dead_idle_worker_is_skipped_long_before_its_heartbeats_expire() -> None:
    """SIGKILL an idle worker: requests go to the live one at once, not after liveness x interval (9 s)."""
    with BrokerProcess(heartbeat_interval=3.0) as broker:
        first = worker_process(broker.endpoint, "steady", "echo", heartbeat_interval=3.0)
        second = worker_process(broker.endpoint, "steady", "echo", heartbeat_interval=3.0)
        with first, second, broker.client(timeout=20, retries=0) as client:
            wait_until(lambda: client.workers().get("steady", {}).get("workers") == 2, what="two workers")
            first.kill()
            first.proc.wait(10)
            started = time.monotonic()
            answered_by = {client.call("steady", "work", n=i)["pid"] for i in range(4)}
            elapsed = time.monotonic() - started
            assert answered_by == {second.pid}
            assert elapsed < 4.5, f"requests waited {elapsed:.1f} s: the dead worker was not skipped"
            wait_until(lambda: client.workers().get("steady", {}).get("workers") == 1, timeout=4.5,
                       what="the dead worker forgotten (EHOSTUNREACH) before its expiry")


def test_retry_cap_gives_retry_exhausted(zctx: zmq.Context) -> None:
    with BrokerProcess(retry_cap=1) as broker:
        crashers = [worker_process(broker.endpoint, "poison", "crash") for _ in range(3)]
        try:
            with broker.client(timeout=20, retries=0) as client:
                with pytest.raises(RetryExhausted, match="died holding this request 2 times"):
                    client.call("poison", "boom")
        finally:
            for proc in crashers:
                proc.kill()


def test_worker_reconnects_after_broker_restart() -> None:
    endpoint = free_endpoint()
    broker = BrokerProcess(endpoint)
    worker = Worker(endpoint, echo_handler, ["echo"], slots=1, heartbeat_interval=0.5, reconnect_max=0.5).start()
    try:
        with Client(endpoint, timeout=5) as client:
            assert client.call("echo", "before")["cmd"] == "before"
        broker.kill()
        broker = BrokerProcess(endpoint)
        with Client(endpoint, timeout=10, retries=0) as client:
            assert client.call("echo", "after")["cmd"] == "after"
        assert worker.counts["connections"] >= 2
    finally:
        worker.stop()
        broker.stop()


def test_a_worker_started_before_its_broker_waits_quietly_then_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    """Not yet heard is not silent: debug lines until absent_warning_s, one warning, one when it answers."""
    endpoint = free_endpoint()
    caplog.set_level("DEBUG", logger="pyros.worker")

    def messages(level: str) -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "pyros.worker" and r.levelname == level]

    worker = Worker(endpoint, echo_handler, ["echo"], slots=2, heartbeat_interval=0.05, reconnect_max=0.1,
                    absent_warning_s=0.5).start()
    broker = None
    try:
        wait_until(lambda: any("no broker has answered" in m for m in messages("WARNING")), timeout=10,
                   what="the absence warning")
        assert any("no broker at" in m for m in messages("DEBUG"))  # the attempts before it, at debug level
        absent = [m for m in messages("WARNING") if "no broker has answered" in m]
        assert len(absent) == 1 and endpoint in absent[0] and "(echo)" in absent[0], absent
        assert not any("broker silent" in m for m in messages("WARNING"))
        assert worker.counts["broker_absent"] >= 2 and worker.counts["broker_silent"] == 0

        broker = BrokerProcess(endpoint, heartbeat_interval=0.05)
        with Client(endpoint, timeout=10, retries=0) as client:
            assert client.call("echo", "late")["cmd"] == "late"
        wait_until(lambda: any("answers" in m and "at last" in m for m in messages("WARNING")), timeout=10,
                   what="the broker's arrival reported")
        assert len([m for m in messages("WARNING") if "no broker has answered" in m]) == 1

        broker.kill()  # heard before, now gone: that is silence, and it is said as before
        broker = None
        wait_until(lambda: worker.counts["broker_silent"] >= 1, timeout=10, what="silence noticed")
        assert any("broker silent" in m for m in messages("WARNING"))
    finally:
        worker.stop()
        if broker is not None:
            broker.stop()


def test_a_negative_absent_warning_is_refused() -> None:
    with pytest.raises(ValueError, match="absent_warning_s must be >= 0"):
        Worker("tcp://127.0.0.1:1", echo_handler, ["echo"], absent_warning_s=-1.0)


def test_garbage_leaves_the_broker_serving(broker: BrokerProcess, echo_worker: Worker, zctx: zmq.Context) -> None:
    rng = random.Random(1234)
    headers = [b"", b"MDPC01", b"MDPW01", b"MDPC02", b"MDPW02", b"\x01", b"\x02", b"\x03", b"\x04", b"\x05", b"\x06"]
    sockets = []
    for _ in range(8):
        sock = zctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(broker.endpoint)
        sockets.append(sock)
    for _ in range(3000):
        frames = [rng.choice(headers) if rng.random() < 0.6 else rng.randbytes(rng.randint(0, 40))
                  for _ in range(rng.randint(1, 8))]
        rng.choice(sockets).send_multipart(frames)
    with broker.client(timeout=5) as client:
        wait_until(lambda: sum(client.mmi("mmi.stats").data["drops"].values()) > 100, what="drops counted")
        assert client.call("echo", "still-alive")["cmd"] == "still-alive"
    assert broker.alive()


def test_sigterm_stops_cleanly_and_disconnects_workers(echo_worker: Worker, broker: BrokerProcess) -> None:
    assert broker.stop() == 0
    wait_until(lambda: echo_worker.counts["disconnected_by_broker"] >= 1, what="workers told DISCONNECT")


def test_async_client_many_in_flight(broker: BrokerProcess, echo_worker: Worker) -> None:
    async def run() -> list:
        async with AsyncClient(broker.endpoint, timeout=10) as client:
            return await asyncio.gather(*(client.call("echo", "n", i=i) for i in range(300)))

    results = asyncio.run(run())
    assert [r["args"]["i"] for r in results] == list(range(300))


def test_async_client_retries_with_the_same_id(broker: BrokerProcess) -> None:
    """A request sent before any worker exists is answered once a worker appears; the resend has the same id."""
    seen: list[str] = []

    def handler(body: list[bytes], send_partial: SendPartial) -> list[bytes]:
        request = decode_request(body[0])
        seen.append(request.id)
        return [ok_reply(request.id, len(seen))]

    async def run() -> object:
        async with AsyncClient(broker.endpoint, timeout=0.3, retries=5) as client:
            task = asyncio.ensure_future(client.call("late", "x", request_id="fixed-id"))
            await asyncio.sleep(0.5)  # let at least one retry happen before a worker exists
            worker = Worker(broker.endpoint, handler, ["late"], slots=1, heartbeat_interval=0.5).start()
            try:
                return await task
            finally:
                worker.stop()

    assert asyncio.run(run()) >= 1
    assert seen and set(seen) == {"fixed-id"}


def test_client_timeout_is_a_transport_error(broker: BrokerProcess) -> None:
    release = threading.Event()

    def handler(body: list[bytes], send_partial: SendPartial) -> list[bytes]:
        release.wait(10)
        return [ok_reply(decode_request(body[0]).id)]

    worker = Worker(broker.endpoint, handler, ["slow"], slots=1, heartbeat_interval=0.5).start()
    try:
        with broker.client(timeout=0.3, retries=1) as client:
            wait_until(lambda: client.service_exists("slow"), what="slow registered")
            with pytest.raises(RequestTimeout, match="2 attempt"):
                client.call("slow", "x")
    finally:
        release.set()
        worker.stop()


def test_async_client_delivers_progress_to_its_callback(broker: BrokerProcess, echo_worker: Worker) -> None:
    seen: dict[int, list[dict]] = {0: [], 1: []}

    async def run() -> list:
        async with AsyncClient(broker.endpoint, timeout=10) as client:
            return await asyncio.gather(*(client.call("echo", "p", i=i, progress=seen[i].append) for i in (0, 1)))

    assert [r["args"]["i"] for r in asyncio.run(run())] == [0, 1]
    assert seen == {0: [{"step": 0}, {"step": 1}], 1: [{"step": 0}, {"step": 1}]}


def test_worker_heartbeats_while_a_long_command_runs(broker: BrokerProcess) -> None:
    """A command lasting twice the broker's liveness completes: the I/O thread keeps beating."""
    liveness = broker.heartbeat_interval * broker.heartbeat_liveness

    def handler(body: list[bytes], send_partial: SendPartial) -> list[bytes]:
        threading.Event().wait(2 * liveness)
        return [ok_reply(decode_request(body[0]).id, "finished")]

    worker = Worker(broker.endpoint, handler, ["long"], slots=1, heartbeat_interval=broker.heartbeat_interval).start()
    try:
        with broker.client(timeout=4 * liveness, retries=0) as client:
            wait_until(lambda: client.service_exists("long"), what="long registered")
            assert client.call("long", "run") == "finished"
            assert client.mmi("mmi.stats").data["events"].get("workers_expired", 0) == 0
        assert worker.counts["connections"] == 1
    finally:
        worker.stop()


def test_sync_client_lazy_pirate_survives_a_late_broker() -> None:
    """A call made while no broker runs succeeds on a retry (fresh socket, same id) once one starts."""
    endpoint = free_endpoint()
    ids: list[str] = []

    def handler(body: list[bytes], send_partial: SendPartial) -> list[bytes]:
        request = decode_request(body[0])
        ids.append(request.id)
        return [ok_reply(request.id, "late but fine")]

    worker = Worker(endpoint, handler, ["patient"], slots=1, heartbeat_interval=0.5, reconnect_max=0.5).start()
    result: dict = {}

    def call() -> None:
        with Client(endpoint, timeout=0.5, retries=40) as client:
            result["data"] = client.call("patient", "go", request_id="same-id-every-try")

    caller = threading.Thread(target=call)
    caller.start()
    try:
        threading.Event().wait(1.2)  # let a few attempts time out against no broker at all
        with BrokerProcess(endpoint):
            caller.join(30)
    finally:
        worker.stop()
    assert result == {"data": "late but fine"}
    assert ids and set(ids) == {"same-id-every-try"}


def _batch_worker(broker: BrokerProcess, handler: object, sizes: list[int]) -> Worker:
    def batch(bodies: list[list[bytes]]) -> list[list[bytes]]:
        sizes.append(len(bodies))
        return handler(bodies)  # type: ignore[operator]

    worker = Worker(broker.endpoint, echo_handler, ["batched"], slots=4, batch_handler=batch,
                    heartbeat_interval=broker.heartbeat_interval).start()
    with broker.client(timeout=5) as client:
        wait_until(lambda: client.workers().get("batched", {}).get("workers") == 4, what="four slots registered")
    return worker


def test_batch_handler_answers_each_request_in_order(broker: BrokerProcess) -> None:
    def answer(bodies: list[list[bytes]]) -> list[list[bytes]]:
        requests = [decode_request(body[0]) for body in bodies]
        return [[ok_reply(r.id, {"i": r.args["i"], "batch": len(bodies)})] for r in requests]

    sizes: list[int] = []
    worker = _batch_worker(broker, answer, sizes)
    try:
        async def run() -> list:
            async with AsyncClient(broker.endpoint, timeout=10) as client:
                return await asyncio.gather(*(client.call("batched", "n", i=i) for i in range(200)))

        results = asyncio.run(run())
    finally:
        worker.stop()
    assert [r["i"] for r in results] == list(range(200))
    assert sum(sizes) == 200 and max(sizes) <= 4


@pytest.mark.parametrize("failure", ["raises", "wrong count"])
def test_failing_batch_handler_still_answers_every_client(broker: BrokerProcess, failure: str) -> None:
    def broken(bodies: list[list[bytes]]) -> list[list[bytes]]:
        if failure == "raises":
            raise RuntimeError("disk on fire")
        return []

    worker = _batch_worker(broker, broken, [])
    try:
        async def run() -> list:
            async with AsyncClient(broker.endpoint, timeout=10) as client:
                return await asyncio.gather(*(client.call("batched", "n", i=i) for i in range(8)),
                                            return_exceptions=True)

        results = asyncio.run(run())
    finally:
        worker.stop()
    expected = "disk on fire" if failure == "raises" else "batch handler returned 0 replies for"
    assert len(results) == 8
    for result in results:
        assert isinstance(result, CommandError) and result.type == "WorkerError" and expected in str(result)
