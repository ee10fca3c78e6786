"""Sans-I/O incremental parser of the INDI XML stream, hardened against hostile input.

An INDI connection carries a sequence of top-level XML elements with no root
element and no XML declaration. :class:`IndiParser` takes the bytes as they
arrive, in pieces of any size, and returns the elements completed so far,
decoded (:mod:`pyros.indi.decoder`)::

    parser = IndiParser()
    for element in parser.feed(sock.recv(65536)):
        ...

How it is built: lxml's push parser is fed a pseudo-root start tag first, then
the stream, so the stream is the content of one document element. It calls
back a target object (no tree is built by lxml) that collects each top-level
element into a small :class:`~pyros.indi.decoder.XmlNode` tree while counting
its size.

Defences (each violation raises :class:`~pyros.indi.errors.IndiStreamError`
or its subclass :class:`~pyros.indi.errors.IndiLimitError`, and the parser
refuses any further input):

* No DTD: a document type declaration is only legal before the root element,
  and the pseudo-root has started before the peer's first byte, so
  ``<!DOCTYPE``/``<!ENTITY`` are syntax errors. The parser recognises them
  and says so. Without a DTD no entity can be declared: nothing expands
  (billion laughs) and nothing is loaded (external entities); only the five
  predefined entities and character references are accepted. lxml is also
  told not to load DTDs nor use the network.
* Nesting: an element deeper than ``max_depth`` is refused when it starts.
* Size: each top-level element is measured as it arrives (tag names,
  attributes, text, comments) and refused once it exceeds
  ``max_element_bytes``, or, for BLOB vectors, the base64 size of
  ``max_blob_bytes`` plus markup. Independently, the input is fed in pieces
  of at most :data:`PIECE_BYTES`, and more than ``max_element_bytes`` bytes
  swallowed without a single parser event (a huge start tag, attribute value
  or comment still being buffered) is refused too.
* Garbage: anything not well-formed, text outside elements, or a closing tag
  of the pseudo-root is a syntax error.

Elements that are well-formed but break the INDI schema do not stop the
stream: they come out as :class:`~pyros.indi.messages.InvalidElement`.
"""

from __future__ import annotations

from lxml import etree

from pyros.indi.decoder import BLOB_MEMBER_TAG, BLOB_VECTOR_TAGS, XmlNode, decode_element
from pyros.indi.errors import IndiLimitError, IndiStreamError
from pyros.indi.limits import ParserLimits
from pyros.indi.messages import IndiElement

__all__ = ["PIECE_BYTES", "IndiParser"]

PIECE_BYTES = 64 * 1024
"""Most bytes handed to lxml at once; the granularity of the unparsed-bytes check."""
PSEUDO_ROOT = "pyros-indi-stream"
"""Name of the document element the parser wraps the stream in."""
_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY", b"<!ELEMENT", b"<!ATTLIST")
_MARKER_CARRY = max(len(marker) for marker in _DTD_MARKERS) - 1


class _StreamTarget:
    """lxml parser target: builds one top-level element at a time, within the limits."""

    def __init__(self, limits: ParserLimits) -> None:
        self.limits = limits
        self.root_open = False
        self.stack: list[XmlNode] = []
        self.output: list[IndiElement] = []
        self.unparsed = 0
        """Bytes fed since the last parser event (reset by every callback)."""
        self.element_bytes = 0
        self.element_budget = limits.max_element_bytes

    def _grow(self, amount: int) -> None:
        """Count ``amount`` bytes into the current top-level element and enforce its budget."""
        self.element_bytes += amount
        if self.element_bytes > self.element_budget:
            top = self.stack[0].tag if self.stack else "?"
            which = ("ParserLimits.max_blob_bytes, as base64 plus markup" if top in BLOB_VECTOR_TAGS
                     else "ParserLimits.max_element_bytes")
            raise IndiLimitError(f"<{top}> element larger than {self.element_budget} bytes ({which})")

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        self.unparsed = 0
        if not self.root_open:
            self.root_open = True
            return
        depth = len(self.stack) + 1
        if depth > self.limits.max_depth:
            raise IndiLimitError(f"XML elements nested deeper than {self.limits.max_depth} levels "
                                 f"(ParserLimits.max_depth; INDI needs 2), at <{tag}>")
        node = XmlNode(tag, dict(attributes), data=bytearray() if tag == BLOB_MEMBER_TAG else None)
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.element_bytes = 0
            self.element_budget = (self.limits.max_blob_element_bytes if tag in BLOB_VECTOR_TAGS
                                   else self.limits.max_element_bytes)
        self.stack.append(node)
        self._grow(2 * len(tag) + 5 + sum(len(key) + len(value) + 4 for key, value in node.attributes.items()))

    def data(self, text: str) -> None:
        self.unparsed = 0
        if not self.stack:
            if text.strip():
                raise IndiStreamError(f"text outside any INDI element: {text.strip()[:40]!r}")
            return
        self._grow(len(text))
        node = self.stack[-1]
        if node.data is not None:
            # Non-ASCII characters cannot be base64; '?' makes the decoder reject the BLOB.
            node.data += text.encode("ascii", "replace")
        else:
            node.text_parts.append(text)

    def end(self, tag: str) -> None:
        self.unparsed = 0
        if not self.stack:
            raise IndiStreamError(f"the stream closed the parser's pseudo-root element </{tag}>")
        node = self.stack.pop()
        if not self.stack:
            self.output.append(decode_element(node, self.limits))
            self.element_bytes = 0

    def comment(self, text: str) -> None:
        self.unparsed = 0
        if self.stack:
            self._grow(len(text) + 7)

    def pi(self, target: str, data: str | None = None) -> None:
        self.unparsed = 0
        if self.stack:
            self._grow(len(target) + len(data or "") + 5)

    def close(self) -> None:
        return None


