"""Build the messages an INDI client sends, as bytes ready for the socket.

Every builder checks its arguments (types, non-empty names, characters XML
1.0 can carry) and escapes text: ``&``, ``<``, ``>`` everywhere, quotes and
tab/newline/carriage return in attribute values (as character references, so
they survive attribute normalisation). Each message ends with a newline.

>>> enable_blob("CCD Simulator", "CCD1")
b'<enableBLOB device="CCD Simulator" name="CCD1">Also</enableBLOB>\\n'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

from pyros.indi.timestamps import format_timestamp
from pyros.indi.vocabulary import BlobMode

__all__ = ["enable_blob", "get_properties", "new_number_vector", "new_switch_vector", "new_text_vector",
           "ping_reply"]

PROTOCOL_VERSION = "1.7"
"""The INDI protocol version this client speaks."""

_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;",
                                    "\n": "&#10;", "\r": "&#13;"})


def _check_text(what: str, value: object, *, empty: bool = False) -> str:
    """``value`` as a string XML can carry, or a clear TypeError/ValueError naming ``what``."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if not empty and not value.strip():
        raise ValueError(f"{what} must not be empty")
    bad = _NOT_XML_CHAR.search(value)
    if bad is not None:
        raise ValueError(f"{what} contains the character {bad.group()!r} (position {bad.start()}), "
                         f"which XML 1.0 cannot carry")
    return value


def _attribute(name: str, value: str) -> str:
    return f' {name}="{value.translate(_ATTRIBUTE_ESCAPES)}"'


def _vector(kind: str, device: str, name: str, values: Mapping[str, object], timestamp: float | None,
            encode: Callable[[str, object], str]) -> bytes:
    """``<new{kind}Vector>`` with one ``<one{kind}>`` per value, checked by ``encode``."""
    _check_text("device", device)
    _check_text("property name", name)
    if not isinstance(values, Mapping):
        raise TypeError(f"values of {device}.{name} must be a mapping of member name to value, "
                        f"not {type(values).__name__}")
    if not values:
        raise ValueError(f"new{kind}Vector for {device}.{name} needs at least one member value")
    head = f"<new{kind}Vector{_attribute('device', device)}{_attribute('name', name)}"
    if timestamp is not None:
        head += _attribute("timestamp", format_timestamp(timestamp))
    parts = [head + ">"]
    for member, value in values.items():
        _check_text(f"member name of {device}.{name}", member)
        text = encode(f"{device}.{name}.{member}", value)
        parts.append(f"<one{kind}{_attribute('name', member)}>{text}</one{kind}>")
    parts.append(f"</new{kind}Vector>\n")
    return "".join(parts).encode("utf-8")


def _number_text(where: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{where} must be an int or float, not {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{where} must be finite, got {number}")
    return repr(number)


def _switch_text(where: str, value: object) -> str:
    if not isinstance(value, bool):
        raise TypeError(f"{where} must be a bool (True for On), not {type(value).__name__}")
    return "On" if value else "Off"


def _text_text(where: str, value: object) -> str:
    return _check_text(where, value, empty=True).translate(_TEXT_ESCAPES)


def get_properties(device: str | None = None, name: str | None = None, version: str = PROTOCOL_VERSION) -> bytes:
    """``<getProperties>``: ask for the definitions of every device, one device or one property.

    Raises:
        TypeError, ValueError: If a name is not a non-empty string, or ``name``
            is given without ``device``.
    """
    text = f"<getProperties{_attribute('version', _check_text('version', version))}"
    if device is not None:
        text += _attribute("device", _check_text("device", device))
    if name is not None:
        if device is None:
            raise ValueError("getProperties for a property name needs its device")
        text += _attribute("name", _check_text("property name", name))
    return (text + "/>\n").encode("utf-8")


def new_number_vector(device: str, name: str, values: Mapping[str, float], timestamp: float | None = None) -> bytes:
    """``<newNumberVector>``: ask ``device`` to set Number members.

    Args:
        device: Device name.
        name: Property name.
        values: New value per member name (int or float, finite).
        timestamp: Optional client time, float UNIX seconds.

    Raises:
        TypeError, ValueError: Naming the argument or member that is wrong.
    """
    return _vector("Number", device, name, values, timestamp, _number_text)


def new_switch_vector(device: str, name: str, values: Mapping[str, bool], timestamp: float | None = None) -> bytes:
    """``<newSwitchVector>``: ask ``device`` to set switches (True is On).

    Raises:
        TypeError, ValueError: Naming the argument or member that is wrong.
    """
    return _vector("Switch", device, name, values, timestamp, _switch_text)


def new_text_vector(device: str, name: str, values: Mapping[str, str], timestamp: float | None = None) -> bytes:
    """``<newTextVector>``: ask ``device`` to set Text members.

    Surrounding whitespace of a value is not significant in INDI and may be
    lost on the way.

    Raises:
        TypeError, ValueError: Naming the argument or member that is wrong.
    """
    return _vector("Text", device, name, values, timestamp, _text_text)


def enable_blob(device: str, name: str | None = None, mode: BlobMode = BlobMode.ALSO) -> bytes:
    """``<enableBLOB>``: choose whether this connection receives the BLOBs of a device or property.

    Raises:
        TypeError, ValueError: If a name is empty or ``mode`` is not a :class:`BlobMode`.
    """
    if not isinstance(mode, BlobMode):
        raise TypeError(f"BLOB mode must be a BlobMode, not {type(mode).__name__}")
    text = f"<enableBLOB{_attribute('device', _check_text('device', device))}"
    if name is not None:
        text += _attribute("name", _check_text("property name", name))
    return f"{text}>{mode.value}</enableBLOB>\n".encode("utf-8")


def ping_reply(uid: str) -> bytes:
    """``<pingReply>``: the answer to the server's ``pingRequest`` with this ``uid``."""
    return f"<pingReply{_attribute('uid', _check_text('ping uid', uid))}/>\n".encode("utf-8")
