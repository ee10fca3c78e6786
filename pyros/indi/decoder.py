"""Decode one top-level INDI XML element into a protocol value (:mod:`pyros.indi.messages`).

The parser (:mod:`pyros.indi.parser`) builds a small :class:`XmlNode` tree for
each top-level element, within its safety limits, and hands it to
:func:`decode_element`. Everything the INDI 1.7 schema requires is checked here:
required attributes, the closed vocabularies (states, permissions, rules,
switch values), numbers (decimal or sexagesimal), timestamps, base64 BLOBs
and their declared lengths. A violation yields an
:class:`~pyros.indi.messages.InvalidElement` that says what was wrong; only a
BLOB over the size limit raises (:class:`~pyros.indi.errors.IndiLimitError`).

Surrounding whitespace of member text is not significant in INDI (servers
indent their output), so values are stripped.
"""

from __future__ import annotations

import binascii
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeVar

from pyros.indi.errors import IndiLimitError, IndiMessageError
from pyros.indi.limits import ParserLimits
from pyros.indi.members import Blob, BlobMember, LightMember, Member, NumberMember, SwitchMember, TextMember
from pyros.indi.messages import (DefVector, DelProperty, DeviceMessage, EnableBlob, GetProperties, IndiElement,
                                 InvalidElement, MemberUpdate, MemberValue, NewVector, PingReply, PingRequest,
                                 SetVector)
from pyros.indi.number_format import parse_number
from pyros.indi.timestamps import parse_timestamp
from pyros.indi.vocabulary import BlobMode, Permission, PropertyState, SwitchRule, VectorKind

__all__ = ["BLOB_MEMBER_TAG", "BLOB_VECTOR_TAGS", "XmlNode", "decode_element"]

BLOB_MEMBER_TAG = "oneBLOB"
"""The member element whose text is base64 data (kept as bytes by the parser)."""
BLOB_VECTOR_TAGS = frozenset({"setBLOBVector", "newBLOBVector"})
"""Top-level elements that may be as large as a BLOB."""

_E = TypeVar("_E", bound=Enum)
_KINDS = {kind.value: kind for kind in VectorKind}
_BASE64_WHITESPACE = b" \t\r\n"
_SWITCH_VALUES = {"On": True, "Off": False}


