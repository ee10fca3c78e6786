"""A snapshot of one INDI property vector, as the client's cache holds it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pyros.indi.members import Member, SwitchMember
from pyros.indi.vocabulary import Permission, PropertyState, SwitchRule, VectorKind

__all__ = ["PropertyVector"]


@dataclass(frozen=True, eq=False)
class PropertyVector:
    """One property of one device: its definition and the current values of its members.

    Instances are immutable: each definition or update received makes a new
    one, so a snapshot can be kept and compared with later ones.

    Attributes:
        kind: Number, Switch, Text, Light or BLOB.
        device: Device name.
        name: Property name, e.g. ``EQUATORIAL_EOD_COORD``.
        label: Human label.
        group: GUI group the property belongs to.
        state: Idle, Ok, Busy or Alert.
        permission: ro, wo or rw (Light vectors are always ro).
        rule: For Switch vectors, how many switches may be On; None otherwise.
        timeout: Seconds the device expects a change to take at most (0: none given).
        timestamp: The device's time of the last definition or update, float
            UNIX seconds (UTC), or None when the device sent none.
        members: Members by name, in the order the device defined them.
        sequence: Cache-wide counter of the definition or update that made this
            snapshot; later snapshots (of any property) have larger numbers.
    """

    kind: VectorKind
    device: str
    name: str
    label: str
    group: str
    state: PropertyState
    permission: Permission
    rule: SwitchRule | None
    timeout: float
    timestamp: float | None
    members: Mapping[str, Member]
    sequence: int

    def __getitem__(self, member: str) -> Member:
        """The member called ``member``.

        Raises:
            KeyError: Naming the member and the members the vector has.
        """
        try:
            return self.members[member]
        except KeyError:
            raise KeyError(f"{self.device}.{self.name} has no member {member!r} "
                           f"(members: {', '.join(self.members)})") from None

    def __contains__(self, member: object) -> bool:
        return member in self.members

    def __iter__(self) -> Iterator[Member]:
        return iter(self.members.values())

    def __len__(self) -> int:
        return len(self.members)

    def value(self, member: str) -> Any:
        """The value of one member (see :mod:`pyros.indi.members` for its type)."""
        return self[member].value

    def values(self) -> dict[str, Any]:
        """Every member's value by member name."""
        return {name: m.value for name, m in self.members.items()}

    def switches_on(self) -> tuple[str, ...]:
        """Names of the switches that are On (empty for other kinds)."""
        return tuple(m.name for m in self.members.values() if isinstance(m, SwitchMember) and m.value)

    def __repr__(self) -> str:
        return (f"PropertyVector({self.kind.value} {self.device}.{self.name} state={self.state.value} "
                f"seq={self.sequence} {self.values()!r})")
