"""The requests service and `pyros request`, with a real broker, service process and database."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from pyros.testing import PROJECT_ROOT, BrokerProcess, ManagedProcess, wait_until
from tests.integration.site import run_pyros

pytestmark = pytest.mark.integration

EXAMPLES = Path(PROJECT_ROOT) / "etc" / "requests"
HOSTILE = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<request version="1" name="&x;" program="Calibrations" priority="1"/>"""


@pytest.fixture
def site(broker: BrokerProcess, tmp_path: Path) -> Iterator[Path]:
    """A config with the demo database and tokens for alice (observer) and olga (operator); the service running."""
    config = tmp_path / "site.toml"
    config.write_text(f"""
[broker]
endpoint = "{broker.endpoint}"
heartbeat_interval = {broker.heartbeat_interval}

[database]
url = "sqlite:///{tmp_path / 'pyros.db'}"

[access.tokens]
alice-token = "observer"
olga-token = "operator"

[access.names]
alice-token = "alice"
olga-token = "olga"
""")
    initialised = run_pyros(config, "db", "init", "--demo")
    assert initialised.returncode == 0, initialised.stderr
    service = ManagedProcess([sys.executable, "-m", "pyros", "--config", str(config), "serve",
                              "servers.requests:RequestService"])
    with service, broker.client(timeout=5) as client:
        wait_until(lambda: client.service_exists("requests"), timeout=30, what="requests service up")
        yield config


def ask(config: Path, *args: str, token: str = "alice-token") -> tuple[int, Any]:
    result = run_pyros(config, "request", *args, "--token", token, "--json")
    return result.returncode, json.loads(result.stdout)


def test_submit_show_list_and_cancel(site: Path) -> None:
    code, before = ask(site, "list")
    assert code == 0
    code, submitted = ask(site, "submit", str(EXAMPLES / "m31_deep.xml"))
    assert code == 0, submitted
    assert submitted["data"]["status"] == "accepted" and submitted["data"]["user"] == "alice"
    request_id = submitted["data"]["id"]
    code, shown = ask(site, "show", str(request_id))
    plans = shown["data"]["sequences"][0]["albums"][0]["plans"]
    assert [(p["filter"], p["count"], p["binning"]) for p in plans] == [("g", 5, 1), ("r", 5, 2)]
    code, listed = ask(site, "list", "--status", "accepted", "--user", "alice")
    assert request_id in [r["id"] for r in listed["data"]]
    human = run_pyros(site, "request", "show", str(request_id), "--token", "alice-token")
    assert "cam_vis: 5 x 120 s light filter g bin 1" in human.stdout
    code, refused = ask(site, "cancel", str(request_id), token="olga-token")  # an operator may
    assert code == 0 and refused["data"]["status"] == "cancelled" and refused["data"]["charged_hours"] == 0
    code, after = ask(site, "list")
    assert len(after["data"]) == len(before["data"]) + 1


def test_refusals_store_nothing(site: Path, tmp_path: Path) -> None:
    _, before = ask(site, "list")
    hostile = tmp_path / "hostile.xml"
    hostile.write_text(HOSTILE)
    code, refused = ask(site, "submit", str(hostile))
    assert code == 1 and refused["error"]["type"] == "InvalidRequest"
    assert "DOCTYPE declarations are not allowed" in refused["error"]["message"]
    unknown = tmp_path / "unknown.xml"
    unknown.write_text((EXAMPLES / "grb_followup.xml").read_text().replace('detector="cam_nir"', 'detector="cam_x"'))
    code, refused = ask(site, "submit", str(unknown))
    assert code == 1 and "line 12, /request/sequence[1]/album[2], @detector: no active camera 'cam_x'" in \
        refused["error"]["message"]
    huge = tmp_path / "huge.xml"
    huge.write_text((EXAMPLES / "m31_deep.xml").read_text().replace('count="5"/>', 'count="9000"/>'))
    code, refused = ask(site, "submit", str(huge))
    assert code == 1 and refused["error"]["type"] == "QuotaExceeded" and "remaining" in refused["error"]["message"]
    code, valid = ask(site, "validate", str(EXAMPLES / "calibrations.xml"))
    assert code == 0 and valid["data"]["status"] == "valid" and valid["data"]["id"] is None
    _, after = ask(site, "list")
    assert after["data"] == before["data"]


def test_only_operators_act_for_others(site: Path) -> None:
    code, refused = ask(site, "submit", str(EXAMPLES / "calibrations.xml"), "--user", "bruno")
    assert code == 1 and refused["error"]["type"] == "AccessDenied"
    code, submitted = ask(site, "submit", str(EXAMPLES / "calibrations.xml"), "--user", "bruno", token="olga-token")
    assert code == 0 and submitted["data"]["user"] == "bruno"
    code, refused = ask(site, "cancel", str(submitted["data"]["id"]))
    assert code == 1 and refused["error"]["type"] == "AccessDenied" and "bruno's" in refused["error"]["message"]


def test_the_user_simulator_submits_a_scenario(site: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "night.json"
    scenario.write_text(json.dumps([5, {"time": 0.2, "userSimulator": str(EXAMPLES / "calibrations.xml")},
                                    {"time": 0.4, "userSimulator": {"file": str(EXAMPLES / "m31_deep.xml"),
                                                                    "user": "bruno"}}]))
    result = run_pyros(site, "simulate", "users", str(scenario), "--token", "alice-token", "--json")
    assert result.returncode == 0, result.stderr
    outcomes = json.loads(result.stdout)["data"]
    assert [o["ok"] for o in outcomes] == [True, False]  # alice may not submit for bruno
    assert outcomes[0]["outcome"]["status"] == "accepted" and "AccessDenied" in outcomes[1]["outcome"]
    human = run_pyros(site, "request", "list", "--token", "alice-token")
    assert "Calibrations: Nightly calibrations" in human.stdout
