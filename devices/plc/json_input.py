"""Read untrusted JSON safely: size, depth, encoding and numbers checked, every refusal explained.

A PLC status arrives from a TCP link to the PLC (or from a file, or from another service), so it is
treated as hostile:

* at most :data:`MAX_INPUT_BYTES` bytes, checked before anything is parsed;
* valid UTF-8 (the offending byte is named otherwise);
* nesting at most :data:`MAX_DEPTH` deep, checked by a scan before the recursive JSON parser runs;
* no ``NaN``/``Infinity`` literals, no number that overflows to infinity, no integer longer than
  :data:`MAX_INTEGER_DIGITS` digits, no key repeated in one object;
* a value given as Python objects (already decoded by someone else) is held to the same rules:
  JSON types only, string keys, finite numbers, the same depth, at most :data:`MAX_NODES` values.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Callable, Mapping

from devices.plc.bracket_repair import BracketInsertion, repair_brackets
from devices.plc.problems import ROOT_PATH, InvalidPlcStatus, json_path

MAX_INPUT_BYTES = 1024 * 1024
"""Largest JSON text accepted, in bytes (a realistic status is a few kilobytes)."""
MAX_DEPTH = 16
"""Deepest nesting of arrays and objects accepted (a status wrapped in a list nests 6 deep)."""
MAX_NODES = 200_000
"""Most JSON values (objects, arrays, scalars) in one document given as Python objects."""
MAX_INTEGER_DIGITS = 30
"""Longest integer literal accepted."""


_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


class _Refused(ValueError):
    """Something JSON text may not carry here (raised from inside the parser)."""


def decode_utf8(data: bytes) -> str:
    """Bytes as text, refusing anything but UTF-8.

    Args:
        data: Raw input.

    Raises:
        InvalidPlcStatus: Naming the first byte that is not UTF-8.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidPlcStatus.at(
            ROOT_PATH, f"input is not UTF-8: byte {exc.start} (0x{data[exc.start]:02x}) {exc.reason}") from None


def check_size(text: str) -> None:
    """Refuse text longer than :data:`MAX_INPUT_BYTES` once encoded in UTF-8.

    Raises:
        InvalidPlcStatus: If it is too long.
    """
    # A character is at least one byte, so the length alone settles most cases without encoding.
    size = len(text) if len(text) > MAX_INPUT_BYTES else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_INPUT_BYTES:
        raise InvalidPlcStatus.at(ROOT_PATH, f"input is at least {size:,} bytes; the limit is {MAX_INPUT_BYTES:,}")


def check_nesting(text: str) -> None:
    """Refuse JSON text that nests deeper than :data:`MAX_DEPTH`, before any recursive parser sees it.

    Raises:
        InvalidPlcStatus: Naming the line and column where the limit is passed.
    """
    depth = 0
    for token in _STRING_OR_BRACKET.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                position = token.start()
                line = text.count("\n", 0, position) + 1
                column = position - (text.rfind("\n", 0, position) + 1) + 1
                raise InvalidPlcStatus.at(
                    ROOT_PATH, f"JSON nests deeper than {MAX_DEPTH} levels (line {line}, column {column})")
        elif char in "]}":
            depth = max(0, depth - 1)


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number; non-finite numbers are refused")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise _Refused(f"number {literal[:40]} is too large for a 64-bit float")
    return number


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _Refused(f"integer of {len(literal.lstrip('-')):,} digits; at most {MAX_INTEGER_DIGITS} are accepted")
    return int(literal)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"key {key!r} appears twice in one object")
        result[key] = value
    return result


def parse_json_text(text: str) -> Any:
    """Parse JSON text strictly (after :func:`check_size` and :func:`check_nesting`).

    Raises:
        InvalidPlcStatus: With the parser's line and column, or what was refused.
    """
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_bounded_int,
                          object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise InvalidPlcStatus.at(
            ROOT_PATH, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except _Refused as exc:
        raise InvalidPlcStatus.at(ROOT_PATH, f"not accepted JSON: {exc}") from None
    except RecursionError:  # check_nesting makes this unreachable for text it passed; kept as a last guard
        raise InvalidPlcStatus.at(ROOT_PATH, "JSON nests too deep") from None


def read_json(raw: bytes | bytearray | str, *, repair: bool = False,
              on_repair: Callable[[BracketInsertion], None] | None = None) -> Any:
    """Read untrusted JSON text into Python values, with every check of this module.

    Args:
        raw: The text, or its UTF-8 bytes.
        repair: Put back missing closing brackets (:mod:`devices.plc.bracket_repair`) if the text does not
            parse as it is.
        on_repair: Told of each bracket put back.

    Returns:
        The decoded JSON value.

    Raises:
        InvalidPlcStatus: If the input is refused.
    """
    text = decode_utf8(bytes(raw)) if isinstance(raw, (bytes, bytearray)) else raw
    check_size(text)
    check_nesting(text)
    try:
        return parse_json_text(text)
    except InvalidPlcStatus as strict_error:
        repaired = repair_brackets(text)
        if not repaired.insertions:
            raise
        try:
            check_nesting(repaired.text)
            document = parse_json_text(repaired.text)
        except InvalidPlcStatus:
            raise strict_error from None
        problem = strict_error.problems[0]
        missing = len(repaired.insertions)  # at most MAX_DEPTH: each one left the unrepaired text a level deeper
        if not repair:
            raise InvalidPlcStatus.at(problem.path, f"{problem.message}; it lacks {missing} closing bracket(s) as "
                                      "seed-era PLC firmware does: repair_brackets=True puts them back") from None
        for insertion in repaired.insertions:
            if on_repair is not None:
                on_repair(insertion)
        return document


def check_plain_json(value: Any) -> None:
    """Refuse Python values that JSON could not carry, or that break the limits of this module.

    Walks iteratively (no recursion), so hostile depth cannot exhaust the stack.

    Args:
        value: Decoded JSON (dicts, lists, str, int, float, bool, None).

    Raises:
        InvalidPlcStatus: Naming the path of the first value at fault.
    """
    pending: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    nodes = 0
    while pending:
        item, path = pending.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise InvalidPlcStatus.at(ROOT_PATH, f"more than {MAX_NODES:,} JSON values")
        if isinstance(item, (Mapping, list, tuple)) and len(path) >= MAX_DEPTH:
            raise InvalidPlcStatus.at(json_path(path), f"nests deeper than {MAX_DEPTH} levels")
        if isinstance(item, Mapping):
            for key in item:
                if not isinstance(key, str):
                    raise InvalidPlcStatus.at(json_path(path), f"key {key!r} is not a string")
            pending.extend((child, (*path, key)) for key, child in reversed(list(item.items())))
        elif isinstance(item, (list, tuple)):
            pending.extend((child, (*path, index)) for index, child in reversed(list(enumerate(item))))
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidPlcStatus.at(json_path(path), "string holds a lone surrogate, not Unicode text") from None
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidPlcStatus.at(json_path(path), f"{item} is not a finite number")
        elif isinstance(item, int) and not isinstance(item, bool):
            if item.bit_length() > 100:
                raise InvalidPlcStatus.at(json_path(path), "integer is too large")
        elif item is not None and not isinstance(item, bool):
            raise InvalidPlcStatus.at(json_path(path), f"a {type(item).__name__} is not a JSON value")
