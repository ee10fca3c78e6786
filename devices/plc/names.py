"""How device and value names of a PLC status are compared."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s_\-]+")


def name_key(name: str) -> str:
    """The form under which two names are the same name.

    Case is ignored, and runs of spaces, ``_`` and ``-`` count as one separator: the seed's
    ``LAMP_FLAT_CAGIRE`` and ``LAMP FLAT CAGIRE`` are one lamp, while ``MLX90614-1`` and ``MLX906141``
    stay distinct.

    Args:
        name: A device or value name.

    Returns:
        The comparison key, e.g. ``lamp_flat_cagire``.
    """
    return _SEPARATORS.sub("_", name.strip()).casefold()
