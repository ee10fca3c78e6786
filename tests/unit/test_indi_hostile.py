"""Hostile input to the INDI stream parser: each attack is refused with a clear error, in bounded memory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyros.indi import IndiLimitError, IndiParser, IndiStreamError, ParserLimits
from pyros.indi.parser import PIECE_BYTES

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<message device="x" message="&lol9;"/>
"""

EXTERNAL_ENTITY = b"""<!DOCTYPE message [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<message device="x" message="&secret;"/>
"""

EXTERNAL_DTD = b'<!DOCTYPE message SYSTEM "http://127.0.0.1:1/evil.dtd"><message message="x"/>'

MiB = 1024 * 1024


def refuse(data: bytes, error: type[Exception], match: str, limits: ParserLimits | None = None) -> None:
    parser = IndiParser(limits)
    with pytest.raises(error, match=match):
        parser.feed(data)
    assert parser.error is not None


def test_billion_laughs_is_refused_as_a_dtd() -> None:
    refuse(BILLION_LAUGHS, IndiStreamError, r"DTD declaration \(<!DOCTYPE\.\.\.\).*not allowed")


@pytest.mark.parametrize(("attack", "match"), [
    (BILLION_LAUGHS, "XML declaration allowed only at the start"),
    (BILLION_LAUGHS.split(b"\n", 1)[1], "DTD declaration"),
])
def test_billion_laughs_after_valid_messages_fed_in_small_pieces(attack: bytes, match: str) -> None:
    parser = IndiParser()
    assert len(parser.feed(b'<message message="ok"/>\n')) == 1
    with pytest.raises(IndiStreamError, match=match):
        for offset in range(0, len(attack), 5):
            parser.feed(attack[offset:offset + 5])


def test_external_entity_is_refused() -> None:
    refuse(EXTERNAL_ENTITY, IndiStreamError, "DTD declaration.*not allowed")


def test_external_dtd_is_refused() -> None:
    refuse(EXTERNAL_DTD, IndiStreamError, "DTD declaration")


def test_entity_declaration_alone_is_refused() -> None:
    refuse(b'<!ENTITY x "y"><message message="&x;"/>', IndiStreamError, r"<!ENTITY\.\.\..*not allowed")


def test_undeclared_entity_reference_is_refused() -> None:
    refuse(b'<message device="x" message="&lol9;"/>', IndiStreamError,
           "only the predefined XML entities and character references are allowed")
    refuse(b'<message device="x">&secret;</message>', IndiStreamError, "entity reference refused")


