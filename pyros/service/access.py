"""Access levels and the policy mapping request tokens to them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from pyros.service.refusal import Refusal

LEVELS: tuple[str, ...] = ("observer", "operator", "admin")
"""Access levels, lowest first: observer < operator < admin."""

_RANK = {level: rank for rank, level in enumerate(LEVELS)}


def check_level(level: object, what: str) -> str:
    """Return ``level`` if it is one of :data:`LEVELS`.

    Args:
        level: The value to check.
        what: What the level belongs to, for the error message.

    Raises:
        ValueError: If ``level`` is not a known level.
    """
    if not isinstance(level, str) or level not in _RANK:
        raise ValueError(f"{what}: unknown access level {level!r}; expected one of {', '.join(LEVELS)}")
    return level


def level_allows(caller: str, needed: str) -> bool:
    """Return whether a caller at level ``caller`` may run a command needing ``needed``."""
    return _RANK[caller] >= _RANK[needed]


ANONYMOUS = "anonymous"
"""Principal of a request that carries no token."""

_PRINCIPAL = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")


def token_principal(token: str) -> str:
    """The principal of a token that has no name: ``token-`` and 8 hex digits of its SHA-256.

    Stable for the same token, and says nothing about the token itself.
    """
    return "token-" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:8]


class AccessPolicy:
    """Maps the ``token`` of a request to an access level and to a principal (who is asking).

    A request without a token gets ``default_level`` and the principal
    :data:`ANONYMOUS`; a token not in the table is refused (``AccessDenied``,
    "unknown token"), so that a mistyped token never silently runs with a
    default level. A token may be given a name (``majordome``, ``alice``),
    which is its principal; an unnamed token's principal is derived from it
    (:func:`token_principal`). Principals identify the holder of a device's
    control lease and appear in audit logs.
    """

    def __init__(self, tokens: Mapping[str, str] | None = None, default_level: str = "observer",
                 names: Mapping[str, str] | None = None) -> None:
        """Create the policy.

        Args:
            tokens: Map of token to level (one of :data:`LEVELS`).
            default_level: Level of a request that carries no token.
            names: Map of token to principal name (letters, digits, ``_ . -``;
                a letter first), for some or all of the tokens.

        Raises:
            ValueError: If a level is unknown, a token is not a non-empty
                string, a name is malformed or given twice, or names a token
                that is not in ``tokens``.
        """
        table: dict[str, str] = {}
        for token, level in (tokens or {}).items():
            if not isinstance(token, str) or not token:
                raise ValueError("access tokens must be non-empty strings")
            table[token] = check_level(level, "access token")
        self._tokens = table
        self._default = check_level(default_level, "default access level")
        self._names: dict[str, str] = {}
        for token, name in (names or {}).items():
            if token not in table:
                raise ValueError(f"access name {name!r} is given to a token that has no level")
            if not isinstance(name, str) or not _PRINCIPAL.match(name) or name == ANONYMOUS:
                raise ValueError(f"access name {name!r}: letters, digits, _ . - (a letter first), not 'anonymous'")
            if name in self._names.values():
                raise ValueError(f"access name {name!r} is given to two tokens")
            self._names[token] = name

    def principal_for(self, token: str | None) -> str:
        """Who a request's token is: its name, a name derived from it, or :data:`ANONYMOUS`.

        Call it only for a token that :meth:`level_for` accepted.
        """
        if token is None:
            return ANONYMOUS
        return self._names.get(token) or token_principal(token)

    @property
    def default_level(self) -> str:
        """Level of a request without a token."""
        return self._default

    def level_for(self, token: str | None) -> str:
        """Return the level of a request's token.

        Args:
            token: The request's ``token``, or ``None`` when it has none.

        Raises:
            Refusal: ``AccessDenied`` when the token is not known.
        """
        if token is None:
            return self._default
        level = self._tokens.get(token)
        if level is None:
            raise Refusal("AccessDenied", "unknown token")
        return level

    def require(self, caller: str, needed: str, what: str) -> None:
        """Refuse unless ``caller`` is at least ``needed``.

        Args:
            caller: The caller's level.
            needed: The level the action needs.
            what: The action, e.g. ``command 'open'``.

        Raises:
            Refusal: ``AccessDenied`` naming the level needed and the caller's.
        """
        if not level_allows(caller, needed):
            raise Refusal("AccessDenied", f"{what} needs level '{needed}'; the caller has level '{caller}'")
