"""``pyros kv`` and ``pyros watch`` as real processes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pyros.kv.publisher import KVPublisher
from pyros.kv.subscriber import KVSubscriber
from pyros.testing import PROJECT_ROOT, ManagedProcess, child_env, free_endpoint, wait_until

pytestmark = pytest.mark.integration


def test_watch_prints_the_snapshot_then_changes() -> None:
    snapshot, publisher, collector = free_endpoint(), free_endpoint(), free_endpoint()
    sets = ["--set", f'kv.snapshot="{snapshot}"', "--set", f'kv.publisher="{publisher}"',
            "--set", f'kv.collector="{collector}"', "--set", "kv.hugz_interval=0.2"]
    server = ManagedProcess([sys.executable, "-m", "pyros", *sets, "kv"])
    try:
        with KVPublisher(collector) as pub, KVSubscriber(snapshot, publisher) as probe:
            assert probe.wait_synced(20)
            pub.set("/env/weather/wind", {"value": 12.5, "unit": "m/s"})
            pub.set("/device/dome/shutter", "open")  # outside the watched prefix
            pub.set("/env/weather/rain", False)
            wait_until(lambda: probe.get("/env/weather/rain") is not None, what="keys published")
            watch = subprocess.Popen([sys.executable, "-m", "pyros", *sets, "watch", "/env/", "--json", "--count", "3",
                                      "--timeout", "60"], stdout=subprocess.PIPE, text=True, env=child_env(),
                                     cwd=str(PROJECT_ROOT))
            assert watch.stdout is not None
            first = [json.loads(watch.stdout.readline()) for _ in range(2)]  # the snapshot
            assert {e["key"]: e["value"] for e in first} == {"/env/weather/wind": {"value": 12.5, "unit": "m/s"},
                                                              "/env/weather/rain": False}
            pub.delete("/env/weather/wind")
            assert json.loads(watch.stdout.readline()) == {"key": "/env/weather/wind", "value": None}
            assert watch.wait(30) == 0
    finally:
        assert server.stop() == 0
