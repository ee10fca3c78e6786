"""Titanic's durable store: transitions, exactly one reply, backoff, durability under SIGKILL."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pyros.errors import MessageError
from pyros.testing import PROJECT_ROOT, child_env
from pyros.titanic.store import RequestState, TitanicStore, normalise_uuid


@pytest.fixture
def store(tmp_path: Path) -> TitanicStore:
    s = TitanicStore(tmp_path / "titanic.db", redispatch_initial=5.0, redispatch_max=40.0)
    yield s
    s.close()


def test_accept_returns_a_32_hex_uuid_and_stores_pending(store: TitanicStore) -> None:
    uid = store.accept("echo", [b"a", b"b"], now=100.0)
    assert len(uid) == 32 and int(uid, 16) >= 0
    stored = store.get(uid)
    assert stored is not None and stored.state is RequestState.PENDING and stored.body == [b"a", b"b"]
    assert store.reply_of(uid) == ("300", [])


def test_bad_input_is_refused_with_a_clear_error(store: TitanicStore) -> None:
    with pytest.raises(ValueError, match="service name"):
        store.accept("", [b"x"], 0.0)
    with pytest.raises(ValueError, match="body frame"):
        store.accept("echo", [], 0.0)
    for bad in ["short", "g" * 31 + "!", b"\xff" * 32, "0" * 33]:
        with pytest.raises(MessageError, match="32"):
            normalise_uuid(bad)
    assert normalise_uuid("ABCDEF" + "0" * 26) == "abcdef" + "0" * 26


def test_claim_dispatches_due_requests_with_doubling_backoff(store: TitanicStore) -> None:
    uid = store.accept("echo", [b"x"], now=0.0)
    first = store.claim_due(now=0.0)
    assert [(r.uuid, r.attempts, r.next_attempt) for r in first] == [(uid, 1, 5.0)]
    assert store.claim_due(now=4.9) == []  # in flight: not dispatched again before its time
    again = store.claim_due(now=5.0)
    assert [(r.attempts, r.next_attempt) for r in again] == [(2, 15.0)]
    delays = [store.redispatch_delay(n) for n in range(1, 7)]
    assert delays == [5.0, 10.0, 20.0, 40.0, 40.0, 40.0]


def test_a_replied_request_is_never_dispatched_again(store: TitanicStore) -> None:
    uid = store.accept("echo", [b"x"], now=0.0)
    store.claim_due(now=0.0)
    assert store.store_reply(uid, [b"done"], now=1.0)
    assert store.claim_due(now=10_000.0) == []
    assert store.reply_of(uid) == ("200", [b"done"])
    assert store.reply_of(uid) == ("200", [b"done"])  # titanic.reply is idempotent


def test_exactly_one_reply_first_wins(store: TitanicStore) -> None:
    uid = store.accept("echo", [b"x"], now=0.0)
    assert store.store_reply(uid, [b"first"], now=1.0)
    assert not store.store_reply(uid, [b"late duplicate"], now=2.0)
    assert store.reply_of(uid) == ("200", [b"first"])


def test_concurrent_replies_store_exactly_one(store: TitanicStore) -> None:
    uids = [store.accept("echo", [b"%d" % i], now=0.0) for i in range(200)]
    wins: list[int] = []
    lock = threading.Lock()

    def answer(tag: int) -> None:
        won = sum(store.store_reply(uid, [b"%d" % tag], now=1.0) for uid in uids)
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=answer, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(wins) == len(uids)
    assert store.counts()["replied"] == len(uids)


def test_close_is_idempotent_and_purge_deletes_old_closed(store: TitanicStore) -> None:
    uid = store.accept("echo", [b"x"], now=0.0)
    store.store_reply(uid, [b"r"], now=1.0)
    store.close_request(uid, now=2.0)
    store.close_request(uid, now=3.0)
    store.close_request("f" * 32, now=3.0)  # unknown: fine (9/TSP: 200 for unknown)
    assert store.reply_of(uid) == ("400", [])
    assert not store.store_reply(uid, [b"too late"], now=4.0)
    assert store.purge(closed_before=1.5) == 0
    assert store.purge(closed_before=10.0) == 1
    assert store.get(uid) is None
    assert store.reply_of("0" * 32) == ("400", [])


def test_a_closed_pending_request_is_not_dispatched(store: TitanicStore) -> None:
    uid = store.accept("echo", [b"x"], now=0.0)
    store.close_request(uid, now=0.5)
    assert store.claim_due(now=100.0) == []


def test_reschedule_puts_a_request_back_to_pending(store: TitanicStore) -> None:
    uid = store.accept("echo", [b"x"], now=0.0)
    store.claim_due(now=0.0)
    assert store.reschedule(uid, at=2.0, now=0.1)
    assert store.claim_due(now=1.9) == []
    assert [r.uuid for r in store.claim_due(now=2.0)] == [uid]
    store.store_reply(uid, [b"r"], now=3.0)
    assert not store.reschedule(uid, at=0.0, now=4.0)


def test_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    with TitanicStore(path) as first:
        a = first.accept("echo", [b"a"], now=0.0)
        b = first.accept("echo", [b"b"], now=0.0)
        first.claim_due(now=0.0)
        first.store_reply(b, [b"rb"], now=1.0)
    with TitanicStore(path) as second:
        assert second.get(a).state is RequestState.DISPATCHED  # type: ignore[union-attr]
        assert second.reply_of(b) == ("200", [b"rb"])
        assert [r.uuid for r in second.claim_due(now=1_000.0)] == [a]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_accepted_requests_survive_sigkill_at_any_moment(tmp_path: Path, seed: int) -> None:
    """Every UUID the writer printed (i.e. accept() had returned) is in the database after SIGKILL."""
    path = tmp_path / "crash.db"
    proc = subprocess.Popen([sys.executable, "-m", "tests.unit.titanic_writer", str(path)], stdout=subprocess.PIPE,
                            text=True, env=child_env(), cwd=str(PROJECT_ROOT))
    assert proc.stdout is not None
    printed: list[str] = []
    target = random.Random(seed).randint(20, 400)
    deadline = time.monotonic() + 60
    while len(printed) < target and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        printed.append(line.strip())
    proc.kill()
    proc.wait(10)
    printed.extend(line.strip() for line in proc.stdout.read().splitlines() if len(line.strip()) == 32)
    assert len(printed) >= 20, "the writer did not get going"
    with TitanicStore(path) as store:
        assert store.integrity_ok()
        stored = set(store.uuids())
        assert set(printed) <= stored
        for uid in printed:
            state, _ = store.reply_of(uid)
            assert state in ("200", "300")


def test_accept_many_stores_all_or_none(store: TitanicStore) -> None:
    first, second = store.new_uuid(), store.new_uuid()
    store.accept_many([("echo", [b"1"], first), ("echo", [b"2"], second)], now=1.0)
    assert store.counts()["pending"] == 2
    third = store.new_uuid()
    with pytest.raises(Exception, match="UNIQUE"):  # the second row repeats a stored UUID
        store.accept_many([("echo", [b"3"], third), ("echo", [b"4"], first)], now=2.0)
    assert store.get(third) is None and store.counts()["pending"] == 2
    with pytest.raises(ValueError, match="body frame"):
        store.accept_many([("echo", [b"5"], store.new_uuid()), ("echo", [], store.new_uuid())], now=3.0)
    assert store.counts()["pending"] == 2


def test_a_failing_write_in_a_group_commit_is_undone_alone(store: TitanicStore) -> None:
    """Writes queued together share a transaction; one that fails must not take the others with it."""
    taken = store.accept("echo", [b"x"], now=1.0)
    start = threading.Barrier(9)
    outcomes: dict[int, object] = {}

    def write(n: int) -> None:
        start.wait(10)
        try:
            # Every third writer repeats a stored UUID and must fail; the others must be stored.
            outcomes[n] = store.accept("echo", [str(n).encode()], now=2.0, uid=taken if n % 3 == 0 else None)
        except Exception as exc:  # noqa: BLE001 - recorded for the assertions
            outcomes[n] = exc

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    start.wait(10)
    for t in threads:
        t.join(10)
    failed = sorted(n for n, o in outcomes.items() if isinstance(o, Exception))
    assert failed == [0, 3, 6]
    for n, outcome in outcomes.items():
        if n not in failed:
            stored = store.get(str(outcome))
            assert stored is not None and stored.body == [str(n).encode()]
    assert store.counts()["pending"] == 1 + 5 and store.integrity_ok()


def test_the_database_directory_is_created(tmp_path: Path) -> None:
    with TitanicStore(tmp_path / "var" / "spool" / "titanic.db") as store:
        assert store.accept("echo", [b"x"], now=1.0)