class IndiParser:
    """Incremental, bounded parser of an INDI byte stream (no I/O of its own).

    Args:
        limits: Safety limits (the defaults of :class:`ParserLimits` if None).
    """

    def __init__(self, limits: ParserLimits | None = None) -> None:
        self.limits = limits if limits is not None else ParserLimits()
        self._target = _StreamTarget(self.limits)
        self._xml = etree.XMLParser(target=self._target, resolve_entities="internal", no_network=True,
                                    load_dtd=False, dtd_validation=False, huge_tree=False, recover=False)
        self._error: IndiStreamError | None = None
        self._tail = b""
        self._dtd_marker: bytes | None = None
        self._xml.feed(f"<{PSEUDO_ROOT}>".encode())

    @property
    def error(self) -> IndiStreamError | None:
        """The error that stopped the parser, or None while it works."""
        return self._error

    @property
    def in_element(self) -> bool:
        """True while a top-level element has started and not yet ended."""
        return bool(self._target.stack)

    def feed(self, data: bytes | bytearray | memoryview) -> list[IndiElement]:
        """Parse more of the stream.

        Args:
            data: The next bytes, split anywhere (even inside a UTF-8 character).

        Returns:
            The top-level elements completed by these bytes, decoded, in order.

        Raises:
            TypeError: If ``data`` is not bytes-like.
            IndiLimitError: If a safety limit is exceeded.
            IndiStreamError: If the stream is not well-formed XML, contains a
                DTD, or the parser failed before.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"IndiParser.feed takes bytes, not {type(data).__name__}")
        if self._error is not None:
            raise IndiStreamError(f"the INDI parser stopped earlier: {self._error}") from self._error
        view = memoryview(data).cast("B")
        output: list[IndiElement] = []
        self._target.output = output
        try:
            for offset in range(0, len(view), PIECE_BYTES):
                piece = bytes(view[offset:offset + PIECE_BYTES])
                self._look_for_dtd(piece)
                self._target.unparsed += len(piece)
                self._xml.feed(piece)
                if self._target.unparsed > self.limits.max_element_bytes:
                    raise IndiLimitError(f"more than {self.limits.max_element_bytes} bytes without a complete "
                                         f"tag, text or comment (ParserLimits.max_element_bytes)")
        except IndiStreamError as exc:
            self._error = exc
            raise
        except etree.XMLSyntaxError as exc:
            self._error = self._syntax_error(exc)
            raise self._error from None
        return output

    def _look_for_dtd(self, piece: bytes) -> None:
        """Remember a DTD declaration in the stream, to name it if the XML parser rejects it."""
        if self._dtd_marker is None:
            window = self._tail + piece
            for marker in _DTD_MARKERS:
                if marker in window:
                    self._dtd_marker = marker
                    break
        self._tail = (self._tail + piece)[-_MARKER_CARRY:]

    def _syntax_error(self, exc: etree.XMLSyntaxError) -> IndiStreamError:
        """A clear error for what lxml rejected."""
        detail = getattr(exc, "msg", None) or str(exc)
        if self._dtd_marker is not None:
            return IndiStreamError(f"DTD declaration ({self._dtd_marker.decode()}...) in the INDI stream refused: "
                                   f"DTDs and entity definitions are not allowed ({detail})")
        if "Entity" in detail:
            return IndiStreamError(f"entity reference refused: only the predefined XML entities and character "
                                   f"references are allowed in an INDI stream ({detail})")
        return IndiStreamError(f"malformed XML in the INDI stream: {detail}")
