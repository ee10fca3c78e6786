"""Checking values received from peers against type hints, and naming types.

The supported annotations are those a msgpack body can carry:

* ``int`` (``bool`` refused), ``float`` (``int`` accepted and converted),
  ``str``, ``bool`` (``int`` refused), ``bytes``, ``None``;
* ``list`` / ``list[T]``, ``dict`` / ``dict[str, T]``, ``tuple`` /
  ``tuple[A, B]`` / ``tuple[T, ...]`` (a msgpack array is converted to a
  tuple);
* ``Literal[...]`` of str, int, bool, bytes or None values (the type must
  match as well as the value, so ``1`` is not ``True``);
* ``Union[...]``, ``Optional[T]``, ``A | B``;
* ``Any`` (and ``object``, or no annotation): anything;
* subclasses of :class:`enum.Enum`, received by value and converted to the
  member.

:func:`check_annotation` rejects anything else when a service class is
loaded, so that a service never starts with a parameter no peer could fill.
"""

from __future__ import annotations

import enum
import types
from typing import Any, Literal, Union, get_args, get_origin

_NONE_TYPE = type(None)
_SCALARS: tuple[type, ...] = (bool, int, float, str, bytes)
_LITERAL_VALUE_TYPES: tuple[type, ...] = (str, int, bool, bytes, _NONE_TYPE)
_REPR_LIMIT = 60


class ArgumentTypeError(Exception):
    """A value does not match the type it was checked against.

    Attributes:
        path: Where the mismatch is, e.g. ``xs`` or ``xs[2]`` or ``opts['a']``.
        expected: Readable name of the expected type.
        got: Readable description of the received value.
    """

    def __init__(self, path: str, expected: str, got: str) -> None:
        """Create the error.

        Args:
            path: Where the mismatch is.
            expected: Readable name of the expected type.
            got: Readable description of the received value.
        """
        super().__init__(f"{path}: expected {expected}, got {got}")
        self.path = path
        self.expected = expected
        self.got = got


def _is_union(origin: Any) -> bool:
    return origin is Union or origin is types.UnionType


