"""Type naming, value checking and docstring parsing of the service framework."""

from __future__ import annotations

import enum
from typing import Any, Literal, Optional, Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyros.service.docstring import parse_docstring
from pyros.service.validation import ArgumentTypeError, check_annotation, coerce, describe_value, type_name


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@pytest.mark.parametrize(
    ("tp", "name"),
    [
        (int, "int"),
        (float, "float"),
        (str, "str"),
        (bool, "bool"),
        (bytes, "bytes"),
        (None, "None"),
        (type(None), "None"),
        (Any, "Any"),
        (list, "list"),
        (list[int], "list[int]"),
        (dict[str, float], "dict[str, float]"),
        (dict[str, list[int]], "dict[str, list[int]]"),
        (tuple[int, str], "tuple[int, str]"),
        (tuple[float, ...], "tuple[float, ...]"),
        (Literal["fast", "slow"], "Literal['fast', 'slow']"),
        (Optional[int], "int | None"),
        (int | None, "int | None"),
        (Union[int, str], "int | str"),
        (Mode, "Mode('fast', 'slow')"),
        (Level, "Level(1, 2)"),
    ],
)
def test_type_name(tp: Any, name: str) -> None:
    assert type_name(tp) == name


def test_describe_value_is_short() -> None:
    assert describe_value(None) == "None"
    assert describe_value("abc") == "str 'abc'"
    assert describe_value([1, 2]) == "list of 2 items"
    assert describe_value({"a": 1}) == "dict of 1 item"
    assert len(describe_value("x" * 10_000)) < 80


@pytest.mark.parametrize(
    ("value", "tp", "expected"),
    [
        (3, int, 3),
        (3, float, 3.0),
        (2.5, float, 2.5),
        ("a", str, "a"),
        (True, bool, True),
        (b"\x00", bytes, b"\x00"),
        (None, None, None),
        (None, Optional[int], None),
        (4, Optional[int], 4),
        ([1, 2], list[int], [1, 2]),
        ([1, "a"], list, [1, "a"]),
        ({"a": 1.5}, dict[str, float], {"a": 1.5}),
        ({"a": 1}, dict[str, float], {"a": 1.0}),
        ([1, "x"], tuple[int, str], (1, "x")),
        ([1, 2, 3], tuple[int, ...], (1, 2, 3)),
        ([1, 2], tuple, (1, 2)),
        ("fast", Literal["fast", "slow"], "fast"),
        ("slow", Mode, Mode.SLOW),
        (2, Level, Level.HIGH),
        ("s", Union[int, str], "s"),
        ({"deep": [object]}, Any, {"deep": [object]}),
    ],
)
def test_coerce_accepts(value: Any, tp: Any, expected: Any) -> None:
    result = coerce(value, tp, "x")
    assert result == expected
    assert type(result) is type(expected)


def test_float_int_union_keeps_the_exact_type() -> None:
    assert type(coerce(1, float | int, "x")) is int
    assert type(coerce(1.0, float | int, "x")) is float


@pytest.mark.parametrize(
    ("value", "tp", "path", "expected", "got"),
    [
        ("3", int, "x", "int", "str '3'"),
        (True, int, "x", "int", "bool True"),
        (1, bool, "x", "bool", "int 1"),
        (False, float, "x", "float", "bool False"),
        (None, int, "x", "int", "None"),
        (1, str, "x", "str", "int 1"),
        ("a", bytes, "x", "bytes", "str 'a'"),
        (1, None, "x", "None", "int 1"),
        ("medium", Literal["fast", "slow"], "x", "Literal['fast', 'slow']", "str 'medium'"),
        (True, Literal[1], "x", "Literal[1]", "bool True"),
        ("medium", Mode, "x", "Mode('fast', 'slow')", "str 'medium'"),
        (True, Level, "x", "Level(1, 2)", "bool True"),
        ([1, "a"], list[int], "x[1]", "int", "str 'a'"),
        ("ab", list[int], "x", "list[int]", "str 'ab'"),
        ({"a": "b"}, dict[str, int], "x['a']", "int", "str 'b'"),
        ([1, 2], dict[str, int], "x", "dict[str, int]", "list of 2 items"),
        ([1, 2, 3], tuple[int, int], "x", "tuple[int, int] (2 items)", "list of 3 items"),
        ([1, "a"], tuple[int, int], "x[1]", "int", "str 'a'"),
        (1.5, Union[int, str], "x", "int | str", "float 1.5"),
        ([1, "a"], Optional[list[int]], "x[1]", "int", "str 'a'"),
    ],
)
def test_coerce_refuses(value: Any, tp: Any, path: str, expected: str, got: str) -> None:
    with pytest.raises(ArgumentTypeError) as info:
        coerce(value, tp, "x")
    assert (info.value.path, info.value.expected, info.value.got) == (path, expected, got)


@pytest.mark.parametrize("tp", [int, list[dict[str, tuple[int, ...]]], Optional[Mode], Literal["a", 1, None], Any])
def test_check_annotation_accepts(tp: Any) -> None:
    check_annotation(tp, "C.m(x)")


@pytest.mark.parametrize("tp", [complex, dict[int, str], set[int], list[complex], Literal[1.5], "x"])
def test_check_annotation_refuses(tp: Any) -> None:
    with pytest.raises(TypeError, match=r"C\.m\(x\)"):
        check_annotation(tp, "C.m(x)")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | st.text() | st.binary(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=8,
)


@settings(max_examples=150)
@given(json_values)
def test_coerce_never_fails_otherwise(value: Any) -> None:
    for tp in (int, float, str, bool, bytes, list[int], dict[str, float], tuple[int, str], Mode, Optional[str]):
        try:
            coerce(value, tp, "x")
        except ArgumentTypeError as exc:
            assert exc.path.startswith("x")


def test_parse_google_docstring() -> None:
    doc = parse_docstring(
        """Set the rotation speed.

        The dome accelerates smoothly.

        Args:
            degrees_per_s (float): Rotation speed in
                degrees per second.
            mode: Either fast or slow.

        Returns:
            The speed actually set.

        Raises:
            ValueError: never.
        """
    )
    assert doc.description == "Set the rotation speed.\n\nThe dome accelerates smoothly."
    assert doc.params == {"degrees_per_s": "Rotation speed in degrees per second.", "mode": "Either fast or slow."}
    assert doc.returns == "The speed actually set."


def test_parse_empty_docstring() -> None:
    doc = parse_docstring(None)
    assert (doc.description, doc.params, doc.returns) == ("", {}, "")
