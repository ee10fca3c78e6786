"""The INDI protocol elements, decoded into immutable values.

:class:`~pyros.indi.parser.IndiParser` turns each top-level XML element of the
stream into one of these (the union :data:`IndiElement`):

=========================================  ==============================
element                                    value
=========================================  ==============================
``def{Number,Switch,Text,Light,BLOB}Vector``  :class:`DefVector`
``set...Vector``                           :class:`SetVector`
``new...Vector`` (client to device)        :class:`NewVector`
``delProperty``                            :class:`DelProperty`
``message``                                :class:`DeviceMessage`
``getProperties``                          :class:`GetProperties`
``enableBLOB``                             :class:`EnableBlob`
``pingRequest`` / ``pingReply``            :class:`PingRequest` / :class:`PingReply`
anything malformed or unknown              :class:`InvalidElement`
=========================================  ==============================
"""

from __future__ import annotations

from dataclasses import dataclass

from pyros.indi.members import Blob, Member
from pyros.indi.vocabulary import BlobMode, Permission, PropertyState, SwitchRule, VectorKind

__all__ = ["DefVector", "DelProperty", "DeviceMessage", "EnableBlob", "GetProperties", "IndiElement",
           "InvalidElement", "MemberUpdate", "MemberValue", "NewVector", "PingReply", "PingRequest", "SetVector"]

MemberValue = float | bool | str | PropertyState | Blob
"""The value of a member in a set or new message (float, bool, str, light state or BLOB)."""


@dataclass(frozen=True)
class DefVector:
    """``def*Vector``: a device defines (or redefines) a property.

    Attributes:
        kind: Number, Switch, Text, Light or BLOB.
        device: Device name.
        name: Property name.
        label: Human label (the name when the device gave none).
        group: GUI group ("" when none).
        state: Initial state.
        permission: Client permission (ro for Light vectors).
        rule: Switch rule (Switch vectors only).
        timeout: Worst-case seconds for a change (0 when none given).
        timestamp: Device time, float UNIX seconds, or None.
        message: Text the device attached to the definition, or None.
        members: The member definitions with their initial values.
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
    message: str | None
    members: tuple[Member, ...]


@dataclass(frozen=True)
class MemberUpdate:
    """One ``one*`` element of a set or new message.

    Attributes:
        name: Member name.
        value: New value (float for Number, bool for Switch, str for Text,
            :class:`~pyros.indi.vocabulary.PropertyState` for Light,
            :class:`~pyros.indi.members.Blob` for BLOB).
        minimum: New minimum of a Number member, when the device changed it.
        maximum: New maximum of a Number member, when the device changed it.
        step: New step of a Number member, when the device changed it.
    """

    name: str
    value: MemberValue
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None


@dataclass(frozen=True)
class SetVector:
    """``set*Vector``: a device reports new values (and possibly a new state).

    Attributes:
        kind: Number, Switch, Text, Light or BLOB.
        device: Device name.
        name: Property name.
        state: New state, or None to keep the current one.
        timeout: New worst-case seconds, or None to keep the current one.
        timestamp: Device time, float UNIX seconds, or None.
        message: Text the device attached to the update, or None.
        members: The members that changed.
    """

    kind: VectorKind
    device: str
    name: str
    state: PropertyState | None
    timeout: float | None
    timestamp: float | None
    message: str | None
    members: tuple[MemberUpdate, ...]


@dataclass(frozen=True)
class NewVector:
    """``new*Vector``: a client asks a device for new values."""

    kind: VectorKind
    device: str
    name: str
    timestamp: float | None
    members: tuple[MemberUpdate, ...]


@dataclass(frozen=True)
class DelProperty:
    """``delProperty``: a device removes one property, or all of them when ``name`` is None."""

    device: str
    name: str | None
    timestamp: float | None
    message: str | None


@dataclass(frozen=True)
class DeviceMessage:
    """A text message from a device (``message`` element, or the message of a vector).

    Attributes:
        device: The device, or None for a message from the server itself.
        timestamp: Device time, float UNIX seconds, or None.
        text: The message (INDI drivers prefix it with ``[INFO]``, ``[ERROR]``...).
    """

    device: str | None
    timestamp: float | None
    text: str


@dataclass(frozen=True)
class GetProperties:
    """``getProperties``: ask for definitions (of one device, or one property)."""

    version: str | None
    device: str | None
    name: str | None


@dataclass(frozen=True)
class EnableBlob:
    """``enableBLOB``: choose whether BLOBs of a device (or property) are sent."""

    device: str
    name: str | None
    mode: BlobMode


@dataclass(frozen=True)
class PingRequest:
    """``pingRequest``: the server asks for a ``pingReply`` with the same ``uid``."""

    uid: str


@dataclass(frozen=True)
class PingReply:
    """``pingReply``: the answer to a ``pingRequest``."""

    uid: str


@dataclass(frozen=True)
class InvalidElement:
    """A well-formed top-level element that is unknown or breaks the INDI schema.

    Attributes:
        tag: The element name.
        device: Its ``device`` attribute, if any.
        name: Its ``name`` attribute, if any.
        reason: What is wrong with it.
    """

    tag: str
    device: str | None
    name: str | None
    reason: str


IndiElement = (DefVector | SetVector | NewVector | DelProperty | DeviceMessage | GetProperties | EnableBlob
               | PingRequest | PingReply | InvalidElement)
"""Anything :meth:`~pyros.indi.parser.IndiParser.feed` returns."""
