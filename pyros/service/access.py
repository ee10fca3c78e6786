"""Access levels and the policy mapping request tokens to them."""

from __future__ import annotations

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


class AccessPolicy:
    """Maps the ``token`` of a request to an access level.

    A request without a token gets ``default_level``; a token not in the
    table is refused (``AccessDenied``, "unknown token"), so that a mistyped
    token never silently runs with a default level.
    """

    def __init__(self, tokens: Mapping[str, str] | None = None, default_level: str = "observer") -> None:
        """Create the policy.

        Args:
            tokens: Map of token to level (one of :data:`LEVELS`).
            default_level: Level of a request that carries no token.

        Raises:
            ValueError: If a level is unknown or a token is not a non-empty string.
        """
        table: dict[str, str] = {}
        for token, level in (tokens or {}).items():
            if not isinstance(token, str) or not token:
                raise ValueError("access tokens must be non-empty strings")
            table[token] = check_level(level, "access token")
        self._tokens = table
        self._default = check_level(default_level, "default access level")

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
