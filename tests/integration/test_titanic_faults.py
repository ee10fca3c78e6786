"""Titanic under SIGKILL: of the broker during 1,000 requests, and of Titanic itself mid-dispatch."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pyros.testing import BrokerProcess, ManagedProcess, wait_until
from pyros.titanic.client import TitanicClient
from pyros.titanic.store import RequestState, TitanicStore
from tests.integration.test_titanic import Ledger, start_ledger

pytestmark = pytest.mark.integration


def titanic_process(broker: BrokerProcess, database: Path) -> ManagedProcess:
    proc = ManagedProcess([sys.executable, "-m", "pyros", "--set", f"broker.heartbeat_interval={broker.heartbeat_interval}",
                           "titanic", "--broker", broker.endpoint, "--database", str(database), "--redispatch", "0.5"])
    with broker.client(timeout=5) as client:
        wait_until(lambda: all(client.service_exists(n) for n in ("titanic.request", "titanic.reply",
                                                                  "titanic.close")),
                   timeout=20, what="titanic registered")
    return proc


def submit_all(broker: BrokerProcess, count: int, start: int = 0) -> list[str]:
    with broker.client(timeout=2, retries=10) as client:
        tsp = TitanicClient(client)
        return [tsp.submit("ledger", "record", {"value": i}) for i in range(start, start + count)]


def replied(store: TitanicStore, uids: list[str]) -> int:
    return sum(1 for uid in uids if store.reply_of(uid)[0] == "200")


def test_broker_sigkill_during_1000_requests_loses_nothing(tmp_path: Path) -> None:
    database = tmp_path / "titanic.db"
    broker = BrokerProcess()
    ledger = Ledger()
    titanic = titanic_process(broker, database)
    host = start_ledger(broker, ledger)
    reader = TitanicStore(database)
    try:
        uids = submit_all(broker, 600)
        wait_until(lambda: replied(reader, uids) >= 100, timeout=60, what="dispatch under way")
        broker.kill()  # SIGKILL while requests are in flight
        broker = BrokerProcess(broker.endpoint)
        with broker.client(timeout=5) as client:
            wait_until(lambda: client.service_exists("titanic.request") and client.service_exists("ledger"),
                       timeout=30, what="titanic and the worker re-registered")
        uids += submit_all(broker, 400, start=600)
        wait_until(lambda: replied(reader, uids) == len(uids), timeout=120, what="every request replied")
        for uid in uids:
            status, body = reader.reply_of(uid)
            assert status == "200" and body
        assert len(set(uids)) == 1000
        executed = {uid: n for uid, n in ledger.executions.items() if uid in set(uids)}
        assert set(executed) == set(uids), "a stored request was never executed"
        assert set(executed.values()) == {1}, "a request was executed more than once"
    finally:
        reader.close()
        host.stop()
        titanic.stop()
        broker.stop()


def test_titanic_sigkill_mid_dispatch_loses_nothing_and_executes_once(broker: BrokerProcess,
                                                                     tmp_path: Path) -> None:
    database = tmp_path / "titanic.db"
    ledger = Ledger()
    host = start_ledger(broker, ledger)
    titanic = titanic_process(broker, database)
    reader = TitanicStore(database)
    try:
        uids = submit_all(broker, 300)
        wait_until(lambda: replied(reader, uids) >= 30, timeout=60, what="dispatch under way")
        titanic.kill()  # SIGKILL mid-dispatch
        titanic = titanic_process(broker, database)
        wait_until(lambda: replied(reader, uids) == len(uids), timeout=120, what="every request replied")
        assert reader.counts()[RequestState.REPLIED.value] >= len(uids)
        assert set(ledger.executions) >= set(uids)
        assert {ledger.executions[u] for u in uids} == {1}
    finally:
        reader.close()
        titanic.stop()
        host.stop()
