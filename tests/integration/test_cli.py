"""The ``pyros`` command line against a real broker and a real served service."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from pyros.testing import PROJECT_ROOT, BrokerProcess, ManagedProcess, child_env, wait_until

pytestmark = pytest.mark.integration

TEN_LINE_SERVICE = '''
from pyros.service import Service, command

class Thermometer(Service):
    """Reads a (fake) temperature."""
    service_name = "thermo"

    @command()
    def read(self, unit: str = "C") -> float:
        """Return the temperature."""
        return 12.5 if unit == "C" else 54.5
'''


def pyros(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pyros ARGS`` and capture its output."""
    return subprocess.run([sys.executable, "-m", "pyros", *args], capture_output=True, text=True, timeout=timeout,
                          env=env or child_env(), cwd=str(PROJECT_ROOT))


@pytest.fixture
def served_echo(broker: BrokerProcess) -> Iterator[BrokerProcess]:
    proc = ManagedProcess([sys.executable, "-m", "pyros", "--set",
                           f"broker.heartbeat_interval={broker.heartbeat_interval}", "serve",
                           "servers.echo:EchoService", "--broker", broker.endpoint, "--instance", "cli"])
    try:
        with broker.client(timeout=5) as client:
            wait_until(lambda: client.service_exists("echo.cli"), what="echo served")
        yield broker
    finally:
        proc.stop()


def test_call_prints_data_and_exits_zero(served_echo: BrokerProcess) -> None:
    result = pyros("call", "--broker", served_echo.endpoint, "echo", "echo", "text=hi", "times=2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hi hi"


def test_call_json_and_command_error_exit_status(served_echo: BrokerProcess) -> None:
    ok = pyros("call", "--broker", served_echo.endpoint, "--json", "echo", "add", "a=1", "b=2.5")
    assert json.loads(ok.stdout) == {"ok": True, "data": 3.5}
    bad = pyros("call", "--broker", served_echo.endpoint, "--json", "echo", "add", "a=1", "b=x")
    assert bad.returncode == 1
    error = json.loads(bad.stdout)["error"]
    assert error["type"] == "BadArgument" and "'b'" in error["message"]
    denied = pyros("call", "--broker", served_echo.endpoint, "echo", "greet", "name=ann")
    assert denied.returncode == 1 and "AccessDenied" in denied.stderr
    allowed = pyros("call", "--broker", served_echo.endpoint, "--token", "change-me-admin-token", "echo", "greet",
                    "name=ann")
    assert allowed.returncode == 0 and allowed.stdout.strip() == "hello, ann"


def test_call_wait_follows_an_operation(served_echo: BrokerProcess) -> None:
    result = pyros("call", "--broker", served_echo.endpoint, "--json", "--wait", "echo", "countdown", "seconds=0.3",
                   "step=0.1")
    assert result.returncode == 0, result.stderr
    session = json.loads(result.stdout)["data"]
    assert session["status"] == "done" and session["success"] is True and session["instance"] == "cli"


def test_transport_failure_exit_status(broker: BrokerProcess) -> None:
    result = pyros("call", "--broker", broker.endpoint, "--json", "nobody", "x")
    assert result.returncode == 3
    assert json.loads(result.stdout)["error"]["type"] == "ServiceUnavailable"


def test_services_and_describe(served_echo: BrokerProcess) -> None:
    listing = pyros("services", "--broker", served_echo.endpoint, "--json")
    table = json.loads(listing.stdout)["data"]
    assert table["echo"]["workers"] >= 1 and "echo.cli" in table
    described = pyros("describe", "--broker", served_echo.endpoint, "echo")
    assert described.returncode == 0
    assert "countdown(seconds: float [s, 0..3600] = 5.0, step: float [s, 0.001..3600] = 1.0) [operation, observer]" \
        in described.stdout
    as_json = json.loads(pyros("describe", "--broker", served_echo.endpoint, "--json", "echo").stdout)
    assert as_json["data"]["commands"]["echo"]["params"][0]["name"] == "text"


def test_config_show_layers_and_errors(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('[broker]\nheartbeat_interval = 1.5\nretry_cap = 1\n')
    env = child_env()
    env["PYROS_BROKER__RETRY_CAP"] = "2"
    shown = pyros("--config", str(config), "--set", "broker.max_queue=7", "config", "show", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    broker = json.loads(shown.stdout)["broker"]
    assert (broker["heartbeat_interval"], broker["retry_cap"], broker["max_queue"]) == (1.5, 2, 7)
    secret = pyros("--config", str(config), "--set", 'access.tokens.s3cret="admin"', "config", "show", "--json")
    assert "s3cret" not in secret.stdout
    assert json.loads(secret.stdout)["access"]["tokens"] == {"<redacted:1>": "admin"}
    shown_secret = pyros("--config", str(config), "--set", 'access.tokens.s3cret="admin"', "config", "show",
                         "--show-secrets")
    assert '"s3cret" = "admin"' in shown_secret.stdout or 's3cret = "admin"' in shown_secret.stdout
    config.write_text('[broker]\nhearbeat_interval = 1.5\n')
    typo = pyros("--config", str(config), "config", "show")
    assert typo.returncode == 4 and "broker.hearbeat_interval" in typo.stderr
    env["PYROS_BROKER__HEARTBEAT_INTERVAL"] = "fast"
    wrong = pyros("config", "show", env=env)
    assert wrong.returncode == 4 and "PYROS_BROKER__HEARTBEAT_INTERVAL" in wrong.stderr


def test_a_ten_line_service_answers_pyros_call(broker: BrokerProcess, tmp_path: Path) -> None:
    (tmp_path / "thermo.py").write_text(TEN_LINE_SERVICE)
    env = child_env()
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    proc = subprocess.Popen([sys.executable, "-m", "pyros", "--set",
                             f"broker.heartbeat_interval={broker.heartbeat_interval}", "serve", "thermo:Thermometer",
                             "--broker", broker.endpoint], env=env, cwd=str(PROJECT_ROOT),
                            stderr=subprocess.DEVNULL)
    try:
        with broker.client(timeout=5) as client:
            wait_until(lambda: client.service_exists("thermo"), what="thermo served")
        result = pyros("call", "--broker", broker.endpoint, "thermo", "read", "unit=F", env=env)
        assert result.returncode == 0 and result.stdout.strip() == "54.5"
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_rejects_a_bad_class_path(broker: BrokerProcess) -> None:
    result = pyros("serve", "servers.echo:Nope", "--broker", broker.endpoint)
    assert result.returncode == 2 and "Nope" in result.stderr


def test_broker_command_binds_and_stops_on_sigterm() -> None:
    broker = BrokerProcess()  # python -m servers.broker goes through the same click command
    assert broker.stop() == 0


def test_broker_reports_a_busy_port_clearly(broker: BrokerProcess) -> None:
    result = pyros("broker", "--bind", broker.endpoint, timeout=30)
    assert result.returncode == 1
    assert f"cannot bind {broker.endpoint}" in result.stderr and "Traceback" not in result.stderr
