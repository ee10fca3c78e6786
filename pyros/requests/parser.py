"""Read an observation request document safely: hostile input is refused, every problem is located.

The document is untrusted (it comes from users, files and alert handlers), so:

* it is refused before parsing if it is larger than :data:`MAX_SIZE` bytes or
  declares a DTD or an entity (nothing is ever expanded or fetched);
* lxml parses it with entity resolution, DTD loading and network access off;
* it is refused if it nests deeper than :data:`MAX_DEPTH` or holds more than
  :data:`MAX_ELEMENTS` elements;
* it is validated against ``schema/request-1.xsd``, then checked for what a
  schema cannot say (a window that ends before it starts, a preferred time
  outside every window, repeated sequence names, a bias with an exposure time).

Every problem names the line, the element path and the attribute, and all of
them are reported at once in :class:`~pyros.requests.problems.InvalidRequest`.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Callable, TypeVar

from lxml import etree

from pyros.requests.problems import InvalidRequest, RequestProblem
from pyros.requests.spec import AlbumSpec, ConstraintsSpec, PlanSpec, RequestSpec, SequenceSpec, TargetSpec, Window

MAX_SIZE = 1024 * 1024
"""Largest document accepted, bytes."""
MAX_DEPTH = 16
"""Deepest element nesting accepted (a valid request nests 5 deep)."""
MAX_ELEMENTS = 50_000
"""Most elements accepted in one document."""
SCHEMA_FILE = "request-1.xsd"

_FORBIDDEN = (b"<!DOCTYPE", b"<!ENTITY", b"<!ELEMENT", b"<!ATTLIST")
_ATTRIBUTE_IN_MESSAGE = re.compile(r"attribute '([^']+)'")
_T = TypeVar("_T")


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    """The request schema, loaded once from the package."""
    text = resources.files("pyros.requests").joinpath("schema", SCHEMA_FILE).read_bytes()
    return etree.XMLSchema(etree.fromstring(text, _parser()))


def _parser() -> etree.XMLParser:
    """An lxml parser that expands nothing, loads nothing and never touches the network."""
    return etree.XMLParser(resolve_entities=False, load_dtd=False, dtd_validation=False, no_network=True,
                           huge_tree=False, remove_comments=True, remove_pis=True, collect_ids=False)


def _path(element: etree._Element) -> str:
    """``/request/sequence[2]/target``: the element's place, with positions among same-named siblings."""
    parts = []
    node: etree._Element | None = element
    while node is not None:
        parent = node.getparent()
        tag = node.tag if isinstance(node.tag, str) else "?"
        if parent is not None:
            same = [child for child in parent if child.tag == node.tag]
            if len(same) > 1:
                tag = f"{tag}[{same.index(node) + 1}]"
        parts.append(tag)
        node = parent
    return "/" + "/".join(reversed(parts))


def _problem(element: etree._Element, message: str, attribute: str | None = None) -> RequestProblem:
    return RequestProblem(message, element.sourceline, _path(element), attribute)


def _read(data: bytes) -> etree._Element:
    """Parse after the size and declaration checks, then check depth and size of the tree."""
    if len(data) > MAX_SIZE:
        raise InvalidRequest([RequestProblem(f"document is {len(data):,} bytes; the limit is {MAX_SIZE:,}")])
    for marker in _FORBIDDEN:
        position = data.find(marker)
        if position >= 0:
            line = data.count(b"\n", 0, position) + 1
            raise InvalidRequest([RequestProblem(
                f"{marker[2:].decode()} declarations are not allowed in a request (no DTD, no entities)", line)])
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) else None
        raise InvalidRequest([RequestProblem(f"not well-formed XML: {exc.msg}", line)]) from None
    count = 0
    for element in root.iter():
        count += 1
        if count > MAX_ELEMENTS:
            raise InvalidRequest([_problem(element, f"more than {MAX_ELEMENTS:,} elements")])
        depth = sum(1 for _ in element.iterancestors())
        if depth >= MAX_DEPTH:
            raise InvalidRequest([_problem(element, f"elements nest deeper than {MAX_DEPTH}")])
    return root


