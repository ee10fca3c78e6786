"""Access levels: tokens, default level, refusals naming the levels."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pyros.service import LEVELS, AccessPolicy, Service, ServiceRuntime, command
from tests.unit.test_service_support import call

TOKENS = {"obs-token": "observer", "op-token": "operator", "admin-token": "admin"}


class Guarded(Service):
    """One command per level."""

    @command()
    def look(self) -> str:
        """Anyone may look."""
        return "looked"

    @command(level="operator")
    def move(self) -> str:
        """Operators may move."""
        return "moved"

    @command(level="admin")
    def reconfigure(self) -> str:
        """Admins may reconfigure."""
        return "reconfigured"


@pytest.fixture()
def rt() -> Iterator[ServiceRuntime]:
    runtime = ServiceRuntime(Guarded(), instance="a1", access=AccessPolicy(TOKENS))
    yield runtime
    runtime.close()


def test_levels_are_ordered() -> None:
    assert LEVELS == ("observer", "operator", "admin")


@pytest.mark.parametrize(
    ("token", "allowed"),
    [
        (None, {"look"}),
        ("obs-token", {"look"}),
        ("op-token", {"look", "move"}),
        ("admin-token", {"look", "move", "reconfigure"}),
    ],
)
def test_each_level_runs_what_it_may(rt: ServiceRuntime, token: str | None, allowed: set[str]) -> None:
    needed = {"look": "observer", "move": "operator", "reconfigure": "admin"}
    caller = TOKENS.get(token or "", "observer")
    for cmd in ("look", "move", "reconfigure"):
        reply = call(rt, cmd, token=token)
        if cmd in allowed:
            assert reply.ok, reply.error
        else:
            assert not reply.ok and reply.error is not None
            assert reply.error.type == "AccessDenied"
            assert f"needs level '{needed[cmd]}'" in reply.error.message
            assert f"the caller has level '{caller}'" in reply.error.message
            assert f"'{cmd}'" in reply.error.message


def test_unknown_token_is_refused_even_for_ping(rt: ServiceRuntime) -> None:
    for cmd in ("ping", "look", "no_such_command"):
        reply = call(rt, cmd, token="guess")
        assert reply.error is not None
        assert (reply.error.type, reply.error.message) == ("AccessDenied", "unknown token")


def test_default_level_applies_without_token() -> None:
    runtime = ServiceRuntime(Guarded(), instance="a2", access=AccessPolicy(TOKENS, default_level="operator"))
    assert call(runtime, "move").ok
    reply = call(runtime, "reconfigure")
    assert reply.error is not None and "the caller has level 'operator'" in reply.error.message


def test_no_policy_means_observer_without_tokens() -> None:
    runtime = ServiceRuntime(Guarded(), instance="a3")
    assert call(runtime, "look").ok
    assert not call(runtime, "move").ok
    reply = call(runtime, "look", token="anything")
    assert reply.error is not None and reply.error.type == "AccessDenied"


def test_policy_refuses_bad_levels() -> None:
    with pytest.raises(ValueError, match="superuser"):
        AccessPolicy({"t": "superuser"})
    with pytest.raises(ValueError, match="root"):
        AccessPolicy({}, default_level="root")
    with pytest.raises(ValueError, match="non-empty"):
        AccessPolicy({"": "admin"})


def test_decorator_refuses_bad_level() -> None:
    with pytest.raises(ValueError, match="god"):
        command(level="god")


def test_access_is_checked_before_arguments(rt: ServiceRuntime) -> None:
    reply = call(rt, "move", {"bogus": 1})
    assert reply.error is not None and reply.error.type == "AccessDenied"
