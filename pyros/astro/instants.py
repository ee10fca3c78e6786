"""Instants accepted and returned by :mod:`pyros.astro`.

Accepted everywhere an instant or a list of instants is expected:

* an astropy :class:`~astropy.time.Time` (any scale; scalar or 1-D);
* a timezone-aware :class:`~datetime.datetime` (any offset), or a sequence of them;
* UNIX seconds (``int``/``float``, or a sequence or 1-D array of them), the form
  :meth:`pyros.clock.Clock.now` gives.

Naive datetimes, ``numpy.datetime64`` values (which carry no time zone),
booleans, non-finite numbers, arrays of more than one dimension and instants
before 1962-01-01 (start of the IERS-B table) or from 2099-12-01 (shortly
before the end of the built-in Sun and Moon ephemeris) are
refused with a :class:`ValueError` or :class:`TypeError` naming the argument.

Every instant that :mod:`pyros.astro` returns is a :class:`~astropy.time.Time`
in the UTC scale (ISO format, millisecond precision when printed); use
:func:`to_datetime` for timezone-aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, Union

import erfa
import numpy as np
from astropy.time import Time

from pyros.astro.offline import silence_dubious_years

__all__ = ["TimesLike", "InstantLike", "to_datetime", "to_instant", "to_times"]

InstantLike = Union[Time, datetime, float, int]
"""One instant: a scalar ``Time``, an aware ``datetime`` or UNIX seconds."""

TimesLike = Union[Time, datetime, float, int, Sequence[datetime], Sequence[float], np.ndarray]
"""One or several instants (see the module documentation)."""

EARLIEST_JD = float(sum(erfa.cal2jd(1962, 1, 1)))
"""First instant accepted (UTC Julian date of 1962-01-01, start of the IERS-B table)."""

LATEST_JD = float(sum(erfa.cal2jd(2099, 12, 1)))
"""First instant refused (UTC Julian date of 2099-12-01, a margin before the end of the built-in
ephemeris' validity in 2100 that leaves room for the night searches around an instant)."""


def _utc(jd1: np.ndarray, jd2: np.ndarray) -> Time:
    return Time(jd1, jd2, format="jd", scale="utc", precision=3).replicate(format="isot")


def _from_datetime(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: datetime {value.isoformat()} is naive (no time zone); "
                         "give a timezone-aware datetime, e.g. with tzinfo=timezone.utc")
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def _from_unix(values: np.ndarray, name: str) -> Time:
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name}: UNIX seconds must be finite numbers, got {float(values[~np.isfinite(values)][0])!r}")
    return Time(values, format="unix", scale="utc")


def _convert(value: Any, name: str) -> Time:
    if isinstance(value, Time):
        if value.ndim > 1:
            raise ValueError(f"{name}: expected a scalar or 1-D Time, got shape {value.shape}")
        utc = value.utc
        if np.any(~np.isfinite(utc.jd1 + utc.jd2)):
            raise ValueError(f"{name}: Time holds non-finite values")
        return utc
    if isinstance(value, bool) or isinstance(value, np.bool_):
        raise TypeError(f"{name}: expected a Time, an aware datetime or UNIX seconds, got bool")
    if isinstance(value, datetime):
        return Time(_from_datetime(value, name), scale="utc")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _from_unix(np.asarray(float(value)), name)
    if isinstance(value, np.datetime64):
        raise TypeError(f"{name}: numpy datetime64 carries no time zone; give a Time, aware datetimes or UNIX seconds")
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name}: expected a Time, an aware datetime or UNIX seconds, got str {value!r}; "
                        "parse text with astropy.time.Time first")
    if isinstance(value, (Sequence, np.ndarray)):
        items = np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value
        if items.ndim != 1:
            raise ValueError(f"{name}: expected a scalar or a 1-D sequence of instants, got shape {items.shape}")
        if items.dtype.kind == "M":
            raise TypeError(f"{name}: numpy datetime64 carries no time zone; "
                            "give a Time, aware datetimes or UNIX seconds")
        if items.dtype.kind in "iuf":
            return _from_unix(items.astype(float), name)
        if items.dtype.kind == "b":
            raise TypeError(f"{name}: expected instants, got booleans")
        kinds = {type(item) for item in items}
        if any(issubclass(kind, (bool, np.bool_)) for kind in kinds):
            raise TypeError(f"{name}: expected instants, got booleans")
        if items.size and all(issubclass(kind, datetime) for kind in kinds):
            return Time([_from_datetime(item, f"{name}[{i}]") for i, item in enumerate(items)], scale="utc")
        if items.size and all(issubclass(kind, (int, float, np.integer, np.floating)) and not issubclass(kind, bool)
                              for kind in kinds):
            return _from_unix(items.astype(float), name)
        if not items.size:
            raise ValueError(f"{name}: no instants given")
        names = ", ".join(sorted(kind.__name__ for kind in kinds))
        raise TypeError(f"{name}: expected aware datetimes or UNIX seconds (all of one kind), got {names}")
    raise TypeError(f"{name}: expected a Time, an aware datetime or UNIX seconds, got {type(value).__name__}")


