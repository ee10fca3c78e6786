"""Safety limits of the INDI stream parser.

An INDI server is a peer on the network; whatever it sends must not be able to
exhaust the client's memory or time. The parser enforces these bounds while
it reads (not after a whole element has been buffered) and raises
:class:`~pyros.indi.errors.IndiLimitError`, after which the client disconnects.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ParserLimits"]

MiB = 1024 * 1024


@dataclass(frozen=True)
class ParserLimits:
    """Bounds on what one INDI connection may send.

    Attributes:
        max_element_bytes: Largest top-level element (other than a BLOB
            vector), counted as its tag names, attributes and text; also the
            most bytes the XML parser may buffer without completing a tag,
            text run or comment (a huge start tag is refused before it is whole).
        max_blob_bytes: Largest BLOB after base64 decoding (and after inflating
            the legacy ``.z`` form). A ``setBLOBVector`` or ``newBLOBVector``
            element may hold the base64 text of this many bytes plus
            ``max_element_bytes`` of markup.
        max_depth: Deepest element nesting below the stream (INDI needs 2:
            vector, member).
    """

    max_element_bytes: int = 1 * MiB
    max_blob_bytes: int = 256 * MiB
    max_depth: int = 4

    def __post_init__(self) -> None:
        for field_name, smallest in (("max_element_bytes", 1024), ("max_blob_bytes", 1), ("max_depth", 2)):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"ParserLimits.{field_name} must be an int, not {type(value).__name__}")
            if value < smallest:
                raise ValueError(f"ParserLimits.{field_name} must be at least {smallest}, got {value}")

    @property
    def max_blob_element_bytes(self) -> int:
        """Largest ``setBLOBVector``/``newBLOBVector`` element: base64 of ``max_blob_bytes`` plus markup."""
        return (self.max_blob_bytes + 2) // 3 * 4 + self.max_element_bytes
