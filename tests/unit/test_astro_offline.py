"""The offline policy of :mod:`pyros.astro`: no download, no warning, for instants in 2024-2030."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import warnings
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import astropy.units as u
import erfa
import numpy as np
import pytest
from astropy.time import Time
from astropy.utils import iers
from astropy.utils.data import conf as data_conf

import pyros.astro
from pyros.astro import Sky
from pyros.astro.offline import earth_orientation_table
from pyros.config import Config
from pyros.testing import PROJECT_ROOT, child_env

# One computation of every kind per year, 2024 to the end of 2030, in one function run
# both in this process and in a fresh one.
WORKLOAD = textwrap.dedent("""
    def workload():
        from datetime import date, datetime, timezone
        from pyros.astro import Sky
        from pyros.config import Config, SiteConfig
        skies = [Sky.from_config(Config()), Sky.from_config(Config(site=SiteConfig(latitude_deg=78.0)))]
        count = 0
        for year in range(2024, 2031):
            for sky in skies:
                instant = datetime(year, 12, 31, 20, tzinfo=timezone.utc)
                sky.targets([10.0, 250.0], [20.0, -40.0], [instant.timestamp() + 600.0 * k for k in range(7)])
                sky.sun_altitude(instant)
                sky.moon(datetime(year, 6, 15, tzinfo=timezone.utc))
                sky.night(instant)
                sky.night(date(year, 3, 1))
                sky.twilights(date(year, 12, 30))
                count += 1
        return count
""")


def test_astropy_is_configured_offline_at_import() -> None:
    assert pyros.astro is not None
    assert data_conf.allow_internet is False
    assert iers.conf.auto_download is False
    assert iers.conf.auto_max_age is None


def test_earth_orientation_comes_from_the_bundled_iers_b_table() -> None:
    table = earth_orientation_table()
    assert isinstance(table, iers.IERS_B)
    assert table.meta["data_path"] == iers.IERS_B_FILE
    assert earth_orientation_table() is table
    # Beyond the table's last entry, its last values are used, without error or warning.
    last_mjd = float(table["MJD"][-1].value)
    after = Time(last_mjd + 400.0, format="mjd", scale="utc")
    dut1, status = table.ut1_utc(after.jd1, after.jd2, return_status=True)
    assert status == iers.TIME_BEYOND_IERS_RANGE
    assert dut1.to_value(u.s) == pytest.approx(float(table["UT1_UTC"][-1].to_value(u.s)))


def test_no_network_and_no_warning_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network use is forbidden in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    namespace: dict[str, Any] = {}
    exec(WORKLOAD, namespace)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert namespace["workload"]() == 14
    assert attempts == []


def test_no_network_and_no_warning_in_a_fresh_process(tmp_path: Path) -> None:
    """First import and first use in a new process, with an empty astropy cache and the network blocked."""
    script = textwrap.dedent("""
        import socket, sys, warnings
        attempts = []
        def refuse(*args, **kwargs):
            attempts.append(args)
            raise OSError("network use is forbidden in this test")
        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        warnings.simplefilter("error")
        import pyros.astro
    """) + WORKLOAD + textwrap.dedent("""
        count = workload()
        if attempts:
            sys.exit(f"network attempts: {attempts}")
        print("computations", count)
    """)
    env = child_env()
    for variable in ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        env[variable] = str(tmp_path / variable.lower())
        (tmp_path / variable.lower()).mkdir()
    result = subprocess.run([sys.executable, "-c", script], cwd=str(PROJECT_ROOT), env=env, capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "computations 14"
    astropy_cache = tmp_path / "xdg_cache_home" / "astropy"
    downloads = list(astropy_cache.rglob("contents")) if astropy_cache.exists() else []
    assert downloads == []


def test_instants_after_the_leap_second_horizon_do_not_warn() -> None:
    # ERFA calls UTC instants after the leap-second table's horizon "dubious"; pyros.astro
    # converts them assuming no new leap second, silently, even under an "error" filter.
    sky = Sky.from_config(Config())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        night = sky.night(datetime(2030, 12, 31, 20, tzinfo=timezone.utc))
        twilights = sky.twilights(date(2030, 12, 31))
    assert night.start is not None and twilights.sunset is not None
    # The evening of 2030-12-31 at San Pedro Martir (local time UTC-7.7 h): 2031-01-01 UTC, in the UTC scale.
    assert night.start.scale == "utc" and sum(erfa.cal2jd(2031, 1, 1)) < night.start.jd < sum(erfa.cal2jd(2031, 1, 2))
    assert np.isfinite(sky.sun_altitude([1.9e9, 1.92e9])).all()