@dataclass
class XmlNode:
    """An XML element as the parser collected it.

    Attributes:
        tag: Element name.
        attributes: Attribute values (entities already replaced).
        text_parts: Character data directly inside the element, in pieces.
        data: For ``oneBLOB`` elements, the base64 text as ASCII bytes
            (``text_parts`` stays empty).
        children: Child elements in document order.
    """

    tag: str
    attributes: dict[str, str]
    text_parts: list[str] = field(default_factory=list)
    data: bytearray | None = None
    children: list[XmlNode] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The character data, without surrounding whitespace."""
        return "".join(self.text_parts).strip()


def decode_element(node: XmlNode, limits: ParserLimits) -> IndiElement:
    """Decode a top-level element.

    Args:
        node: The element, complete.
        limits: Limits applied to BLOB contents.

    Returns:
        The decoded value, or an :class:`~pyros.indi.messages.InvalidElement`
        naming what is wrong with it.

    Raises:
        IndiLimitError: If a BLOB is larger than ``limits.max_blob_bytes``.
    """
    try:
        return _decode(node, limits)
    except IndiMessageError as exc:
        return InvalidElement(node.tag, node.attributes.get("device"), node.attributes.get("name"), str(exc))


def _decode(node: XmlNode, limits: ParserLimits) -> IndiElement:
    tag = node.tag
    for prefix, decoder in _VECTOR_DECODERS:
        if tag.startswith(prefix) and tag.endswith("Vector"):
            kind = _KINDS.get(tag[len(prefix):-len("Vector")])
            if kind is not None:
                return decoder(node, kind, limits)
    simple = _SIMPLE_DECODERS.get(tag)
    if simple is None:
        raise IndiMessageError(f"unknown INDI element <{tag}>")
    _no_children(node)
    return simple(node)


def _where(node: XmlNode) -> str:
    """``<tag device.name>`` for error messages."""
    device = node.attributes.get("device")
    name = node.attributes.get("name")
    target = ".".join(part for part in (device, name) if part)
    return f"<{node.tag}{' ' + target if target else ''}>"


def _required(node: XmlNode, attribute: str) -> str:
    value = node.attributes.get(attribute)
    if value is None or not value.strip():
        raise IndiMessageError(f"{_where(node)} lacks the required attribute {attribute!r}")
    return value


def _optional(node: XmlNode, attribute: str) -> str | None:
    value = node.attributes.get(attribute)
    return value if value else None


def _number_attribute(node: XmlNode, attribute: str, owner: XmlNode | None = None) -> float | None:
    value = node.attributes.get(attribute)
    if value is None:
        return None
    try:
        return parse_number(value)
    except ValueError as exc:
        where = f"{_where(owner)} member {node.attributes.get('name')!r}" if owner else _where(node)
        raise IndiMessageError(f"{where}: attribute {attribute!r}: {exc}") from None


def _timeout(node: XmlNode) -> float | None:
    value = _number_attribute(node, "timeout")
    if value is not None and not value >= 0:
        raise IndiMessageError(f"{_where(node)}: timeout must be a number of seconds >= 0, got {value}")
    return value


def _timestamp(node: XmlNode) -> float | None:
    value = node.attributes.get("timestamp")
    if not value:
        return None
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise IndiMessageError(f"{_where(node)}: {exc}") from None


def _enum(node: XmlNode, attribute: str, text: str, enum: type[_E]) -> _E:
    try:
        return enum(text)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in enum)
        raise IndiMessageError(f"{_where(node)}: {attribute} {text!r} is not one of {allowed}") from None


def _state(node: XmlNode, text: str, what: str = "state") -> PropertyState:
    return _enum(node, what, text, PropertyState)


def _no_children(node: XmlNode) -> None:
    if node.children:
        raise IndiMessageError(f"{_where(node)} must not contain elements (found <{node.children[0].tag}>)")


def _no_text(node: XmlNode) -> None:
    if node.text:
        raise IndiMessageError(f"{_where(node)} has unexpected text between its members: {node.text[:40]!r}")


def _member_children(node: XmlNode, member_tag: str) -> list[XmlNode]:
    """The member elements of a vector, checked for tag, name and uniqueness."""
    _no_text(node)
    if not node.children:
        raise IndiMessageError(f"{_where(node)} has no <{member_tag}> member")
    seen: set[str] = set()
    for child in node.children:
        if child.tag != member_tag:
            raise IndiMessageError(f"{_where(node)} may only contain <{member_tag}>, found <{child.tag}>")
        _no_children(child)
        name = _required(child, "name")
        if name in seen:
            raise IndiMessageError(f"{_where(node)} names member {name!r} twice")
        seen.add(name)
    return node.children


def _switch_value(owner: XmlNode, member: XmlNode) -> bool:
    text = member.text
    try:
        return _SWITCH_VALUES[text]
    except KeyError:
        raise IndiMessageError(f"{_where(owner)} member {member.attributes['name']!r}: switch value {text!r} "
                               f"is not On or Off") from None


def _number_value(owner: XmlNode, member: XmlNode) -> float:
    try:
        return parse_number(member.text)
    except ValueError as exc:
        raise IndiMessageError(f"{_where(owner)} member {member.attributes['name']!r}: {exc}") from None


def _light_value(owner: XmlNode, member: XmlNode) -> PropertyState:
    return _state(owner, member.text, f"light {member.attributes['name']!r}")


def _decode_def_vector(node: XmlNode, kind: VectorKind, limits: ParserLimits) -> DefVector:
    device = _required(node, "device")
    name = _required(node, "name")
    state = _state(node, _required(node, "state"))
    permission = (Permission.RO if kind is VectorKind.LIGHT
                  else _enum(node, "perm", _required(node, "perm"), Permission))
    rule = _enum(node, "rule", _required(node, "rule"), SwitchRule) if kind is VectorKind.SWITCH else None
    members: list[Member] = []
    for child in _member_children(node, "def" + kind.value):
        member_name = child.attributes["name"]
        label = child.attributes.get("label") or member_name
        if kind is VectorKind.NUMBER:
            number_format = _required(child, "format")
            minimum = _number_attribute(child, "min", node)
            maximum = _number_attribute(child, "max", node)
            step = _number_attribute(child, "step", node)
            if minimum is None or maximum is None or step is None:
                raise IndiMessageError(f"{_where(node)} member {member_name!r} lacks min, max or step")
            members.append(NumberMember(member_name, label, _number_value(node, child), number_format, minimum,
                                        maximum, step))
        elif kind is VectorKind.SWITCH:
            members.append(SwitchMember(member_name, label, _switch_value(node, child)))
        elif kind is VectorKind.TEXT:
            members.append(TextMember(member_name, label, child.text))
        elif kind is VectorKind.LIGHT:
            members.append(LightMember(member_name, label, _light_value(node, child)))
        else:
            members.append(BlobMember(member_name, label))
    return DefVector(kind=kind, device=device, name=name, label=node.attributes.get("label") or name,
                     group=node.attributes.get("group", ""), state=state, permission=permission, rule=rule,
                     timeout=_timeout(node) or 0.0, timestamp=_timestamp(node), message=_optional(node, "message"),
                     members=tuple(members))


def _decode_updates(node: XmlNode, kind: VectorKind, limits: ParserLimits) -> tuple[MemberUpdate, ...]:
    """The ``one*`` members of a set or new vector."""
    updates: list[MemberUpdate] = []
    for child in _member_children(node, "one" + kind.value):
        member_name = child.attributes["name"]
        value: MemberValue
        if kind is VectorKind.NUMBER:
            updates.append(MemberUpdate(member_name, _number_value(node, child),
                                        minimum=_number_attribute(child, "min", node),
                                        maximum=_number_attribute(child, "max", node),
                                        step=_number_attribute(child, "step", node)))
            continue
        if kind is VectorKind.SWITCH:
            value = _switch_value(node, child)
        elif kind is VectorKind.TEXT:
            value = child.text
        elif kind is VectorKind.LIGHT:
            value = _light_value(node, child)
        else:
            value = _decode_blob(node, child, limits)
        updates.append(MemberUpdate(member_name, value))
    return tuple(updates)


def _decode_set_vector(node: XmlNode, kind: VectorKind, limits: ParserLimits) -> SetVector:
    device = _required(node, "device")
    name = _required(node, "name")
    state_text = node.attributes.get("state")
    return SetVector(kind=kind, device=device, name=name,
                     state=_state(node, state_text) if state_text else None, timeout=_timeout(node),
                     timestamp=_timestamp(node), message=_optional(node, "message"),
                     members=_decode_updates(node, kind, limits))


def _decode_new_vector(node: XmlNode, kind: VectorKind, limits: ParserLimits) -> NewVector:
    device = _required(node, "device")
    name = _required(node, "name")
    if kind is VectorKind.LIGHT:
        raise IndiMessageError(f"{_where(node)}: Light vectors are read-only, there is no newLightVector")
    return NewVector(kind=kind, device=device, name=name, timestamp=_timestamp(node),
                     members=_decode_updates(node, kind, limits))


def _decode_blob(owner: XmlNode, member: XmlNode, limits: ParserLimits) -> Blob:
    """Decode the base64 text of a ``oneBLOB``, check its declared length, inflate ``.z`` data."""
    where = f"{_where(owner)} BLOB {member.attributes['name']!r}"
    blob_format = _required(member, "format").strip()
    size_value = _number_attribute(member, "size", owner)
    if size_value is None:
        raise IndiMessageError(f"{where} lacks the required attribute 'size'")
    size = _count(where, "size", size_value)
    encoded = (member.data or bytearray()).translate(None, _BASE64_WHITESPACE)
    if len(encoded) // 4 * 3 > limits.max_blob_bytes + 2:
        raise IndiLimitError(f"{where}: more than {limits.max_blob_bytes} bytes of BLOB data "
                             f"(ParserLimits.max_blob_bytes)")
    try:
        data = binascii.a2b_base64(encoded, strict_mode=True)
    except binascii.Error as exc:
        raise IndiMessageError(f"{where}: BLOB data is not valid base64 ({exc})") from None
    if len(data) > limits.max_blob_bytes:
        raise IndiLimitError(f"{where}: {len(data)} bytes of BLOB data exceed ParserLimits.max_blob_bytes "
                             f"({limits.max_blob_bytes})")
    length_value = _number_attribute(member, "len", owner)
    if length_value is not None:
        length = _count(where, "len", length_value)
        if length > len(data):
            raise IndiMessageError(f"{where}: declared len={length} but only {len(data)} bytes were sent")
        # INDI 1.9 drivers send compressed (.fits.fz) images padded to their buffer size: len is the payload.
        data = data[:length]
    if blob_format.endswith(".z"):
        data = _inflate(where, data, limits)
        blob_format = blob_format[:-2]
        if len(data) != size:
            raise IndiMessageError(f"{where}: declared size={size} but inflated to {len(data)} bytes")
    return Blob(data=data, format=blob_format, size=size)


def _count(where: str, attribute: str, value: float) -> int:
    if not (value >= 0 and value == int(value)):
        raise IndiMessageError(f"{where}: {attribute} must be a whole number of bytes >= 0, got {value}")
    return int(value)


def _inflate(where: str, data: bytes, limits: ParserLimits) -> bytes:
    """Inflate zlib data (legacy ``.z`` BLOBs), refusing output beyond ``max_blob_bytes``."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limits.max_blob_bytes + 1)
    except zlib.error as exc:
        raise IndiMessageError(f"{where}: .z BLOB is not valid zlib data ({exc})") from None
    if len(out) > limits.max_blob_bytes or inflater.unconsumed_tail:
        raise IndiLimitError(f"{where}: .z BLOB inflates beyond ParserLimits.max_blob_bytes "
                             f"({limits.max_blob_bytes})")
    if not inflater.eof:
        raise IndiMessageError(f"{where}: .z BLOB is truncated zlib data")
    return out


