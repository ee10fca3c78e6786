"""Access levels: tokens, default level, refusals naming the levels."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pyros.service import LEVELS, AccessPolicy, CallContext, Refusal, Service, ServiceRuntime, Session, command, operation
from pyros.service.access import ANONYMOUS, token_principal
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


class MajordomeOnly(Service):
    """Refuses 'move' to everyone but the majordome; records who called."""

    service_name = "majordome_only"

    def __init__(self) -> None:
        self.callers: list[str] = []

    def authorize(self, command: Any, call: CallContext) -> None:
        if command.name == "move" and call.principal != "majordome":
            raise Refusal("NoControl", f"{call.principal} may not move")

    @command()
    def who(self, call: CallContext) -> str:
        """Who is asking."""
        self.callers.append(call.principal)
        return call.principal

    @command()
    def move(self) -> str:
        """Move."""
        return "moved"

    @operation()
    def travel(self, session: Session, call: CallContext) -> str:
        """A long move: the operation sees who started it."""
        return call.principal


def test_principals_name_the_caller_and_authorize_can_refuse() -> None:
    policy = AccessPolicy({"m-tok": "admin", "a-tok": "operator"}, names={"m-tok": "majordome"})
    runtime = ServiceRuntime(MajordomeOnly(), access=policy)
    try:
        assert call(runtime, "who", token="m-tok").data == "majordome"
        assert call(runtime, "who").data == ANONYMOUS
        anonymous_token = call(runtime, "who", token="a-tok").data
        assert anonymous_token == token_principal("a-tok") and anonymous_token.startswith("token-")
        assert "a-tok" not in anonymous_token
        refused = call(runtime, "move", token="a-tok")
        assert not refused.ok and refused.error.type == "NoControl" and anonymous_token in refused.error.message
        assert call(runtime, "move", token="m-tok").data == "moved"
        assert call(runtime, "ping", token="a-tok").ok  # built-ins are not the service's to refuse
        started = call(runtime, "travel", token="m-tok").data
        done = call(runtime, "wait", {"session": started["session"]}, token="m-tok").data
        assert done["result"] == "majordome"
    finally:
        runtime.close()


@pytest.mark.parametrize("names, message", [
    ({"nope": "x"}, "token that has no level"), ({"t1": "1bad"}, "a letter first"),
    ({"t1": "anonymous"}, "not 'anonymous'"), ({"t1": "same", "t2": "same"}, "given to two tokens")])
def test_bad_names_are_refused(names: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AccessPolicy({"t1": "admin", "t2": "observer"}, names=names)
