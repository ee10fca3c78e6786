"""The property model: every device's property vectors, kept current by def/set/del messages.

:class:`PropertyCache` is sans-I/O and not thread-safe by itself (the client
guards it with its lock). :meth:`PropertyCache.apply` takes a decoded
:class:`~pyros.indi.messages.DefVector`, :class:`~pyros.indi.messages.SetVector`
or :class:`~pyros.indi.messages.DelProperty` and returns what changed as
:class:`PropertyEvent` values:

* ``def*Vector`` defines the property, or redefines it from scratch.
* ``set*Vector`` updates the members it names, the state and timeout when
  given, and the timestamp. An update for an undefined property, of another
  kind than the definition, or naming unknown members is ignored (the unknown
  members only) and logged: INDI clients do the same, since a set may race
  with a delete.
* ``delProperty`` removes one property, or every property of the device.

Each definition or update makes a new immutable
:class:`~pyros.indi.vector.PropertyVector` stamped with the next value of a
cache-wide sequence counter, so "an update after this moment" is
``vector.sequence > mark``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from enum import Enum
from types import MappingProxyType

from pyros.indi.members import Blob, BlobMember, LightMember, Member, NumberMember, SwitchMember, TextMember
from pyros.indi.messages import DefVector, DelProperty, MemberUpdate, SetVector
from pyros.indi.vector import PropertyVector
from pyros.indi.vocabulary import PropertyState

__all__ = ["Change", "PropertyCache", "PropertyEvent"]

log = logging.getLogger(__name__)


class Change(Enum):
    """What happened to a property."""

    DEFINED = "defined"
    UPDATED = "updated"
    DELETED = "deleted"


@dataclass(frozen=True)
class PropertyEvent:
    """One change of the cache.

    Attributes:
        change: Defined, updated or deleted.
        vector: The property after the change (for a deletion, its last state).
    """

    change: Change
    vector: PropertyVector


class PropertyCache:
    """Devices and their property vectors, as the INDI server last described them."""

    def __init__(self) -> None:
        self._devices: dict[str, dict[str, PropertyVector]] = {}
        self._sequence = 0

    @property
    def sequence(self) -> int:
        """Sequence number of the latest definition or update (0 before any)."""
        return self._sequence

    def get(self, device: str, name: str) -> PropertyVector | None:
        """The property ``name`` of ``device``, or None if it is not defined."""
        return self._devices.get(device, {}).get(name)

    def devices(self) -> list[str]:
        """Names of the devices that have at least one property, in order of appearance."""
        return list(self._devices)

    def vectors(self, device: str | None = None) -> list[PropertyVector]:
        """Every property of ``device`` (of every device if None), in order of definition."""
        if device is not None:
            return list(self._devices.get(device, {}).values())
        return [vector for properties in self._devices.values() for vector in properties.values()]

    def clear(self) -> None:
        """Forget every device (the sequence counter keeps going)."""
        self._devices.clear()

    def apply(self, message: DefVector | SetVector | DelProperty) -> list[PropertyEvent]:
        """Apply one message and return the changes it made (possibly none).

        Raises:
            TypeError: If ``message`` is not a def, set or del message.
        """
        if isinstance(message, DefVector):
            return [self._define(message)]
        if isinstance(message, SetVector):
            event = self._update(message)
            return [event] if event is not None else []
        if isinstance(message, DelProperty):
            return self._delete(message)
        raise TypeError(f"PropertyCache.apply takes DefVector, SetVector or DelProperty, "
                        f"not {type(message).__name__}")

    def _next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    def _define(self, message: DefVector) -> PropertyEvent:
        vector = PropertyVector(kind=message.kind, device=message.device, name=message.name, label=message.label,
                                group=message.group, state=message.state, permission=message.permission,
                                rule=message.rule, timeout=message.timeout, timestamp=message.timestamp,
                                members=MappingProxyType({member.name: member for member in message.members}),
                                sequence=self._next_sequence())
        self._devices.setdefault(message.device, {})[message.name] = vector
        return PropertyEvent(Change.DEFINED, vector)

    def _update(self, message: SetVector) -> PropertyEvent | None:
        current = self.get(message.device, message.name)
        if current is None:
            log.debug("update of undefined property %s.%s ignored", message.device, message.name)
            return None
        if current.kind is not message.kind:
            log.warning("set%sVector for %s.%s ignored: the property is a %s vector", message.kind.value,
                        message.device, message.name, current.kind.value)
            return None
        members = dict(current.members)
        for update in message.members:
            member = members.get(update.name)
            if member is None:
                log.warning("update of %s.%s names the unknown member %r, ignored", message.device, message.name,
                            update.name)
                continue
            members[update.name] = _updated_member(member, update)
        vector = replace(current, state=message.state if message.state is not None else current.state,
                         timeout=message.timeout if message.timeout is not None else current.timeout,
                         timestamp=message.timestamp if message.timestamp is not None else current.timestamp,
                         members=MappingProxyType(members), sequence=self._next_sequence())
        self._devices[message.device][message.name] = vector
        return PropertyEvent(Change.UPDATED, vector)

    def _delete(self, message: DelProperty) -> list[PropertyEvent]:
        properties = self._devices.get(message.device)
        if properties is None:
            return []
        if message.name is None:
            del self._devices[message.device]
            return [PropertyEvent(Change.DELETED, vector) for vector in properties.values()]
        vector = properties.pop(message.name, None)
        if not properties:
            del self._devices[message.device]
        return [PropertyEvent(Change.DELETED, vector)] if vector is not None else []


def _updated_member(member: Member, update: MemberUpdate) -> Member:
    """``member`` with the value (and Number bounds) of ``update``; the decoder guarantees matching types."""
    value = update.value
    if isinstance(member, NumberMember) and isinstance(value, float):
        return replace(member, value=value,
                       minimum=update.minimum if update.minimum is not None else member.minimum,
                       maximum=update.maximum if update.maximum is not None else member.maximum,
                       step=update.step if update.step is not None else member.step)
    if isinstance(member, SwitchMember) and isinstance(value, bool):
        return replace(member, value=value)
    if isinstance(member, TextMember) and isinstance(value, str):
        return replace(member, value=value)
    if isinstance(member, LightMember) and isinstance(value, PropertyState):
        return replace(member, value=value)
    if isinstance(member, BlobMember) and isinstance(value, Blob):
        return replace(member, value=value)
    raise TypeError(f"cannot give member {member.name!r} ({type(member).__name__}) the value {value!r}")