def _decode_del_property(node: XmlNode) -> DelProperty:
    return DelProperty(device=_required(node, "device"), name=_optional(node, "name"), timestamp=_timestamp(node),
                       message=_optional(node, "message"))


def _decode_message(node: XmlNode) -> DeviceMessage:
    return DeviceMessage(device=_optional(node, "device"), timestamp=_timestamp(node),
                         text=node.attributes.get("message", ""))


def _decode_get_properties(node: XmlNode) -> GetProperties:
    device = _optional(node, "device")
    name = _optional(node, "name")
    if name is not None and device is None:
        raise IndiMessageError(f"{_where(node)} names a property without a device")
    return GetProperties(version=_optional(node, "version"), device=device, name=name)


def _decode_enable_blob(node: XmlNode) -> EnableBlob:
    mode = _enum(node, "BLOB mode", node.text, BlobMode)
    return EnableBlob(device=_required(node, "device"), name=_optional(node, "name"), mode=mode)


def _decode_ping_request(node: XmlNode) -> PingRequest:
    return PingRequest(uid=_required(node, "uid"))


def _decode_ping_reply(node: XmlNode) -> PingReply:
    return PingReply(uid=_required(node, "uid"))


_VECTOR_DECODERS: tuple[tuple[str, Callable[[XmlNode, VectorKind, ParserLimits], IndiElement]], ...] = (
    ("def", _decode_def_vector),
    ("set", _decode_set_vector),
    ("new", _decode_new_vector),
)
_SIMPLE_DECODERS: dict[str, Callable[[XmlNode], IndiElement]] = {
    "delProperty": _decode_del_property,
    "message": _decode_message,
    "getProperties": _decode_get_properties,
    "enableBLOB": _decode_enable_blob,
    "pingRequest": _decode_ping_request,
    "pingReply": _decode_ping_reply,
}
