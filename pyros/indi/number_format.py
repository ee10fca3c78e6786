"""INDI number values: parsing wire text and printing with a member's format.

INDI numbers travel as text. Drivers usually send plain decimal notation, but
the protocol allows sexagesimal text too (``"12:30:00"``, ``"-5 30"``,
``"23;59;59.5"``), so :func:`parse_number` accepts both.

A Number member carries a C ``printf`` format used to show its value. Besides
the usual ``%f``/``%g``/``%e``/``%d`` conversions, INDI defines ``%<w>.<f>m``,
sexagesimal output: ``w`` is the width of the whole field and ``f`` chooses
the precision of the fractional part:

===  ==================  ===============
f    shape               resolution
===  ==================  ===============
9    ``ddd:mm:ss.ss``    1/100 second
8    ``ddd:mm:ss.s``     1/10 second
6    ``ddd:mm:ss``       1 second
5    ``ddd:mm.m``        1/10 minute
any  ``ddd:mm``          1 minute
===  ==================  ===============

The whole part (degrees or hours) is right-aligned in ``w - f`` characters, so
``%010.6m`` prints 12.5 as ``"  12:30:00"``.
"""

from __future__ import annotations

import math
import re

__all__ = ["format_number", "parse_number"]

_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SPECIAL = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_COMPONENT = r"(\d+(?:\.\d*)?|\.\d+)"
_SEXAGESIMAL = re.compile(rf"([+-]?)\s*{_COMPONENT}(?:[:;\s]+{_COMPONENT})(?:[:;\s]+{_COMPONENT})?")
_CONVERSION = re.compile(r"%(?P<flags>[-+ 0#]*)(?P<width>\d*)(?:\.(?P<precision>\d*))?(?P<conv>[a-zA-Z%])")
_FLOAT_CONVERSIONS = frozenset("eEfFgG")
_INT_CONVERSIONS = frozenset("diouxX")
_SEXAGESIMAL_UNITS = {9: 360000, 8: 36000, 6: 3600, 5: 600}
"""Fraction digits of ``%w.fm`` -> parts of one unit (degree or hour) printed."""
_DEFAULT_SEXAGESIMAL_UNITS = 60


def parse_number(text: str) -> float:
    """Parse the text of an INDI number: decimal or sexagesimal.

    Decimal notation follows C ``strtod`` (``"4.86"``, ``"-1e-3"``, ``"nan"``,
    ``"inf"``). Sexagesimal notation has two or three components separated by
    ``:``, ``;`` or blanks (``"12:30"``, ``"-0:30:00"``, ``"359 59 59.9"``); the
    sign applies to the whole value, so ``"-0:30"`` is -0.5.

    Args:
        text: The element text; surrounding whitespace is ignored.

    Returns:
        The value as a float.

    Raises:
        TypeError: If ``text`` is not a string.
        ValueError: If ``text`` is neither decimal nor sexagesimal, naming it.
    """
    if not isinstance(text, str):
        raise TypeError(f"an INDI number must be given as text, not {type(text).__name__}")
    stripped = text.strip()
    if _DECIMAL.fullmatch(stripped) or _SPECIAL.fullmatch(stripped):
        return float(stripped)
    match = _SEXAGESIMAL.fullmatch(stripped)
    if match is None:
        shown = stripped if len(stripped) <= 40 else stripped[:40] + "..."
        raise ValueError(f"not an INDI number (decimal or sexagesimal): {shown!r}")
    sign, whole, minutes, seconds = match.groups()
    value = float(whole) + float(minutes) / 60.0 + (float(seconds) / 3600.0 if seconds else 0.0)
    return -value if sign == "-" else value


def format_number(value: float, number_format: str) -> str:
    """Print ``value`` with an INDI number format (C ``printf`` style plus ``%m``).

    Text around the single conversion is kept (``"%.1f s"`` prints ``"3.0 s"``);
    ``%%`` prints a percent sign. Integer conversions (``%d``, ``%x``...) print
    the value truncated toward zero, as C would print the converted value.

    Args:
        value: The number to print.
        number_format: The member's ``format`` attribute, e.g. ``"%010.6m"``.

    Returns:
        The printed value.

    Raises:
        TypeError: If ``value`` is not a real number or ``number_format`` not a string.
        ValueError: If ``number_format`` does not hold exactly one supported
            conversion, or an integer or sexagesimal conversion gets a
            non-finite value.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"an INDI number must be int or float, not {type(value).__name__}")
    if not isinstance(number_format, str):
        raise TypeError(f"an INDI number format must be a string, not {type(number_format).__name__}")
    conversions = [m for m in _CONVERSION.finditer(number_format) if m.group("conv") != "%"]
    if len(conversions) != 1:
        raise ValueError(f"INDI number format {number_format!r} must hold exactly one conversion, "
                         f"found {len(conversions)}")
    spec = conversions[0]
    conv = spec.group("conv")
    if conv == "m":
        if spec.group("precision") in (None, ""):
            raise ValueError(f"sexagesimal format {number_format!r} needs a precision (%<width>.<precision>m)")
        width = int(spec.group("width") or 0)
        precision = int(spec.group("precision"))
        printed = _format_sexagesimal(float(value), max(width - precision, 0), precision)
        literal = number_format[:spec.start()] + "%s" + number_format[spec.end():]
        return _printf(literal, printed, number_format)
    if conv in _FLOAT_CONVERSIONS:
        return _printf(number_format, float(value), number_format)
    if conv in _INT_CONVERSIONS:
        if not math.isfinite(value):
            raise ValueError(f"cannot print {value} with the integer format {number_format!r}")
        return _printf(number_format, int(value), number_format)
    raise ValueError(f"INDI number format {number_format!r} has the unsupported conversion %{conv}")


def _printf(template: str, argument: object, number_format: str) -> str:
    """Apply ``template % argument``, naming the original format on failure."""
    try:
        return template % argument
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cannot print with INDI number format {number_format!r}: {exc}") from None


def _format_sexagesimal(value: float, whole_width: int, precision: int) -> str:
    """Sexagesimal text of ``value``: whole part right-aligned in ``whole_width``, then the fraction."""
    if not math.isfinite(value):
        raise ValueError(f"cannot print {value} in sexagesimal notation")
    units = _SEXAGESIMAL_UNITS.get(precision, _DEFAULT_SEXAGESIMAL_UNITS)
    negative = value < 0
    total = int(math.floor(abs(value) * units + 0.5))
    whole, fraction = divmod(total, units)
    sign = "-" if negative and total != 0 else ""
    head = f"{sign}{whole}".rjust(whole_width)
    if units == 360000:
        minutes, rest = divmod(fraction, 6000)
        seconds, hundredths = divmod(rest, 100)
        return f"{head}:{minutes:02d}:{seconds:02d}.{hundredths:02d}"
    if units == 36000:
        minutes, rest = divmod(fraction, 600)
        seconds, tenths = divmod(rest, 10)
        return f"{head}:{minutes:02d}:{seconds:02d}.{tenths:d}"
    if units == 3600:
        minutes, seconds = divmod(fraction, 60)
        return f"{head}:{minutes:02d}:{seconds:02d}"
    if units == 600:
        minutes, tenths = divmod(fraction, 10)
        return f"{head}:{minutes:02d}.{tenths:d}"
    return f"{head}:{fraction:02d}"
