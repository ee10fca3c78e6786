"""Typed PyROS configuration (ARCHITECTURE.md section 6).

The configuration is merged from three layers, each overriding the one
before it:

1. a TOML file read with :mod:`tomllib`: the explicit ``path`` given to
   :func:`load_config`, else the file named by ``PYROS_CONFIG``, else
   ``etc/pyros.toml`` in the current directory, else built-in defaults;
2. ``PYROS_*`` environment variables, ``__`` separating nesting levels
   (``PYROS_BROKER__HEARTBEAT_INTERVAL=1.0`` sets
   ``broker.heartbeat_interval``). Names are lower-cased, host and service
   names and token keys included; a token with capitals must be set as a
   whole table (``PYROS_ACCESS__TOKENS='{ "AbC" = "admin" }'``). Variables
   listed in :data:`NON_CONFIG_ENV` are not configuration; any other
   ``PYROS_*`` variable must name a configuration value;
3. overrides given as a mapping of dotted paths, typically command-line
   flags (``{"broker.bind": "tcp://*:5555"}``).

A value set by a layer replaces whatever the layers below had at that path
(so ``PYROS_ACCESS__TOKENS='{abc = "admin"}'`` replaces the whole token
table while ``PYROS_ACCESS__TOKENS__ABC=admin`` adds one token).

String values coming from the environment or from string overrides are
coerced to the type of their field: ``int``, ``float``, ``bool`` (``true``/
``false``/``1``/``0``/``yes``/``no``/``on``/``off``), ``str``; an empty
string gives ``None`` for optional fields; tables and lists are written as
TOML inline values. Inside the free-form ``args`` of a service, a string is
read as a TOML value when it is one (``0.5``, ``true``, ``[1, 2]``) and
kept as text otherwise.

The schema is a tree of frozen dataclasses. Any unknown key or ill-typed
value raises :class:`~pyros.errors.ConfigError` naming its full dotted path
and where it came from, for example::

    broker.hearbeat_interval: unknown key (from etc/pyros.toml)
    broker.heartbeat_interval: expected float, got str 'fast' (from PYROS_BROKER__HEARTBEAT_INTERVAL)

The objects are frozen; their ``dict`` members (host, service and token
tables, service ``args``) must be treated as read-only too. Only
:func:`load_config` validates: objects built directly (in tests, say) are
taken as given.

Cross-field rules: in ``real`` clock mode ``speed`` is 1.0 and ``start`` and
``anchor`` are absent; in ``simulated`` mode ``start`` is required. Service
names beginning with ``mmi.`` are reserved for the broker.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal, Union

from pyros.clock import format_instant, parse_instant
from pyros.errors import ConfigError

if typing.TYPE_CHECKING:
    from pyros.service.access import AccessPolicy

__all__ = [
    "ACCESS_LEVELS",
    "DEFAULT_CONFIG_PATH",
    "NON_CONFIG_ENV",
    "AccessConfig",
    "AstroConfig",
    "BrokerConfig",
    "ClientConfig",
    "ClockConfig",
    "Config",
    "DatabaseConfig",
    "HostConfig",
    "ServiceConfig",
    "SiteConfig",
    "config_to_toml",
    "find_config_file",
    "active_config",
    "load_config",
    "toml_text",
    "use_config",
]

ENV_PREFIX = "PYROS_"
"""Prefix of the environment variables read as configuration."""

NON_CONFIG_ENV: frozenset[str] = frozenset({"PYROS_CONFIG", "PYROS_REQUIRE_ALL", "PYROS_TEST_POSTGRES_URL"})
"""``PYROS_*`` environment variables that are not configuration values."""

DEFAULT_CONFIG_PATH = Path("etc") / "pyros.toml"
"""Configuration file looked for, relative to the current directory."""

ACCESS_LEVELS: tuple[str, ...] = ("observer", "operator", "admin")
"""Access levels, lowest first."""

AccessLevel = Literal["observer", "operator", "admin"]
ClockMode = Literal["real", "simulated"]

_CLASS_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_ENDPOINT_RE = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")
_BARE_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_INSTANCE_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})

Check = Callable[[Any], str | None]
"""A range check: returns an error message, or None if the value is fine."""


# ---------------------------------------------------------------------------- range checks


def _positive(value: float) -> str | None:
    return None if value > 0 else f"must be > 0, got {value!r}"


def _at_least(minimum: int) -> Check:
    def check(value: int) -> str | None:
        return None if value >= minimum else f"must be >= {minimum}, got {value!r}"

    return check


def _between(low: float, high: float) -> Check:
    def check(value: float) -> str | None:
        return None if low <= value <= high else f"must be between {low:g} and {high:g}, got {value!r}"

    return check


def _non_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _endpoint(value: str) -> str | None:
    return None if _ENDPOINT_RE.fullmatch(value) else f"expected a ZeroMQ endpoint 'transport://address', got {value!r}"


def _class_path(value: str) -> str | None:
    return None if _CLASS_RE.fullmatch(value) else f"expected 'module.path:ClassName', got {value!r}"


def _class_path_or_none(value: str | None) -> str | None:
    return None if value is None else _class_path(value)


def _instance_name(value: str | None) -> str | None:
    if value is None or _INSTANCE_RE.fullmatch(value):
        return None
    return f"expected letters, digits, '_' or '-' (no dots or spaces), got {value!r}"


def _instant(value: str | float | None) -> str | None:
    if value is None:
        return None
    try:
        parse_instant(value)
    except ValueError as exc:
        return str(exc)
    return None


def _meta(check: Check | None = None, key: str | None = None) -> dict[str, Any]:
    """Field metadata: an optional range check and the TOML key if not the field name."""
    meta: dict[str, Any] = {}
    if check is not None:
        meta["check"] = check
    if key is not None:
        meta["key"] = key
    return meta


# ---------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class SiteConfig:
    """Where the observatory is.

    The default is the Observatorio Astronómico Nacional at San Pedro Mártir,
    Baja California, Mexico (31°02'39" N, 115°27'49" W, 2830 m).

    Attributes:
        name: Human-readable site name.
        longitude_deg: Geodetic longitude in degrees, east positive.
        latitude_deg: Geodetic latitude in degrees, north positive.
        elevation_m: Height above sea level in metres.
    """

    name: str = field(default="PyROS simulated site", metadata=_meta(_non_empty))
    longitude_deg: float = field(default=-115.4637, metadata=_meta(_between(-180.0, 180.0)))
    latitude_deg: float = field(default=31.0442, metadata=_meta(_between(-90.0, 90.0)))
    elevation_m: float = field(default=2830.0, metadata=_meta(_between(-500.0, 10000.0)))


@dataclass(frozen=True)
class AstroConfig:
    """Astronomical conventions of the observatory (see :mod:`pyros.astro`).

    Attributes:
        night_sun_altitude_deg: Altitude of the Sun's centre, in degrees, below
            which it is night for the observatory: between -18 (end of
            astronomical twilight) and 0; the default -12 is the end of
            nautical twilight.
    """

    night_sun_altitude_deg: float = field(default=-12.0, metadata=_meta(_between(-18.0, 0.0)))


@dataclass(frozen=True)
class BrokerConfig:
    """The Majordomo broker and the heartbeat settings shared by all peers.

    Attributes:
        endpoint: Address clients and workers connect to.
        bind: Address the broker binds.
        heartbeat_interval: Seconds between heartbeats (> 0).
        heartbeat_liveness: Heartbeats missed before a peer is dead (>= 1).
        service_timeout: Seconds a request waits when its service has no
            worker before it gets a ``ServiceUnavailable`` reply (> 0).
        retry_cap: Requeues of a request whose worker died before the broker
            answers ``RetryExhausted`` (>= 0).
        max_queue: Requests queued per service (>= 1).
    """

    endpoint: str = field(default="tcp://127.0.0.1:5555", metadata=_meta(_endpoint))
    bind: str = field(default="tcp://127.0.0.1:5555", metadata=_meta(_endpoint))
    heartbeat_interval: float = field(default=2.5, metadata=_meta(_positive))
    heartbeat_liveness: int = field(default=3, metadata=_meta(_at_least(1)))
    service_timeout: float = field(default=5.0, metadata=_meta(_positive))
    retry_cap: int = field(default=3, metadata=_meta(_at_least(0)))
    max_queue: int = field(default=10000, metadata=_meta(_at_least(1)))


@dataclass(frozen=True)
class ClientConfig:
    """Defaults of the MDP client API.

    Attributes:
        timeout: Seconds to wait for a reply, per attempt (> 0).
        retries: Extra attempts after a timeout (>= 0).
    """

    timeout: float = field(default=10.0, metadata=_meta(_positive))
    retries: int = field(default=2, metadata=_meta(_at_least(0)))


@dataclass(frozen=True)
class KVConfig:
    """The Clone key/value server (12/CHP) beside the broker.

    Attributes:
        snapshot: ROUTER endpoint answering ICANHAZ? (snapshots).
        publisher: PUB endpoint of the updates.
        collector: PULL endpoint where services publish.
        hugz_interval: Seconds of silence after which the server sends HUGZ (> 0).
    """

    snapshot: str = field(default="tcp://127.0.0.1:5556", metadata=_meta(_endpoint))
    publisher: str = field(default="tcp://127.0.0.1:5557", metadata=_meta(_endpoint))
    collector: str = field(default="tcp://127.0.0.1:5558", metadata=_meta(_endpoint))
    hugz_interval: float = field(default=1.0, metadata=_meta(_positive))


@dataclass(frozen=True)
class DatabaseConfig:
    """The long-lived state store.

    Attributes:
        url: SQLAlchemy database URL.
    """

    url: str = field(default="sqlite:///var/pyros.db", metadata=_meta(_non_empty))


@dataclass(frozen=True)
class ClockConfig:
    """Observatory time (see :mod:`pyros.clock`).

    Attributes:
        mode: ``"real"`` (UTC) or ``"simulated"``.
        start: Observatory instant at the anchor, ISO 8601 with an offset
            (required in simulated mode, absent in real mode).
        speed: Observatory seconds per wall second (> 0; 1.0 in real mode).
        anchor: Wall instant (UNIX seconds or ISO 8601) at which simulated
            time equals ``start``; absent means "when the process starts"
            (the launcher writes it into the runtime config of its children).
    """

    mode: ClockMode = "real"
    start: str | None = field(default=None, metadata=_meta(_instant))
    speed: float = field(default=1.0, metadata=_meta(_positive))
    anchor: float | str | None = field(default=None, metadata=_meta(_instant))


@dataclass(frozen=True)
class AccessConfig:
    """Access levels granted to requests.

    Attributes:
        default_level: Level of a request without a token.
        tokens: Token → level.
        names: Token → principal name (who the token is, e.g. ``majordome``):
            the holder of a device's control lease and the name in audit logs.
            A token without a name is known by a digest of it.
    """

    default_level: AccessLevel = "observer"
    tokens: dict[str, AccessLevel] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def policy(self) -> AccessPolicy:
        """The access policy these settings describe.

        Raises:
            ConfigError: When a name is malformed, repeated, or given to a token without a level.
        """
        from pyros.service.access import AccessPolicy

        try:
            return AccessPolicy(self.tokens, self.default_level, self.names)
        except ValueError as exc:
            raise ConfigError(f"access.names: {exc}") from None


@dataclass(frozen=True)
class ServiceConfig:
    """One service a host's supervisor starts: a Service class, or a ``pyros`` command.

    Exactly one of ``class`` and ``command`` is given.

    Attributes:
        class_: ``"module.path:ClassName"`` of a :class:`pyros.service.Service`
            (TOML key ``class``), run with ``pyros serve``.
        command: Arguments of a ``pyros`` subcommand for processes that are not
            services, e.g. ``["broker"]``, ``["kv"]``, ``["titanic", "--database", "var/titanic.db"]``.
        instance: Instance name, when several instances of a service run.
        args: Keyword arguments of the class (free-form TOML values).
    """

    class_: str | None = field(default=None, metadata=_meta(_class_path_or_none, key="class"))
    command: list[str] | None = None
    instance: str | None = field(default=None, metadata=_meta(_instance_name))
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HostConfig:
    """What runs on one host.

    Attributes:
        services: Service name → service.
    """

    services: dict[str, ServiceConfig] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    """The whole PyROS configuration.

    Attributes:
        site: Observatory site.
        astro: Astronomical conventions (night definition).
        broker: Broker endpoints and heartbeat settings.
        client: Client API defaults.
        kv: Clone key/value server endpoints.
        database: Database URL.
        clock: Observatory time.
        access: Access levels.
        hosts: Host name → services to run there.
    """

    site: SiteConfig = field(default_factory=SiteConfig)
    astro: AstroConfig = field(default_factory=AstroConfig)
    broker: BrokerConfig = field(default_factory=BrokerConfig)
    client: ClientConfig = field(default_factory=ClientConfig)
    kv: KVConfig = field(default_factory=KVConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    clock: ClockConfig = field(default_factory=ClockConfig)
    access: AccessConfig = field(default_factory=AccessConfig)
    hosts: dict[str, HostConfig] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as plain nested dicts (TOML-compatible).

        ``None`` values are left out (TOML has no null) and
        :attr:`ServiceConfig.class_` is spelled ``class``; the result loads
        back to an equal :class:`Config`.
        """
        plain: dict[str, Any] = _plain(self)
        return plain


def _plain(value: Any) -> Any:
    """Turn schema objects into plain dicts and lists, dropping None members."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is not None:
                out[f.metadata.get("key", f.name)] = _plain(item)
        return out
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# ---------------------------------------------------------------------------- schema introspection

_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """Return the resolved type hints of a schema dataclass (cached)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _fields_by_key(cls: type) -> dict[str, dataclasses.Field[Any]]:
    """Map the TOML keys of a schema dataclass to its fields."""
    return {f.metadata.get("key", f.name): f for f in dataclasses.fields(cls)}


def _is_dict_type(tp: Any) -> bool:
    return typing.get_origin(tp) is dict


def _union_members(tp: Any) -> tuple[Any, ...] | None:
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        return typing.get_args(tp)
    return None


def _child_type(tp: Any, key: str) -> Any:
    """Return the type found under ``key`` in a value of type ``tp``, or None if none can be."""
    if tp is Any:
        return Any
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        f = _fields_by_key(tp).get(key)
        return None if f is None else _hints(tp)[f.name]
    if _is_dict_type(tp):
        return typing.get_args(tp)[1]
    return None


def _describe_type(tp: Any) -> str:
    """Name a schema type the way error messages do."""
    if tp is Any:
        return "a TOML value"
    if tp is type(None):
        return "None"
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return "table"
    if _is_dict_type(tp):
        return "table"
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    members = _union_members(tp)
    if members is not None:
        return " or ".join(_describe_type(m) for m in members)
    return getattr(tp, "__name__", str(tp))


def _describe_value(value: Any) -> str:
    """Describe a value for error messages: its type and a short repr."""
    kinds: dict[type, str] = {dict: "table", list: "array"}
    kind = kinds.get(type(value), type(value).__name__)
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{kind} {text}"


# ---------------------------------------------------------------------------- layering with sources

KeyPath = tuple[str, ...]


class _Layers:
    """The raw merged configuration tree and the source of every value in it."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}
        self.sources: dict[KeyPath, str] = {}

    def source_of(self, path: KeyPath) -> str:
        """Return the source of ``path`` or of its nearest ancestor that has one."""
        for end in range(len(path), 0, -1):
            found = self.sources.get(path[:end])
            if found is not None:
                return found
        return "built-in default"

    def error(self, path: KeyPath, message: str, source: str | None = None) -> ConfigError:
        """Return a ConfigError for ``path`` naming ``source`` (default: where its value came from)."""
        origin = self.source_of(path) if source is None else source
        return ConfigError(f"{'.'.join(path)}: {message} (from {origin})")

    def _record(self, path: KeyPath, value: Any, source: str) -> None:
        self.sources[path] = source
        if isinstance(value, dict):
            for key, item in value.items():
                self._record((*path, str(key)), item, source)

    def set(self, path: KeyPath, value: Any, source: str) -> None:
        """Set ``path`` to ``value``, replacing what lower layers had there."""
        node = self.tree
        for depth, key in enumerate(path[:-1]):
            child = node.get(key)
            if child is None:
                child = node[key] = {}
                self.sources.setdefault(path[: depth + 1], source)
            elif not isinstance(child, dict):
                raise self.error(path[: depth + 1], f"expected table, got {_describe_value(child)}")
            node = child
        for old in [p for p in self.sources if p[: len(path)] == path]:
            del self.sources[old]
        node[path[-1]] = value
        self._record(path, value, source)

    def merge_file(self, data: dict[str, Any], source: str) -> None:
        """Load the file layer (the first layer)."""
        self.tree = data
        for key, value in data.items():
            self._record((key,), value, source)


def _schema_type_at(path: KeyPath, layers: _Layers, source: str) -> Any:
    """Return the schema type at ``path``, raising 'unknown key' (from ``source``) if there is none."""
    tp: Any = Config
    for depth, key in enumerate(path):
        child = _child_type(tp, key)
        if child is None:
            raise layers.error(path[: depth + 1], "unknown key", source)
        tp = child
    return tp


def _parse_toml_value(text: str) -> Any:
    """Parse one TOML value (as written after ``key =``); raise ValueError if it is not one."""
    try:
        parsed = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(str(exc)) from None
    if set(parsed) != {"v"}:
        raise ValueError("not a single TOML value")
    return parsed["v"]


def _coerce_text(text: str, tp: Any) -> Any:
    """Coerce environment or command-line text to a value of schema type ``tp``.

    Raises:
        ValueError: If the text cannot be read as that type.
    """
    members = _union_members(tp)
    if members is not None:
        if text == "" and type(None) in members:
            return None
        for member in members:
            if member is type(None):
                continue
            try:
                return _coerce_text(text, member)
            except ValueError:
                continue
        raise ValueError(text)
    if tp is str or typing.get_origin(tp) is Literal:
        return text
    if tp is bool:
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(text)
    if tp is int:
        return int(text.strip(), 10)
    if tp is float:
        return float(text.strip())
    if tp is Any:
        try:
            return _parse_toml_value(text)
        except ValueError:
            return text
    # Tables (dataclass sections and dicts) and lists: a TOML inline value.
    return _parse_toml_value(text)


def _set_text_or_value(layers: _Layers, path: KeyPath, value: Any, source: str) -> None:
    """Set one value from the environment or an override, coercing text to the field's type."""
    tp = _schema_type_at(path, layers, source)
    if isinstance(value, str):
        try:
            value = _coerce_text(value, tp)
        except ValueError:
            raise layers.error(path, f"expected {_describe_type(tp)}, got {_describe_value(value)}", source) from None
    layers.set(path, value, source)


def _env_path(name: str) -> KeyPath:
    """Turn ``PYROS_A__B_C`` into ``("a", "b_c")``."""
    parts = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
    if any(not part for part in parts):
        raise ConfigError(f"{name}: empty name segment in environment variable (use '__' between keys)")
    return parts


def _override_path(key: Any) -> KeyPath:
    if not isinstance(key, str):
        raise ConfigError(f"{key!r}: override keys must be dotted paths (str) (from override)")
    parts = tuple(key.split("."))
    if any(not part for part in parts):
        raise ConfigError(f"{key}: empty name segment in dotted path (from override)")
    return parts


# ---------------------------------------------------------------------------- building typed objects


def _check_toml_value(value: Any, path: KeyPath, layers: _Layers) -> Any:
    """Check that a free-form value is TOML-representable and return a private copy."""
    if isinstance(value, (str, bool, datetime, date, time)):
        return value
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise layers.error(path, f"integer {value} does not fit in 64 bits")
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise layers.error(path, f"table keys must be str, got {_describe_value(key)}")
            out[key] = _check_toml_value(item, (*path, key), layers)
        return out
    if isinstance(value, (list, tuple)):
        return [_check_toml_value(item, (*path, str(i)), layers) for i, item in enumerate(value)]
    raise layers.error(
        path, f"expected a TOML value (str, int, float, bool, date/time, array, table), got {_describe_value(value)}"
    )


def _build(tp: Any, value: Any, path: KeyPath, layers: _Layers) -> Any:
    """Check ``value`` against schema type ``tp`` and build the typed object."""
    if tp is Any:
        return _check_toml_value(value, path, layers)
    members = _union_members(tp)
    if members is not None:
        if value is None and type(None) in members:
            return None
        for member in members:
            if member is type(None):
                continue
            try:
                return _build(member, value, path, layers)
            except ConfigError:
                continue
        raise layers.error(path, f"expected {_describe_type(tp)}, got {_describe_value(value)}")
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _build_dataclass(tp, value, path, layers)
    if _is_dict_type(tp):
        if not isinstance(value, Mapping):
            raise layers.error(path, f"expected table, got {_describe_value(value)}")
        item_type = typing.get_args(tp)[1]
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                raise layers.error(path, f"table keys must be non-empty str, got {_describe_value(key)}")
            out[key] = _build(item_type, item, (*path, key), layers)
        return out
    if typing.get_origin(tp) is list:
        if not isinstance(value, list):
            raise layers.error(path, f"expected array, got {_describe_value(value)}")
        (item_type,) = typing.get_args(tp)
        return [_build(item_type, item, (*path, str(i)), layers) for i, item in enumerate(value)]
    if typing.get_origin(tp) is Literal:
        allowed = typing.get_args(tp)
        if not isinstance(value, str) or value not in allowed:
            raise layers.error(path, f"expected {_describe_type(tp)}, got {_describe_value(value)}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise layers.error(path, f"expected bool, got {_describe_value(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise layers.error(path, f"expected int, got {_describe_value(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise layers.error(path, f"expected float, got {_describe_value(value)}")
        if not math.isfinite(value):
            raise layers.error(path, f"expected a finite float, got {_describe_value(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise layers.error(path, f"expected str, got {_describe_value(value)}")
        return value
    raise TypeError(f"unsupported schema type {tp!r} at {'.'.join(path)}")  # a bug in the schema, not input


def _normalise_instant(value: Any, path: KeyPath, layers: _Layers) -> Any:
    """Turn a TOML offset date-time into ISO text; reject TOML local dates and times."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return format_instant(value.timestamp())
    if isinstance(value, (datetime, date, time)):
        raise layers.error(path, f"{value.isoformat()} has no time zone offset (append 'Z' for UTC)")
    return value


def _build_dataclass(cls: type, value: Any, path: KeyPath, layers: _Layers) -> Any:
    if not isinstance(value, Mapping):
        raise layers.error(path, f"expected table, got {_describe_value(value)}")
    by_key = _fields_by_key(cls)
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for key, item in value.items():
        key_path = (*path, str(key))
        f = by_key.get(key) if isinstance(key, str) else None
        if f is None:
            raise layers.error(key_path, "unknown key")
        if cls is ClockConfig and f.name in ("start", "anchor"):
            item = _normalise_instant(item, key_path, layers)
        built = _build(hints[f.name], item, key_path, layers)
        check = f.metadata.get("check")
        if check is not None and built is not None:
            problem = check(built)
            if problem is not None:
                raise layers.error(key_path, problem)
        kwargs[f.name] = built
    for key, f in by_key.items():
        if f.name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise layers.error((*path, key), "missing required key")
    return cls(**kwargs)


def _check_clock(clock: ClockConfig, layers: _Layers) -> None:
    """Cross-field checks of the clock section."""
    if clock.mode == "real":
        if clock.speed != 1.0:
            raise layers.error(("clock", "speed"), f"must be 1.0 when clock.mode is 'real', got {clock.speed!r}")
        if clock.start is not None:
            raise layers.error(("clock", "start"), "must be absent when clock.mode is 'real'")
        if clock.anchor is not None:
            raise layers.error(("clock", "anchor"), "must be absent when clock.mode is 'real'")
    elif clock.start is None:
        raise layers.error(("clock", "start"), "required when clock.mode is 'simulated'")


def _check_services(hosts: Mapping[str, HostConfig], layers: _Layers) -> None:
    """Reject reserved service names, and entries without exactly one of class and command."""
    for host, host_cfg in hosts.items():
        for name, service in host_cfg.services.items():
            if name.startswith("mmi."):
                raise layers.error(
                    ("hosts", host, "services", name), "service names 'mmi.*' are reserved for the broker"
                )
            if (service.class_ is None) == (service.command is None):
                raise layers.error(("hosts", host, "services", name),
                                   "give exactly one of 'class' (a Service) and 'command' (pyros arguments)")
            if service.command is not None and not service.command:
                raise layers.error(("hosts", host, "services", name, "command"), "must not be empty")


# ---------------------------------------------------------------------------- loading


def find_config_file(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    """Return the configuration file :func:`load_config` would read.

    Args:
        path: An explicit file; it must exist.
        env: Environment to read ``PYROS_CONFIG`` from (default :data:`os.environ`).

    Returns:
        The explicit path, else ``$PYROS_CONFIG``, else ``etc/pyros.toml`` if
        it exists in the current directory, else None (built-in defaults).

    Raises:
        ConfigError: If an explicit or ``PYROS_CONFIG`` file does not exist.
    """
    environ = os.environ if env is None else env
    if path is not None:
        chosen, origin = Path(path), "argument"
    elif environ.get("PYROS_CONFIG"):
        chosen, origin = Path(environ["PYROS_CONFIG"]), "PYROS_CONFIG"
    elif DEFAULT_CONFIG_PATH.is_file():
        return DEFAULT_CONFIG_PATH
    else:
        return None
    if not chosen.is_file():
        raise ConfigError(f"config file {chosen} not found (from {origin})")
    return chosen


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from None


def load_config(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Load, merge and validate the configuration.

    Args:
        path: Configuration file; None to use ``PYROS_CONFIG`` or
            ``etc/pyros.toml`` (see :func:`find_config_file`).
        env: Environment variables (default :data:`os.environ`). Every
            ``PYROS_*`` variable not in :data:`NON_CONFIG_ENV` must name a
            configuration value.
        overrides: Dotted path → value, applied last (command-line flags).
            String values are coerced like environment values.

    Returns:
        The typed configuration.

    Raises:
        ConfigError: For a missing or unreadable file, invalid TOML, an
            unknown key, a value of the wrong type or out of range. The
            message names the dotted path and its source.
    """
    environ = os.environ if env is None else env
    layers = _Layers()
    file_path = find_config_file(path, environ)
    if file_path is not None:
        layers.merge_file(_read_file(file_path), str(file_path))
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in NON_CONFIG_ENV:
            continue
        _set_text_or_value(layers, _env_path(name), environ[name], name)
    for key, value in (overrides or {}).items():
        _set_text_or_value(layers, _override_path(key), value, "override")
    config: Config = _build(Config, layers.tree, (), layers)
    _check_clock(config.clock, layers)
    _check_services(config.hosts, layers)
    return config


# ---------------------------------------------------------------------------- TOML output


def _toml_key(key: str) -> str:
    return key if _BARE_KEY_RE.fullmatch(key) else _toml_string(key)


def _toml_string(text: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    out = []
    for char in text:
        if char in escapes:
            out.append(escapes[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_value(value: Any) -> str:
    """Write one value inline (scalars, arrays and inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise ValueError(f"integer {value} does not fit in TOML's 64 bits")
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ValueError(f"cannot write {type(value).__name__} {value!r} as TOML")


def _toml_table(table: Mapping[str, Any], prefix: tuple[str, ...], lines: list[str]) -> None:
    """Write a table: its plain values first, then each non-empty sub-table under a header."""
    subtables = [(k, v) for k, v in table.items() if isinstance(v, Mapping) and v]
    plain = [(k, v) for k, v in table.items() if not (isinstance(v, Mapping) and v)]
    if prefix and (plain or not subtables):
        if lines:
            lines.append("")
        lines.append("[" + ".".join(_toml_key(k) for k in prefix) + "]")
    for key, value in plain:
        lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in subtables:
        _toml_table(value, (*prefix, key), lines)


def config_to_toml(config: Config) -> str:
    """Write a configuration as TOML text (for ``pyros config show``).

    Args:
        config: The configuration.

    Returns:
        TOML text that :func:`load_config` reads back into an equal config.

    Raises:
        ValueError: If a free-form value cannot be written as TOML.
    """
    return toml_text(config.to_dict())


def toml_text(table: Mapping[str, Any]) -> str:
    """Write nested mappings as TOML text: plain values first, each non-empty sub-table under its header.

    Args:
        table: The document; values are TOML's (strings, numbers, booleans, dates, lists, mappings).

    Returns:
        TOML text that reads back into an equal document.

    Raises:
        ValueError: If a value cannot be written as TOML.
    """
    lines: list[str] = []
    _toml_table(table, (), lines)
    return "\n".join(lines) + "\n"


_ACTIVE: Config | None = None


def use_config(config: Config) -> Config:
    """Make ``config`` this process's configuration (what :func:`active_config` returns).

    The command line calls it once it has read the file and the flags, so that
    services built afterwards (``pyros serve``) read the same settings.
    """
    global _ACTIVE
    if not isinstance(config, Config):
        raise TypeError(f"use_config expects a Config, got {type(config).__name__}")
    _ACTIVE = config
    return config


def active_config() -> Config:
    """This process's configuration: the one given to :func:`use_config`, else :func:`load_config` (cached)."""
    global _ACTIVE
    if _ACTIVE is None:
        _ACTIVE = load_config()
    return _ACTIVE
