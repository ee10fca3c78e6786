"""Unit tests of :mod:`pyros.config`: layers, coercion, validation and TOML output."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tempfile
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyros.clock import Clock
from pyros.config import (
    ACCESS_LEVELS,
    NON_CONFIG_ENV,
    AccessConfig,
    AstroConfig,
    BrokerConfig,
    ClockConfig,
    Config,
    HostConfig,
    ServiceConfig,
    SiteConfig,
    _coerce_text,
    config_to_toml,
    find_config_file,
    load_config,
)
from pyros.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "etc" / "pyros.toml"


@pytest.fixture(autouse=True)
def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run every test in an empty directory, so no etc/pyros.toml is picked up by accident."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def write(tmp_path: Path, text: str, name: str = "pyros.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(*args: Any, **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(*args, **kwargs)
    return str(info.value)


# ---------------------------------------------------------------------------- defaults and file resolution


def test_defaults_without_any_file() -> None:
    config = load_config(env={})
    assert config == Config()
    assert config.site.name == "PyROS simulated site"
    assert config.site.longitude_deg == -115.4637
    assert config.broker.endpoint == config.broker.bind == "tcp://127.0.0.1:5555"
    assert (config.broker.heartbeat_interval, config.broker.heartbeat_liveness) == (2.5, 3)
    assert (config.broker.service_timeout, config.broker.retry_cap, config.broker.max_queue) == (5.0, 3, 10000)
    assert (config.client.timeout, config.client.retries) == (10.0, 2)
    assert config.database.url == "sqlite:///var/pyros.db"
    assert config.clock == ClockConfig(mode="real", start=None, speed=1.0, anchor=None)
    assert config.access == AccessConfig(default_level="observer", tokens={}, names={})
    assert config.hosts == {}
    assert ACCESS_LEVELS == ("observer", "operator", "admin")


def test_example_config_loads() -> None:
    config = load_config(EXAMPLE, env={})
    assert config.hosts["control"].services["echo"] == ServiceConfig(class_="servers.echo:EchoService")
    assert config.access.default_level == "observer"
    assert "admin" in config.access.tokens.values()
    assert config.clock.mode == "real"
    assert not Clock.from_config(config.clock).is_simulated
    assert config.site.latitude_deg == pytest.approx(31.04, abs=0.01)
    assert config.access.policy().principal_for("change-me-majordome-token") == "majordome"


def test_access_names_are_checked_when_the_policy_is_made(tmp_path: Path) -> None:
    file = tmp_path / "site.toml"
    file.write_text('[access.tokens]\nt1 = "admin"\n[access.names]\nt2 = "majordome"\n')
    config = load_config(file, env={})
    with pytest.raises(ConfigError, match="access.names: .*token that has no level"):
        config.access.policy()


def test_example_simulated_clock_block_is_valid(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    clock_section = re.search(r"^\[clock\]\n(.*?)^\[", text, flags=re.S | re.M)
    assert clock_section is not None
    body = clock_section.group(1)
    simulated = re.sub(r"^# (\w+ = )", r"\1", body.replace('mode = "real"\n', ""), flags=re.M)
    config = load_config(write(tmp_path, text.replace(body, simulated)), env={})
    assert config.clock.mode == "simulated" and config.clock.speed == 100.0
    clock = Clock.from_config(config.clock)
    assert clock.is_simulated and clock.start == datetime(2024, 6, 1, 3, tzinfo=timezone.utc).timestamp()


def test_file_in_current_directory_is_found(empty_cwd: Path) -> None:
    (empty_cwd / "etc").mkdir()
    (empty_cwd / "etc" / "pyros.toml").write_text('[site]\nname = "here"\n', encoding="utf-8")
    assert find_config_file(env={}) == Path("etc/pyros.toml")
    assert load_config(env={}).site.name == "here"


def test_pyros_config_env_beats_current_directory(empty_cwd: Path, tmp_path: Path) -> None:
    (empty_cwd / "etc").mkdir()
    (empty_cwd / "etc" / "pyros.toml").write_text('[site]\nname = "here"\n', encoding="utf-8")
    other = write(tmp_path, '[site]\nname = "there"\n')
    env = {"PYROS_CONFIG": str(other)}
    assert find_config_file(env=env) == other
    assert load_config(env=env).site.name == "there"
    explicit = write(tmp_path, '[site]\nname = "explicit"\n', "explicit.toml")
    assert load_config(explicit, env=env).site.name == "explicit"
    assert load_config(str(explicit), env=env).site.name == "explicit"


def test_no_file_means_none() -> None:
    assert find_config_file(env={}) is None


def test_missing_explicit_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert config_error(missing, env={}) == f"config file {missing} not found (from argument)"


def test_missing_pyros_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert config_error(env={"PYROS_CONFIG": str(missing)}) == f"config file {missing} not found (from PYROS_CONFIG)"


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[broker\n")
    message = config_error(path, env={})
    assert message.startswith(f"{path}: invalid TOML:")


def test_unreadable_file_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    path.write_bytes(b"\xff\xfe not utf-8")
    assert config_error(path, env={}).startswith(f"{path}: invalid TOML")


def test_uses_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PYROS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PYROS_CLIENT__RETRIES", "7")
    assert load_config().client.retries == 7
    monkeypatch.setenv("PYROS_CLIENT__RETRIES", "seven")
    assert config_error() == "client.retries: expected int, got str 'seven' (from PYROS_CLIENT__RETRIES)"


# ---------------------------------------------------------------------------- unknown keys and types from the file


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("colour = 1", "colour"),
        ("[broker]\nhearbeat_interval = 1.0", "broker.hearbeat_interval"),
        ("[site.extra]\nx = 1", "site.extra"),
        ('[hosts.control.services.echo]\nclass = "a:B"\nklass = "a:B"', "hosts.control.services.echo.klass"),
        ("[hosts.control]\nservice = {}", "hosts.control.service"),
        ("[access]\ntoken = {}", "access.token"),
        ('[clock]\nmode = "real"\nstep = 1', "clock.step"),
        ('[hosts.control.services.echo]\nclass_ = "a:B"', "hosts.control.services.echo.class_"),
    ],
)
def test_unknown_keys_in_file(tmp_path: Path, text: str, path: str) -> None:
    file = write(tmp_path, text)
    assert config_error(file, env={}) == f"{path}: unknown key (from {file})"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[site]\nname = 5", "site.name: expected str, got int 5"),
        ('[site]\nlatitude_deg = "north"', "site.latitude_deg: expected float, got str 'north'"),
        ("[site]\nlatitude_deg = true", "site.latitude_deg: expected float, got bool True"),
        ("[site]\nelevation_m = nan", "site.elevation_m: expected a finite float, got float nan"),
        ("[broker]\nheartbeat_liveness = 3.0", "broker.heartbeat_liveness: expected int, got float 3.0"),
        ("[broker]\nretry_cap = false", "broker.retry_cap: expected int, got bool False"),
        ("[broker]\nbind = [1, 2]", "broker.bind: expected str, got array [1, 2]"),
        ("broker = 5", "broker: expected table, got int 5"),
        ("hosts = []", "hosts: expected table, got array []"),
        ("[hosts]\ncontrol = 1", "hosts.control: expected table, got int 1"),
        ("[hosts.control]\nservices = 1", "hosts.control.services: expected table, got int 1"),
        ('[hosts.control.services]\necho = "x"', "hosts.control.services.echo: expected table, got str 'x'"),
        ('[hosts.h.services.s]\nclass = "a:B"\nargs = 1', "hosts.h.services.s.args: expected table, got int 1"),
        (
            '[hosts.h.services.s]\nclass = "a:B"\ninstance = 2',
            "hosts.h.services.s.instance: expected str or None, got int 2",
        ),
        ('[clock]\nmode = "fast"', "clock.mode: expected one of 'real', 'simulated', got str 'fast'"),
        ("[clock]\nmode = 1", "clock.mode: expected one of 'real', 'simulated', got int 1"),
        ("[clock]\nanchor = true", "clock.anchor: expected float or str or None, got bool True"),
        (
            '[access]\ndefault_level = "root"',
            "access.default_level: expected one of 'observer', 'operator', 'admin', got str 'root'",
        ),
        (
            '[access.tokens]\nabc = "god"',
            "access.tokens.abc: expected one of 'observer', 'operator', 'admin', got str 'god'",
        ),
        ("[access]\ntokens = []", "access.tokens: expected table, got array []"),
    ],
)
def test_ill_typed_values_in_file(tmp_path: Path, text: str, message: str) -> None:
    file = write(tmp_path, text)
    assert config_error(file, env={}) == f"{message} (from {file})"


def test_long_values_are_shortened_in_messages(tmp_path: Path) -> None:
    file = write(tmp_path, f'[broker]\nretry_cap = "{"x" * 200}"')
    message = config_error(file, env={})
    assert message.startswith("broker.retry_cap: expected int, got str 'xxx")
    assert "..." in message and len(message) < 200


# ---------------------------------------------------------------------------- range checks


@pytest.mark.parametrize(
    ("section", "key", "value", "problem"),
    [
        ("site", "name", '" "', "must not be empty"),
        ("site", "longitude_deg", "180.5", "must be between -180 and 180, got 180.5"),
        ("site", "latitude_deg", "-91", "must be between -90 and 90, got -91.0"),
        ("site", "elevation_m", "20000", "must be between -500 and 10000, got 20000.0"),
        (
            "broker",
            "endpoint",
            '"localhost:5555"',
            "expected a ZeroMQ endpoint 'transport://address', got 'localhost:5555'",
        ),
        ("broker", "bind", '""', "expected a ZeroMQ endpoint"),
        ("broker", "heartbeat_interval", "0", "must be > 0, got 0.0"),
        ("broker", "heartbeat_interval", "-2.5", "must be > 0, got -2.5"),
        ("broker", "heartbeat_liveness", "0", "must be >= 1, got 0"),
        ("broker", "service_timeout", "0.0", "must be > 0, got 0.0"),
        ("broker", "retry_cap", "-1", "must be >= 0, got -1"),
        ("broker", "max_queue", "0", "must be >= 1, got 0"),
        ("client", "timeout", "0", "must be > 0, got 0.0"),
        ("client", "retries", "-1", "must be >= 0, got -1"),
        ("database", "url", '""', "must not be empty"),
    ],
)
def test_range_checks(tmp_path: Path, section: str, key: str, value: str, problem: str) -> None:
    file = write(tmp_path, f"[{section}]\n{key} = {value}")
    message = config_error(file, env={})
    assert message.startswith(f"{section}.{key}: {problem}")
    assert message.endswith(f"(from {file})")


def test_zero_retry_cap_is_allowed(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "[broker]\nretry_cap = 0"), env={}).broker.retry_cap == 0


@pytest.mark.parametrize(
    "bad", ["servers.echo.EchoService", "servers.echo:", ":Echo", "servers echo:Echo", "1mod:Echo", "a:B:C"]
)
def test_class_must_be_module_colon_name(tmp_path: Path, bad: str) -> None:
    file = write(tmp_path, f'[hosts.control.services.echo]\nclass = "{bad}"')
    assert config_error(file, env={}) == (
        f"hosts.control.services.echo.class: expected 'module.path:ClassName', got {bad!r} (from {file})"
    )


@pytest.mark.parametrize("good", ["servers.echo:EchoService", "m:C", "pkg.mod:Outer.Inner", "_p.q_1:_C2"])
def test_class_forms_accepted(tmp_path: Path, good: str) -> None:
    file = write(tmp_path, f'[hosts.control.services.echo]\nclass = "{good}"')
    assert load_config(file, env={}).hosts["control"].services["echo"].class_ == good


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("hosts.c.services.s.class", "servers.echo:EchoService\n"),
        ("hosts.c.services.s.instance", "a\n"),
        ("broker.bind", "tcp://127.0.0.1:5555\n"),
    ],
)
def test_trailing_newlines_are_not_accepted(key: str, value: str) -> None:
    overrides = {"hosts.c.services.s.class": "servers.echo:EchoService", key: value}
    assert config_error(env={}, overrides=overrides).startswith(f"{key}: expected ")


def test_missing_class(tmp_path: Path) -> None:
    file = write(tmp_path, '[hosts.control.services.echo]\ninstance = "a"')
    assert config_error(file, env={}) == (f"hosts.control.services.echo: give exactly one of 'class' (a Service) "
                                          f"and 'command' (pyros arguments) (from {file})")


def test_class_and_command_are_exclusive_and_command_not_empty(tmp_path: Path) -> None:
    both = write(tmp_path, '[hosts.control.services.kv]\nclass = "a:B"\ncommand = ["kv"]')
    assert "give exactly one of 'class'" in config_error(both, env={})
    empty = write(tmp_path, '[hosts.control.services.kv]\ncommand = []')
    assert config_error(empty, env={}).startswith("hosts.control.services.kv.command: must not be empty")
    good = write(tmp_path, '[hosts.control.services.kv]\ncommand = ["kv", "-v"]')
    assert load_config(good, env={}).hosts["control"].services["kv"].command == ["kv", "-v"]


@pytest.mark.parametrize("bad", ["a.b", "two words", ""])
def test_instance_names(tmp_path: Path, bad: str) -> None:
    file = write(tmp_path, f'[hosts.control.services.echo]\nclass = "a:B"\ninstance = "{bad}"')
    message = config_error(file, env={})
    assert message.startswith("hosts.control.services.echo.instance: expected letters, digits")


def test_reserved_service_names(tmp_path: Path) -> None:
    file = write(tmp_path, '[hosts.control.services."mmi.service"]\nclass = "a:B"')
    assert config_error(file, env={}) == (
        f"hosts.control.services.mmi.service: service names 'mmi.*' are reserved for the broker (from {file})"
    )


def test_empty_table_keys_are_refused(tmp_path: Path) -> None:
    file = write(tmp_path, '[access.tokens]\n"" = "admin"')
    assert config_error(file, env={}) == f"access.tokens: table keys must be non-empty str, got str '' (from {file})"


# ---------------------------------------------------------------------------- clock section


def test_simulated_clock_from_file(tmp_path: Path) -> None:
    file = write(
        tmp_path,
        '[clock]\nmode = "simulated"\nstart = "2024-06-01T03:00:00Z"\nspeed = 10\nanchor = "2024-06-01T00:00:00Z"',
    )
    clock_cfg = load_config(file, env={}).clock
    assert clock_cfg == ClockConfig("simulated", "2024-06-01T03:00:00Z", 10.0, "2024-06-01T00:00:00Z")
    clock = Clock.from_config(clock_cfg, wall=lambda: datetime(2024, 6, 1, tzinfo=timezone.utc).timestamp())
    assert clock.isoformat() == "2024-06-01T03:00:00Z"


def test_toml_offset_datetimes_become_iso_text(tmp_path: Path) -> None:
    file = write(
        tmp_path, '[clock]\nmode = "simulated"\nstart = 2024-06-01T05:00:00+02:00\nanchor = 2024-06-01T00:00:00Z'
    )
    clock_cfg = load_config(file, env={}).clock
    assert clock_cfg.start == "2024-06-01T03:00:00Z"
    assert clock_cfg.anchor == "2024-06-01T00:00:00Z"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            "start = 2024-06-01T03:00:00",
            "clock.start: 2024-06-01T03:00:00 has no time zone offset (append 'Z' for UTC)",
        ),
        ("start = 2024-06-01", "clock.start: 2024-06-01 has no time zone offset (append 'Z' for UTC)"),
        (
            'start = "2024-06-01T03:00:00Z"\nanchor = 03:00:00',
            "clock.anchor: 03:00:00 has no time zone offset (append 'Z' for UTC)",
        ),
        ('start = "soon"', "clock.start: invalid instant 'soon': not UNIX seconds nor an ISO 8601 date and time"),
        (
            'start = "2024-06-01T03:00:00"',
            "clock.start: invalid instant '2024-06-01T03:00:00': ISO 8601 time has no offset",
        ),
        ('start = "2024-06-01T03:00:00Z"\nanchor = inf', "clock.anchor: expected float or str or None, got float inf"),
        ('start = "2024-06-01T03:00:00Z"\nspeed = 0', "clock.speed: must be > 0, got 0.0"),
    ],
)
def test_bad_clock_values(tmp_path: Path, lines: str, message: str) -> None:
    file = write(tmp_path, f'[clock]\nmode = "simulated"\n{lines}')
    text = config_error(file, env={})
    assert text.startswith(message)
    assert text.endswith(f"(from {file})")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ('mode = "real"\nspeed = 2.0', "clock.speed: must be 1.0 when clock.mode is 'real', got 2.0"),
        ('mode = "real"\nstart = "2024-06-01T03:00:00Z"', "clock.start: must be absent when clock.mode is 'real'"),
        ('mode = "real"\nanchor = 1.0', "clock.anchor: must be absent when clock.mode is 'real'"),
        ('mode = "simulated"\nspeed = 2.0', "clock.start: required when clock.mode is 'simulated'"),
    ],
)
def test_clock_mode_consistency(tmp_path: Path, lines: str, message: str) -> None:
    file = write(tmp_path, f"[clock]\n{lines}")
    assert config_error(file, env={}) == f"{message} (from {file})"


def test_clock_consistency_names_the_env_source() -> None:
    message = config_error(env={"PYROS_CLOCK__MODE": "simulated"})
    assert message == "clock.start: required when clock.mode is 'simulated' (from PYROS_CLOCK__MODE)"


def test_clock_to_config_goes_through_env_to_an_equal_clock() -> None:
    original = Clock.simulated("2024-06-01T03:00:00.5Z", 60.0, 1_800_000_000.25, wall=lambda: 1_800_000_100.0)
    env = {f"PYROS_CLOCK__{key.upper()}": str(value) for key, value in original.to_config().items()}
    clock_cfg = load_config(env=env).clock
    assert clock_cfg.anchor == 1_800_000_000.25  # numeric text became a float
    rebuilt = Clock.from_config(clock_cfg, wall=lambda: 1_800_000_100.0)
    assert rebuilt.now() == original.now()


# ---------------------------------------------------------------------------- environment


def test_env_coerces_to_field_types() -> None:
    env = {
        "PYROS_BROKER__HEARTBEAT_INTERVAL": "1.0",
        "PYROS_BROKER__HEARTBEAT_LIVENESS": " 5 ",
        "PYROS_BROKER__BIND": "tcp://*:6000",
        "PYROS_SITE__LONGITUDE_DEG": "-70",
        "PYROS_ACCESS__DEFAULT_LEVEL": "operator",
        "PYROS_ACCESS__TOKENS": '{ "Secret-1" = "admin", other = "observer" }',
        "PYROS_HOSTS__FIELD__SERVICES__DOME__CLASS": "devices.dome:DomeServer",
        "PYROS_HOSTS__FIELD__SERVICES__DOME__INSTANCE": "",
        "PYROS_HOSTS__FIELD__SERVICES__DOME__ARGS__DRIVER": "sim",
        "PYROS_HOSTS__FIELD__SERVICES__DOME__ARGS__RATE": "2.5",
        "PYROS_HOSTS__FIELD__SERVICES__DOME__ARGS__FAULTS": '["stuck", "slow"]',
        "PYROS_HOSTS__FIELD__SERVICES__DOME__ARGS__VERBOSE": "true",
        "PYROS_HOSTS__FIELD__SERVICES__DOME__ARGS__LIMITS": "{ low = 0, high = 360 }",
        "PYROS_HOSTS__FIELD__SERVICES__DOME__ARGS__MOTTO": "not [valid toml",
        "HOME": "/root",
        "pyros_lowercase": "ignored",
    }
    config = load_config(env=env)
    assert config.broker.heartbeat_interval == 1.0 and isinstance(config.broker.heartbeat_interval, float)
    assert config.broker.heartbeat_liveness == 5
    assert config.broker.bind == "tcp://*:6000"
    assert config.site.longitude_deg == -70.0
    assert config.access.default_level == "operator"
    assert config.access.tokens == {"Secret-1": "admin", "other": "observer"}
    dome = config.hosts["field"].services["dome"]
    assert dome == ServiceConfig(
        class_="devices.dome:DomeServer",
        instance=None,
        args={
            "driver": "sim",
            "rate": 2.5,
            "faults": ["stuck", "slow"],
            "verbose": True,
            "limits": {"low": 0, "high": 360},
            "motto": "not [valid toml",
        },
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("No", False),
        (" off ", False),
    ],
)
def test_bool_coercion(text: str, expected: bool) -> None:
    assert _coerce_text(text, bool) is expected


def test_bool_coercion_rejects_other_text() -> None:
    with pytest.raises(ValueError, match="maybe"):
        _coerce_text("maybe", bool)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PYROS_BROKER__HEARTBEAT_INTERVAL", "fast", "broker.heartbeat_interval: expected float, got str 'fast'"),
        ("PYROS_BROKER__HEARTBEAT_LIVENESS", "1.5", "broker.heartbeat_liveness: expected int, got str '1.5'"),
        ("PYROS_BROKER__HEARTBEAT_LIVENESS", "0", "broker.heartbeat_liveness: must be >= 1, got 0"),
        ("PYROS_BROKER__HEARTBEAT_INTERVAL", "0", "broker.heartbeat_interval: must be > 0, got 0.0"),
        (
            "PYROS_BROKER__HEARTBEAT_INTERVAL",
            "nan",
            "broker.heartbeat_interval: expected a finite float, got float nan",
        ),
        (
            "PYROS_ACCESS__DEFAULT_LEVEL",
            "root",
            "access.default_level: expected one of 'observer', 'operator', 'admin', got str 'root'",
        ),
        ("PYROS_ACCESS__TOKENS", "abc", "access.tokens: expected table, got str 'abc'"),
        ("PYROS_ACCESS__TOKENS", "[1]", "access.tokens: expected table, got array [1]"),
        (
            "PYROS_ACCESS__TOKENS__ABC",
            "god",
            "access.tokens.abc: expected one of 'observer', 'operator', 'admin', got str 'god'",
        ),
        ("PYROS_BROKER", "5", "broker: expected table, got int 5"),
        ("PYROS_BROKER", "{ bind = 5 }", "broker.bind: expected str, got int 5"),
        (
            "PYROS_HOSTS__CONTROL__SERVICES__ECHO__CLASS",
            "x.y",
            "hosts.control.services.echo.class: expected 'module.path:ClassName', got 'x.y'",
        ),
        (
            "PYROS_HOSTS__CONTROL__SERVICES__ECHO__INSTANCE",
            "a",
            "hosts.control.services.echo: give exactly one of 'class' (a Service) and 'command' (pyros arguments)",
        ),
        ("PYROS_CLOCK__ANCHOR", "whenever", "clock.anchor: invalid instant 'whenever'"),
        ("PYROS_BROKER__HEARBEAT_INTERVAL", "1", "broker.hearbeat_interval: unknown key"),
        ("PYROS_FOO", "1", "foo: unknown key"),
        ("PYROS_SITE__NAME__FIRST", "x", "site.name.first: unknown key"),
        ("PYROS_HOSTS__CONTROL__SERVICES__ECHO__CLASS__X", "x", "hosts.control.services.echo.class.x: unknown key"),
    ],
)
def test_env_errors_name_path_and_variable(name: str, value: str, message: str) -> None:
    text = config_error(env={name: value})
    assert text.startswith(message)
    assert text.endswith(f"(from {name})")


@pytest.mark.parametrize("name", ["PYROS_", "PYROS_BROKER____BIND", "PYROS_BROKER__", "PYROS___BROKER"])
def test_env_names_with_empty_segments(name: str) -> None:
    assert (
        config_error(env={name: "x"}) == f"{name}: empty name segment in environment variable (use '__' between keys)"
    )


def test_non_config_env_is_ignored(tmp_path: Path) -> None:
    assert {"PYROS_CONFIG", "PYROS_REQUIRE_ALL"} <= NON_CONFIG_ENV
    file = write(tmp_path, "[client]\nretries = 9")
    config = load_config(env={"PYROS_CONFIG": str(file), "PYROS_REQUIRE_ALL": "1"})
    assert config.client.retries == 9


def test_env_unknown_key_is_blamed_on_the_variable_not_the_file(tmp_path: Path) -> None:
    file = write(tmp_path, "[broker]\nheartbeat_interval = 1.0")
    message = config_error(file, env={"PYROS_BROKER__HEARBEAT_INTERVAL": "2"})
    assert message == "broker.hearbeat_interval: unknown key (from PYROS_BROKER__HEARBEAT_INTERVAL)"


def test_env_through_a_non_table_blames_the_file(tmp_path: Path) -> None:
    file = write(tmp_path, "site = 5")
    assert config_error(file, env={"PYROS_SITE__NAME": "x"}) == f"site: expected table, got int 5 (from {file})"


def test_env_table_value_replaces_and_key_value_adds(tmp_path: Path) -> None:
    file = write(tmp_path, '[access.tokens]\nfrom-file = "admin"')
    added = load_config(file, env={"PYROS_ACCESS__TOKENS__NEW": "operator"})
    assert added.access.tokens == {"from-file": "admin", "new": "operator"}
    replaced = load_config(file, env={"PYROS_ACCESS__TOKENS": '{ only = "observer" }'})
    assert replaced.access.tokens == {"only": "observer"}


def test_file_values_keep_file_source_next_to_env_values(tmp_path: Path) -> None:
    file = write(tmp_path, "[broker]\nretry_cap = -1")
    message = config_error(file, env={"PYROS_BROKER__HEARTBEAT_INTERVAL": "1.0"})
    assert message == f"broker.retry_cap: must be >= 0, got -1 (from {file})"


# ---------------------------------------------------------------------------- overrides and precedence


def test_precedence_file_env_override(tmp_path: Path) -> None:
    file = write(tmp_path, "[broker]\nheartbeat_interval = 1.0\nretry_cap = 1")
    env = {"PYROS_BROKER__HEARTBEAT_INTERVAL": "2.0"}
    assert load_config(file, env={}).broker.heartbeat_interval == 1.0
    assert load_config(file, env=env).broker.heartbeat_interval == 2.0
    both = load_config(file, env=env, overrides={"broker.heartbeat_interval": 3.0})
    assert both.broker.heartbeat_interval == 3.0
    assert both.broker.retry_cap == 1  # untouched values survive from lower layers


def test_override_strings_are_coerced() -> None:
    config = load_config(
        env={},
        overrides={
            "broker.heartbeat_liveness": "4",
            "broker.bind": "tcp://*:7000",
            "hosts.control.services.echo.class": "servers.echo:EchoService",
            "hosts.control.services.echo.args.delay": "0.5",
            "hosts.control.services.echo.args.label": "hello",
        },
    )
    assert config.broker.heartbeat_liveness == 4
    assert config.broker.bind == "tcp://*:7000"
    assert config.hosts["control"].services["echo"].args == {"delay": 0.5, "label": "hello"}


def test_override_typed_values() -> None:
    config = load_config(
        env={},
        overrides={
            "client.timeout": 2,
            "hosts": {"control": {"services": {"echo": {"class": "servers.echo:EchoService", "args": {"n": (1, 2)}}}}},
        },
    )
    assert config.client.timeout == 2.0 and isinstance(config.client.timeout, float)
    assert config.hosts["control"].services["echo"].args == {"n": [1, 2]}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"broker.heartbeat_interval": "fast"},
            "broker.heartbeat_interval: expected float, got str 'fast' (from override)",
        ),
        ({"broker.heartbeat_liveness": 2.0}, "broker.heartbeat_liveness: expected int, got float 2.0 (from override)"),
        ({"broker.retry_cap": True}, "broker.retry_cap: expected int, got bool True (from override)"),
        ({"broker.bind": 5555}, "broker.bind: expected str, got int 5555 (from override)"),
        ({"broker.hearbeat_interval": 1.0}, "broker.hearbeat_interval: unknown key (from override)"),
        ({"bogus": 1}, "bogus: unknown key (from override)"),
        ({"broker..bind": "x"}, "broker..bind: empty name segment in dotted path (from override)"),
        ({1: "x"}, "1: override keys must be dotted paths (str) (from override)"),
        (
            {"access": {"tokens": {"t": "root"}}},
            "access.tokens.t: expected one of 'observer', 'operator', 'admin', got str 'root' (from override)",
        ),
        (
            {"hosts.c.services.s": {"class": "a:B", "args": {"x": None}}},
            "hosts.c.services.s.args.x: expected a TOML value (str, int, float, bool, date/time, array, table), "
            "got NoneType None (from override)",
        ),
        (
            {"hosts.c.services.s": {"class": "a:B", "args": {"x": {1: 2}}}},
            "hosts.c.services.s.args.x: table keys must be str, got int 1 (from override)",
        ),
        (
            {"hosts.c.services.s": {"class": "a:B", "args": {"big": 2**64}}},
            "hosts.c.services.s.args.big: integer 18446744073709551616 does not fit in 64 bits (from override)",
        ),
        ({"access.tokens": {7: "admin"}}, "access.tokens: table keys must be non-empty str, got int 7 (from override)"),
        ({"site": {"name": "x", 3: 1}}, "site.3: unknown key (from override)"),
    ],
)
def test_override_errors(overrides: dict[Any, Any], message: str) -> None:
    assert config_error(env={}, overrides=overrides) == message


def test_override_section_replaces_lower_layers(tmp_path: Path) -> None:
    file = write(tmp_path, "[broker]\nretry_cap = 1\nmax_queue = 10")
    config = load_config(file, env={}, overrides={"broker": {"retry_cap": 2}})
    assert config.broker == BrokerConfig(retry_cap=2)


# ---------------------------------------------------------------------------- output


def test_to_dict_is_plain_and_spells_class() -> None:
    config = Config(
        hosts={
            "control": HostConfig(services={"echo": ServiceConfig(class_="servers.echo:EchoService", args={"a": [1]})})
        }
    )
    plain = config.to_dict()
    assert plain["hosts"] == {
        "control": {"services": {"echo": {"class": "servers.echo:EchoService", "args": {"a": [1]}}}}
    }
    assert plain["clock"] == {"mode": "real", "speed": 1.0}  # None values are left out
    assert set(plain) == {"site", "astro", "broker", "client", "kv", "database", "clock", "access", "hosts"}
    plain["hosts"]["control"]["services"]["echo"]["args"]["a"].append(2)
    assert config.hosts["control"].services["echo"].args == {"a": [1]}  # a copy, not a view


def round_trip(config: Config) -> Config:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "shown.toml"
        path.write_text(config_to_toml(config), encoding="utf-8")
        return load_config(path, env={})


def test_round_trip_of_defaults_and_example() -> None:
    assert round_trip(Config()) == Config()
    example = load_config(EXAMPLE, env={})
    assert round_trip(example) == example


def test_round_trip_of_a_busy_config() -> None:
    config = Config(
        site=SiteConfig(
            name='Obs "quoted"\tname\nwith ünïcode \\ and \x01 \x7f', longitude_deg=1e-7, latitude_deg=-0.0
        ),
        broker=BrokerConfig(heartbeat_interval=1e-3, max_queue=2**40),
        clock=ClockConfig(mode="simulated", start="2024-06-01T03:00:00Z", speed=123.456, anchor=1_800_000_000.123),
        access=AccessConfig(
            default_level="admin", tokens={"with space": "operator", "plain": "admin", "a.b": "observer"}
        ),
        hosts={
            "control": HostConfig(services={}),
            "field-1": HostConfig(
                services={
                    "cam_vis": ServiceConfig(
                        class_="devices.camera:CameraServer",
                        instance="a",
                        args={
                            "driver": "sim",
                            "gain": 1.5e20,
                            "offsets": [1, -2, 3.5, "x", True, [], {}],
                            "table": {"nested": {"deep": [{"k": "v"}, {"n": 1}]}, "empty": {}, "": "empty key"},
                            "when": datetime(2024, 6, 1, 3, tzinfo=timezone.utc),
                            "local": datetime(2024, 6, 1, 3, 30, 15, 250000),
                            "day": date(2024, 6, 1),
                            "at": time(12, 30, 0, 5),
                            "inf": math.inf,
                            "neg_inf": -math.inf,
                            "odd key": 1,
                        },
                    )
                }
            ),
        },
    )
    assert round_trip(config) == config


def test_config_to_toml_shape() -> None:
    text = config_to_toml(load_config(EXAMPLE, env={}))
    assert '[hosts.control.services.echo]\nclass = "servers.echo:EchoService"' in text
    assert "[broker]\nendpoint = " in text
    assert text.endswith("\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"x": None}, "cannot write NoneType None as TOML"),
        ({"x": 2**64}, "does not fit"),
        ({"x": {1, 2}}, "cannot write set"),
    ],
)
def test_config_to_toml_refuses_unrepresentable_values(args: dict[str, Any], message: str) -> None:
    config = Config(hosts={"h": HostConfig(services={"s": ServiceConfig(class_="a:B", args={"v": [args["x"]]})})})
    with pytest.raises(ValueError, match=message):
        config_to_toml(config)


toml_scalars = (
    st.text(max_size=20)
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.booleans()
    | st.dates()
    | st.datetimes()
    | st.datetimes(timezones=st.just(timezone.utc))
    | st.times()
)
toml_values = st.recursive(
    toml_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(
    args=st.dictionaries(st.text(min_size=1, max_size=10), toml_values, max_size=5),
    name=st.text(min_size=1, max_size=30).filter(str.strip),
)
@settings(max_examples=300)
def test_round_trip_of_arbitrary_args(args: dict[str, Any], name: str) -> None:
    config = Config(
        site=SiteConfig(name=name),
        hosts={"h": HostConfig(services={"s": ServiceConfig(class_="m:C", args=args)})},
    )
    assert round_trip(config) == config


def test_config_objects_are_frozen() -> None:
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.broker = BrokerConfig()  # type: ignore[misc]


# ---------------------------------------------------------------------------- [astro]


def test_astro_defaults_and_example() -> None:
    assert load_config(env={}).astro == AstroConfig(night_sun_altitude_deg=-12.0)
    assert load_config(EXAMPLE, env={}).astro.night_sun_altitude_deg == -12.0


@pytest.mark.parametrize("value", ["-18", "-18.0", "-6.5", "0", "-0.0"])
def test_astro_night_altitude_bounds_are_accepted(tmp_path: Path, value: str) -> None:
    config = load_config(write(tmp_path, f"[astro]\nnight_sun_altitude_deg = {value}"), env={})
    assert config.astro.night_sun_altitude_deg == float(value)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("-18.5", "must be between -18 and 0, got -18.5"),
        ("0.5", "must be between -18 and 0, got 0.5"),
        ("-90", "must be between -18 and 0, got -90.0"),
        ("nan", "expected a finite float, got float nan"),
        ('"dark"', "expected float, got str 'dark'"),
    ],
)
def test_astro_night_altitude_out_of_range(tmp_path: Path, value: str, problem: str) -> None:
    file = write(tmp_path, f"[astro]\nnight_sun_altitude_deg = {value}")
    message = config_error(file, env={})
    assert message.startswith(f"astro.night_sun_altitude_deg: {problem}")
    assert message.endswith(f"(from {file})")


def test_astro_from_environment_and_unknown_key(tmp_path: Path) -> None:
    config = load_config(env={"PYROS_ASTRO__NIGHT_SUN_ALTITUDE_DEG": "-15"})
    assert config.astro.night_sun_altitude_deg == -15.0
    message = config_error(env={"PYROS_ASTRO__NIGHT_SUN_ALTITUDE_DEG": "1"})
    assert message == "astro.night_sun_altitude_deg: must be between -18 and 0, got 1.0 " \
                      "(from PYROS_ASTRO__NIGHT_SUN_ALTITUDE_DEG)"
    assert "astro.twilight: unknown key" in config_error(write(tmp_path, "[astro]\ntwilight = -6"), env={})


def test_astro_round_trips_through_toml() -> None:
    config = Config(astro=AstroConfig(night_sun_altitude_deg=-17.25))
    assert "[astro]\nnight_sun_altitude_deg = -17.25" in config_to_toml(config)
    assert round_trip(config) == config


def test_every_service_of_the_example_config_can_be_built() -> None:
    """What `make run` starts: each configured class, with its arguments, constructs (a typo fails here)."""
    from pyros.serve import load_class

    config = load_config(EXAMPLE, env={})
    built = []
    for name, service in config.hosts["control"].services.items():
        if service.class_ is None:
            continue
        instance = load_class(str(service.class_))(**service.args)
        built.append(name)
        database = getattr(instance, "database", None)
        if database is not None:
            database.dispose()
    assert {"echo", "requests", "dome", "telescope", "fw_vis", "fw_nir"} <= set(built)