def chunks_of(total: int, chunk: bytes) -> Iterator[bytes]:
    for _ in range(total // len(chunk)):
        yield chunk


def feed_until_refused(parser: IndiParser, head: bytes, body: Iterator[bytes], error: type[Exception],
                       match: str) -> int:
    """Feed ``head`` then ``body`` until the parser refuses; return the bytes fed."""
    fed = len(head)
    with pytest.raises(error, match=match):
        parser.feed(head)
        for piece in body:
            fed += len(piece)
            parser.feed(piece)
    return fed


def test_100_mb_text_is_refused_after_the_element_limit() -> None:
    parser = IndiParser()
    head = b'<setTextVector device="D" name="P"><oneText name="T">'
    fed = feed_until_refused(parser, head, chunks_of(100 * MiB, b"A" * MiB), IndiLimitError,
                             r"<setTextVector> element larger than 1048576 bytes \(ParserLimits.max_element_bytes\)")
    assert fed <= 2 * MiB + len(head)


def test_100_mb_text_in_one_feed_is_refused() -> None:
    parser = IndiParser()
    with pytest.raises(IndiLimitError, match="max_element_bytes"):
        parser.feed(b'<message message="x">' + b"B" * (100 * MiB) + b"</message>")


def test_100_mb_attribute_is_refused_before_the_tag_is_complete() -> None:
    parser = IndiParser()
    fed = feed_until_refused(parser, b'<message device="D" message="', chunks_of(100 * MiB, b"C" * 65536),
                             IndiLimitError, "without a complete tag, text or comment")
    assert fed <= MiB + 2 * PIECE_BYTES


def test_huge_comment_is_refused() -> None:
    parser = IndiParser()
    fed = feed_until_refused(parser, b"<!--", chunks_of(100 * MiB, b"-x" * 32768), IndiLimitError,
                             "without a complete tag")
    assert fed <= MiB + 2 * PIECE_BYTES


def test_many_small_members_count_toward_the_element_limit() -> None:
    member = b'<oneText name="a">x</oneText>'
    parser = IndiParser(ParserLimits(max_element_bytes=64 * 1024))
    fed = feed_until_refused(parser, b'<setTextVector device="D" name="P">', chunks_of(10 * MiB, member * 100),
                             IndiLimitError, "max_element_bytes")
    assert fed <= 64 * 1024 + len(member) * 100 + 100


def test_10000_nested_elements_are_refused() -> None:
    refuse(b"<a>" * 10_000 + b"</a>" * 10_000, IndiLimitError,
           r"nested deeper than 4 levels \(ParserLimits.max_depth; INDI needs 2\), at <a>")


def test_nesting_limit_is_configurable() -> None:
    nested = b'<message message="m"><x><y/></x></message>'
    assert len(IndiParser(ParserLimits(max_depth=3)).feed(nested)) == 1
    refuse(nested, IndiLimitError, "nested deeper than 2 levels", ParserLimits(max_depth=2))


@pytest.mark.parametrize(("garbage", "match"), [
    (b"\x00\x01\x02 garbage <message/>", "malformed XML"),
    (b"\xff\xfe<\x00m\x00", "malformed XML"),
    (b"}}}} <<<>>> {{{{", "text outside any INDI element: '}}}}'"),
    (b"<<<>>> {{{{", "malformed XML"),
    (b"plain text before any element <message/>", "text outside any INDI element: 'plain text before"),
    (b'<message message="a"/> and text after it <message/>', "text outside any INDI element"),
    (b'<message message="x"></wrong>', "malformed XML"),
    (b'<message a="1" a="2"/>', "malformed XML"),
    (b'<?xml version="1.0"?><message/>', "malformed XML"),
    (b"<message>\xc3\x28</message>", "malformed XML"),
    (b"</pyros-indi-stream><message/>", "pseudo-root"),
    (b"<message>\x01</message>", "malformed XML"),
])
def test_garbage_is_refused(garbage: bytes, match: str) -> None:
    parser = IndiParser()
    with pytest.raises(IndiStreamError, match=match):
        parser.feed(garbage)
        parser.feed(b'<message message="more"/>' * 4)


FUZZ_EXAMPLES = 2000
"""Examples per fuzz test, in every profile: each builds a parser, so the CI profile's 10,000 would cost ~30 s."""


@settings(max_examples=FUZZ_EXAMPLES)
@given(st.binary(max_size=512))
def test_random_bytes_never_raise_anything_but_a_stream_error(data: bytes) -> None:
    parser = IndiParser(ParserLimits(max_element_bytes=2048))
    try:
        parser.feed(data)
        parser.feed(b"<message/>")
    except IndiStreamError:
        assert parser.error is not None


@settings(max_examples=FUZZ_EXAMPLES)
@given(st.lists(st.sampled_from([b"<", b">", b"/", b"=", b'"', b"&", b";", b"#", b"!", b"--", b"?", b"x", b" ",
                                 b"defNumberVector", b"oneBLOB", b"device", b"name", b"amp", b"\n", b"\xc3",
                                 b"<message ", b'message="m"/>']), max_size=60))
def test_xml_like_fragments_never_raise_anything_but_a_stream_error(parts: list[bytes]) -> None:
    parser = IndiParser(ParserLimits(max_element_bytes=2048))
    try:
        for part in parts:
            parser.feed(part)
    except IndiStreamError:
        assert parser.error is not None


@pytest.mark.parametrize(("field", "value", "error"), [
    ("max_depth", 1, ValueError),
    ("max_element_bytes", 10, ValueError),
    ("max_blob_bytes", 0, ValueError),
    ("max_element_bytes", "1MB", TypeError),
    ("max_depth", True, TypeError),
])
def test_limits_are_validated(field: str, value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match=f"ParserLimits.{field}"):
        ParserLimits(**{field: value})  # type: ignore[arg-type]
