"""Client of the INDI protocol (XML over TCP, protocol version 1.7) for device drivers.

Layers, each usable alone:

* :mod:`pyros.indi.parser`: :class:`IndiParser`, sans-I/O and bounded
  (:class:`ParserLimits`): bytes in, decoded elements (:mod:`pyros.indi.messages`) out.
* :mod:`pyros.indi.cache`: :class:`PropertyCache`, the property model
  (:class:`PropertyVector` of :mod:`pyros.indi.members`) kept by def/set/del messages.
* :mod:`pyros.indi.builders`: the messages a client sends, escaped.
* :mod:`pyros.indi.client`: :class:`IndiClient`, the threaded TCP client.
* :mod:`pyros.indi.number_format` and :mod:`pyros.indi.timestamps`: INDI
  numbers (sexagesimal included) and timestamps.

See docs/indi.md.
"""

from pyros.indi.cache import Change, PropertyCache, PropertyEvent
from pyros.indi.client import DEFAULT_PORT, IndiClient
from pyros.indi.errors import (IndiConnectionError, IndiError, IndiLimitError, IndiMessageError, IndiPropertyAlert,
                               IndiStreamError, IndiTimeout, IndiUnknownProperty)
from pyros.indi.limits import ParserLimits
from pyros.indi.members import Blob, BlobMember, LightMember, Member, NumberMember, SwitchMember, TextMember
from pyros.indi.messages import (DefVector, DelProperty, DeviceMessage, EnableBlob, GetProperties, IndiElement,
                                 InvalidElement, MemberUpdate, NewVector, PingReply, PingRequest, SetVector)
from pyros.indi.number_format import format_number, parse_number
from pyros.indi.parser import IndiParser
from pyros.indi.vector import PropertyVector
from pyros.indi.vocabulary import BlobMode, Permission, PropertyState, SwitchRule, VectorKind

__all__ = [
    "DEFAULT_PORT", "Blob", "BlobMember", "BlobMode", "Change", "DefVector", "DelProperty", "DeviceMessage",
    "EnableBlob", "GetProperties", "IndiClient", "IndiConnectionError", "IndiElement", "IndiError", "IndiLimitError",
    "IndiMessageError", "IndiParser", "IndiPropertyAlert", "IndiStreamError", "IndiTimeout", "IndiUnknownProperty",
    "InvalidElement", "LightMember", "Member", "MemberUpdate", "NewVector", "NumberMember", "ParserLimits",
    "Permission", "PingReply", "PingRequest", "PropertyCache", "PropertyEvent", "PropertyState", "PropertyVector",
    "SetVector", "SwitchMember", "SwitchRule", "TextMember", "VectorKind", "format_number", "parse_number",
]
