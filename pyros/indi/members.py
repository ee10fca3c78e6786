"""The members of INDI property vectors, as immutable values.

A property vector (:class:`~pyros.indi.vector.PropertyVector`) holds one or
more members of a single kind. Every member has a ``name`` (the key used on
the wire), a human ``label`` and a ``value`` whose type depends on the kind:

=======================  ===============================================
member                   ``value``
=======================  ===============================================
:class:`NumberMember`    ``float`` (plus ``format``, ``minimum``, ``maximum``, ``step``)
:class:`SwitchMember`    ``bool`` (True is ``On``)
:class:`TextMember`      ``str``
:class:`LightMember`     :class:`~pyros.indi.vocabulary.PropertyState`
:class:`BlobMember`      :class:`Blob`, or None until a BLOB has been received
=======================  ===============================================

Members are frozen: an update makes a new member (``dataclasses.replace``), so
a vector handed to a caller never changes under its feet.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyros.indi.number_format import format_number
from pyros.indi.vocabulary import PropertyState

__all__ = ["Blob", "BlobMember", "LightMember", "Member", "NumberMember", "SwitchMember", "TextMember"]


@dataclass(frozen=True)
class Blob:
    """A received binary large object.

    Attributes:
        data: The bytes, decoded from base64 (and inflated when the server
            sent the legacy zlib form, whose format ends in ``.z``).
        format: The file type announced by the device, e.g. ``".fits"`` or
            ``".fits.fz"`` (a tile-compressed FITS file, still a FITS file).
        size: The size the device announced for the uncompressed data.
    """

    data: bytes
    format: str
    size: int

    def __repr__(self) -> str:
        return f"Blob(format={self.format!r}, size={self.size}, {len(self.data)} bytes)"


@dataclass(frozen=True)
class NumberMember:
    """A member of a Number vector.

    Attributes:
        name: Member name.
        label: Human label.
        value: Current value.
        format: C ``printf`` format for display, INDI ``%m`` included.
        minimum: Smallest allowed value.
        maximum: Largest allowed value (``minimum == maximum`` means no range).
        step: Allowed increment (0 for any).
    """

    name: str
    label: str
    value: float
    format: str
    minimum: float
    maximum: float
    step: float

    def formatted(self) -> str:
        """The value printed with the member's format (see :func:`~pyros.indi.number_format.format_number`)."""
        return format_number(self.value, self.format)


@dataclass(frozen=True)
class SwitchMember:
    """A member of a Switch vector; ``value`` is True when the switch is On."""

    name: str
    label: str
    value: bool


@dataclass(frozen=True)
class TextMember:
    """A member of a Text vector."""

    name: str
    label: str
    value: str


@dataclass(frozen=True)
class LightMember:
    """A member of a Light vector (a read-only status lamp)."""

    name: str
    label: str
    value: PropertyState


@dataclass(frozen=True)
class BlobMember:
    """A member of a BLOB vector; ``value`` is the last :class:`Blob` received, if any."""

    name: str
    label: str
    value: Blob | None = None


Member = NumberMember | SwitchMember | TextMember | LightMember | BlobMember
"""Any member of a property vector."""