@silence_dubious_years
def to_times(value: Any, name: str = "times") -> Time:
    """Turn one or several instants into a 1-D UTC ``Time``.

    Args:
        value: Instants (see the module documentation); a scalar gives one element.
        name: Argument name used in error messages.

    Returns:
        A 1-D :class:`~astropy.time.Time` in the UTC scale with at least one element.

    Raises:
        TypeError: For a value of an unsupported type (text, booleans, ``datetime64``).
        ValueError: For naive datetimes, non-finite numbers, arrays of more than one
            dimension, an empty list, or instants outside 1962-01-01 to 2099-11-30.
    """
    times = _convert(value, name)
    if times.ndim == 0:
        times = times.reshape((1,))
    if times.size == 0:
        raise ValueError(f"{name}: no instants given")
    jd = times.jd1 + times.jd2
    outside = (jd < EARLIEST_JD) | (jd >= LATEST_JD)
    if outside.any():
        bad = times[int(np.flatnonzero(outside)[0])]
        raise ValueError(f"{name}: instant {bad.isot} is outside the supported range 1962-01-01 to 2099-11-30 "
                         "(IERS-B table and built-in ephemeris)")
    return _utc(times.jd1, times.jd2)


@silence_dubious_years
def to_instant(value: Any, name: str = "instant") -> Time:
    """Turn one instant into a scalar UTC ``Time``.

    Args:
        value: A scalar ``Time``, an aware ``datetime`` or UNIX seconds.
        name: Argument name used in error messages.

    Returns:
        A scalar :class:`~astropy.time.Time` in the UTC scale.

    Raises:
        TypeError: For a value of an unsupported type.
        ValueError: For several instants, a naive datetime, a non-finite number or
            an instant outside 1962-01-01 to 2099-11-30.
    """
    several = value.ndim != 0 if isinstance(value, Time) else (
        not isinstance(value, (datetime, str, bytes)) and np.ndim(value) != 0)
    if several:
        raise ValueError(f"{name}: expected one instant, got {np.size(value)} of them")
    return to_times(value, name)[0]


@silence_dubious_years
def to_datetime(time: Time) -> datetime | list[datetime]:
    """Turn a ``Time`` into timezone-aware UTC datetimes.

    Args:
        time: A scalar or 1-D ``Time`` (any scale).

    Returns:
        One aware ``datetime`` for a scalar, a list of them otherwise. A leap second
        (23:59:60) cannot be written as a ``datetime`` and raises :class:`ValueError`.
    """
    result = time.utc.to_datetime(timezone=timezone.utc)
    if isinstance(result, datetime):
        return result
    return list(np.ravel(result))
