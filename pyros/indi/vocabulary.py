"""The closed vocabularies of the INDI protocol (version 1.7) as enumerations.

Each member's value is the exact spelling used on the wire, so
``PropertyState("Busy")`` decodes an attribute and ``state.value`` encodes it.
"""

from __future__ import annotations

from enum import Enum


class PropertyState(Enum):
    """State of a property vector, also the value of a Light member."""

    IDLE = "Idle"
    OK = "Ok"
    BUSY = "Busy"
    ALERT = "Alert"


class Permission(Enum):
    """Who may change a property: read-only, write-only or read-write for clients."""

    RO = "ro"
    WO = "wo"
    RW = "rw"


class SwitchRule(Enum):
    """How many switches of a Switch vector may be On at once."""

    ONE_OF_MANY = "OneOfMany"
    AT_MOST_ONE = "AtMostOne"
    ANY_OF_MANY = "AnyOfMany"


class VectorKind(Enum):
    """The five kinds of property vector; the value is the infix of the element names.

    ``defNumberVector``, ``setNumberVector``, ``newNumberVector`` and the member
    elements ``defNumber``/``oneNumber`` all belong to :attr:`NUMBER`.
    """

    NUMBER = "Number"
    SWITCH = "Switch"
    TEXT = "Text"
    LIGHT = "Light"
    BLOB = "BLOB"


class BlobMode(Enum):
    """What ``enableBLOB`` asks the server to send to this connection."""

    NEVER = "Never"
    """No BLOBs (the default of a new connection)."""
    ALSO = "Also"
    """BLOBs as well as every other message."""
    ONLY = "Only"
    """Only BLOBs for the named device or property."""