def _validate(root: etree._Element) -> None:
    """Check against the XSD; every violation becomes a located problem."""
    schema = _schema()
    if schema.validate(root):
        return
    problems = []
    for entry in schema.error_log:
        attribute = _ATTRIBUTE_IN_MESSAGE.search(entry.message)
        message = entry.message
        problems.append(RequestProblem(message, entry.line, entry.path or None,
                                       attribute.group(1) if attribute else None))
    raise InvalidRequest(problems)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)


def _optional(element: etree._Element | None, attribute: str, convert: Callable[[str], _T]) -> _T | None:
    if element is None:
        return None
    value = element.get(attribute)
    return None if value is None else convert(value)


def _constraints(element: etree._Element | None, problems: list[RequestProblem]) -> ConstraintsSpec:
    if element is None:
        return ConstraintsSpec()
    windows = []
    for window in element.findall("window"):
        start, end = _instant(window.get("start", "")), _instant(window.get("end", ""))
        if end <= start:
            problems.append(_problem(window, f"ends ({end.isoformat()}) before or when it starts "
                                             f"({start.isoformat()})", "end"))
        windows.append(Window(start, end))
    preferred_element = element.find("preferred")
    preferred = _optional(preferred_element, "time", _instant)
    if preferred is not None and windows and not any(w.start <= preferred <= w.end for w in windows):
        problems.append(_problem(preferred_element, f"{preferred.isoformat()} is outside every window", "time"))
    return ConstraintsSpec(tuple(windows), preferred, _optional(element.find("airmass"), "max", float),
                           _optional(element.find("moon"), "min_distance", float))


def _plan(element: etree._Element, problems: list[RequestProblem]) -> PlanSpec:
    plan = PlanSpec(filter=element.get("filter", ""), exposure_s=float(element.get("exposure", "0")),
                    count=int(element.get("count", "0")), binning=int(element.get("binning", "1")),
                    image_type=element.get("type", "light"), name=element.get("name"))
    if plan.image_type == "bias" and plan.exposure_s != 0:
        problems.append(_problem(element, f"a bias frame has no exposure time, got {plan.exposure_s:g} s",
                                 "exposure"))
    if plan.image_type != "bias" and plan.exposure_s == 0:
        problems.append(_problem(element, f"a {plan.image_type} frame needs an exposure time > 0", "exposure"))
    return plan


def _sequence(element: etree._Element, problems: list[RequestProblem]) -> SequenceSpec:
    target = element.find("target")
    albums = tuple(AlbumSpec(album.get("detector", ""), tuple(_plan(p, problems) for p in album.findall("plan")),
                             album.get("name"), album.sourceline) for album in element.findall("album"))
    return SequenceSpec(
        name=element.get("name", ""),
        target=TargetSpec(target.get("name", ""), float(target.get("ra", "nan")), float(target.get("dec", "nan"))),
        constraints=_constraints(element.find("constraints"), problems),
        albums=albums)


def parse_request(data: bytes | str) -> RequestSpec:
    """Parse and validate a request document.

    Args:
        data: The document (bytes as read from a file, or text).

    Returns:
        The request.

    Raises:
        InvalidRequest: With every problem found, each located by line, element and attribute.
        TypeError: If ``data`` is neither bytes nor str.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"a request document is bytes or str, not {type(data).__name__}")
    root = _read(bytes(data))
    _validate(root)
    problems: list[RequestProblem] = []
    sequences = tuple(_sequence(element, problems) for element in root.findall("sequence"))
    seen: dict[str, int] = {}
    for element, sequence in zip(root.findall("sequence"), sequences):
        if sequence.name in seen:
            problems.append(_problem(element, f"sequence name {sequence.name!r} is already used on line "
                                              f"{seen[sequence.name]}", "name"))
        seen.setdefault(sequence.name, element.sourceline)
    if problems:
        raise InvalidRequest(problems)
    description = root.findtext("description") or ""
    return RequestSpec(name=root.get("name", ""), program=root.get("program", ""),
                       priority=float(root.get("priority", "0")), sequences=sequences,
                       description=description.strip(), line=root.sourceline)