def _is_enum(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def type_name(tp: Any) -> str:
    """Return a readable name for a type annotation.

    Examples: ``float``, ``list[int]``, ``dict[str, float]``, ``int | None``,
    ``Literal['fast', 'slow']``, ``Mode('a', 'b')`` for an enum, ``Any``.

    Args:
        tp: A type annotation (a class, a typing construct, or ``None``).

    Returns:
        The name, never raising whatever ``tp`` is.
    """
    if tp is Any or tp is object:
        return "Any"
    if tp is None or tp is _NONE_TYPE:
        return "None"
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is Literal:
        return "Literal[" + ", ".join(repr(a) for a in args) + "]"
    if _is_union(origin):
        return " | ".join(type_name(a) for a in args)
    if origin is not None:
        base = getattr(origin, "__name__", None) or str(origin).replace("typing.", "")
        if not args:
            return f"{base}[()]" if origin is tuple else base
        return f"{base}[" + ", ".join("..." if a is Ellipsis else type_name(a) for a in args) + "]"
    if _is_enum(tp):
        return f"{tp.__name__}(" + ", ".join(repr(m.value) for m in tp) + ")"
    if isinstance(tp, type):
        return tp.__name__
    if isinstance(tp, str):
        return tp
    return str(tp).replace("typing.", "")


def describe_value(value: Any) -> str:
    """Return a short description of a received value, for error messages.

    Scalars are shown with their (truncated) value, e.g. ``str 'medium'``;
    containers by their type and size, e.g. ``list of 3 items``.

    Args:
        value: Any value decoded from a body.

    Returns:
        The description.
    """
    if value is None:
        return "None"
    name = type(value).__name__
    if isinstance(value, (list, tuple, dict)):
        n = len(value)
        return f"{name} of {n} item{'' if n == 1 else 's'}"
    text = repr(value)
    if len(text) > _REPR_LIMIT:
        text = text[: _REPR_LIMIT - 3] + "..."
    return f"{name} {text}"


def check_annotation(tp: Any, where: str) -> None:
    """Check that an annotation is one the validator supports.

    Args:
        tp: The annotation.
        where: What it annotates, for the error message (e.g. ``Dome.open(speed)``).

    Raises:
        TypeError: If ``tp`` (or a type nested in it) is not supported.
    """
    if tp is Any or tp is object or tp is None or tp is _NONE_TYPE:
        return
    if tp in _SCALARS or tp in (list, dict, tuple) or _is_enum(tp):
        return
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is Literal:
        for value in args:
            if type(value) not in _LITERAL_VALUE_TYPES:
                raise TypeError(f"{where}: Literal values must be str, int, bool, bytes or None, got {value!r}")
        return
    if _is_union(origin):
        for member in args:
            check_annotation(member, where)
        return
    if origin is list:
        for member in args:
            check_annotation(member, where)
        return
    if origin is dict:
        if args:
            key, value = args
            if key not in (str, Any):
                raise TypeError(f"{where}: map keys are strings on the wire; {type_name(tp)} is not supported")
            check_annotation(value, where)
        return
    if origin is tuple:
        for member in args:
            if member is not Ellipsis:
                check_annotation(member, where)
        return
    raise TypeError(f"{where}: unsupported parameter type {type_name(tp)}")


def coerce(value: Any, tp: Any, path: str) -> Any:
    """Check a received value against an annotation and convert it.

    Conversions: ``int`` to ``float`` for a ``float``; an array to a
    ``tuple`` for a tuple type; a value to the enum member that has it.
    Containers are rebuilt, so the result never aliases the input.

    Args:
        value: The received value.
        tp: An annotation accepted by :func:`check_annotation`.
        path: Where the value is, used in the error (e.g. the argument name).

    Returns:
        The value, converted where stated above.

    Raises:
        ArgumentTypeError: At the innermost mismatch found.
    """
    if tp is Any or tp is object:
        return value
    if tp is None or tp is _NONE_TYPE:
        if value is None:
            return None
        raise ArgumentTypeError(path, "None", describe_value(value))
    origin = get_origin(tp)
    if origin is Literal:
        for choice in get_args(tp):
            if type(value) is type(choice) and value == choice:
                return value
        raise ArgumentTypeError(path, type_name(tp), describe_value(value))
    if _is_union(origin):
        return _coerce_union(value, tp, path)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ArgumentTypeError(path, "bool", describe_value(value))
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        raise ArgumentTypeError(path, "int", describe_value(value))
    if tp is float:
        if isinstance(value, float):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        raise ArgumentTypeError(path, "float", describe_value(value))
    if tp is str:
        if isinstance(value, str):
            return value
        raise ArgumentTypeError(path, "str", describe_value(value))
    if tp is bytes:
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        raise ArgumentTypeError(path, "bytes", describe_value(value))
    if _is_enum(tp):
        for member in tp:
            if type(member.value) is type(value) and member.value == value:
                return member
        raise ArgumentTypeError(path, type_name(tp), describe_value(value))
    if tp is list or origin is list:
        return _coerce_list(value, tp, path)
    if tp is dict or origin is dict:
        return _coerce_dict(value, tp, path)
    if tp is tuple or origin is tuple:
        return _coerce_tuple(value, tp, path)
    raise TypeError(f"unsupported annotation {type_name(tp)} at {path}")


def _coerce_union(value: Any, tp: Any, path: str) -> Any:
    members = get_args(tp)
    # An exact scalar match wins, so that 1 stays an int for ``float | int``.
    ordered = sorted(members, key=lambda m: 0 if m in _SCALARS and type(value) is m else 1)
    deeper: list[ArgumentTypeError] = []
    for member in ordered:
        try:
            return coerce(value, member, path)
        except ArgumentTypeError as exc:
            if exc.path != path:
                deeper.append(exc)
    if len(deeper) == 1:
        # Only one member matched the value's shape (e.g. the list in ``list[int] | None``):
        # its inner mismatch is the useful one.
        raise deeper[0]
    raise ArgumentTypeError(path, type_name(tp), describe_value(value))


def _coerce_list(value: Any, tp: Any, path: str) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise ArgumentTypeError(path, type_name(tp), describe_value(value))
    args = get_args(tp)
    if not args:
        return list(value)
    item_type = args[0]
    return [coerce(item, item_type, f"{path}[{i}]") for i, item in enumerate(value)]


def _coerce_dict(value: Any, tp: Any, path: str) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise ArgumentTypeError(path, type_name(tp), describe_value(value))
    args = get_args(tp)
    if not args:
        return dict(value)
    key_type, value_type = args
    result: dict[Any, Any] = {}
    for key, item in value.items():
        checked_key = coerce(key, key_type, f"{path} key {key!r}")
        result[checked_key] = coerce(item, value_type, f"{path}[{key!r}]")
    return result


def _coerce_tuple(value: Any, tp: Any, path: str) -> tuple[Any, ...]:
    if not isinstance(value, (list, tuple)):
        raise ArgumentTypeError(path, type_name(tp), describe_value(value))
    if tp is tuple:
        return tuple(value)
    args = get_args(tp)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(coerce(item, args[0], f"{path}[{i}]") for i, item in enumerate(value))
    if len(value) != len(args):
        n = len(args)
        raise ArgumentTypeError(path, f"{type_name(tp)} ({n} item{'' if n == 1 else 's'})", describe_value(value))
    return tuple(coerce(item, member, f"{path}[{i}]") for i, (item, member) in enumerate(zip(value, args, strict=True)))


__all__ = [
    "ArgumentTypeError",
    "check_annotation",
    "coerce",
    "describe_value",
    "type_name",
]
