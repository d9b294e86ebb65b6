# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Memory sizes as Docker, Compose and the seed guide spell them.

Docker reads ``64g``, ``512m``, ``1.5t`` or ``32GiB`` with binary multipliers whatever the
spelling (``k``, ``kb`` and ``kib`` are all 1024; github.com/docker/go-units ``RAMInBytes``),
and the seed's ``.env`` values (``64G``, ``512MB``) are meant for Docker. So every unit here is
binary: ``1G`` = ``1GB`` = ``1GiB`` = 1024**3 bytes. A bare number is bytes.
"""

from __future__ import annotations

import math
import re
from typing import Union

KIB = 1024
MIB = 1024 ** 2
GIB = 1024 ** 3

_MULTIPLIERS = {"": 1, "k": KIB, "m": MIB, "g": GIB, "t": 1024 ** 4, "p": 1024 ** 5}
# Docker's grammar (go-units): digits, an optional fraction, an optional space, an optional
# unit letter, then an optional "i" and an optional "b".
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s?([kmgtp]?)(i?)(b?)\s*$", re.IGNORECASE)

Size = Union[int, float, str]


class SizeError(ValueError):
    """A size that cannot be read; the message names the value."""


def to_bytes(value: Size, name: str = "size") -> int:
    """Return the number of bytes a size stands for, rounded up to a whole byte.

    :param value: an int or float (bytes) or a string such as ``64G``, ``512m``, ``32GiB``,
        ``1.5T``, ``2 GB``.
    :param name: what the value is, for the error message.
    :raises SizeError: for negative numbers, booleans, and strings outside Docker's grammar.
    """
    if isinstance(value, bool):
        raise SizeError("%s: %r is a boolean, not a size" % (name, value))
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise SizeError("%s: %r is not a finite size" % (name, value))
        if value < 0:
            raise SizeError("%s: %r is negative" % (name, value))
        return int(math.ceil(value))
    if not isinstance(value, str):
        raise SizeError("%s: %r is not a size (expected a number of bytes or a string like '64G')" % (name, value))
    text = value.strip()
    if text.startswith("-"):
        raise SizeError("%s: %r is negative" % (name, value))
    match = _SIZE.match(text)
    if not match:
        raise SizeError("%s: %r is not a size (expected a number with an optional unit: k, m, g, t, p, "
                        "optionally followed by 'iB' or 'B', e.g. '64G', '512m', '32GiB', '1.5T')" % (name, value))
    number, unit, binary, suffix_b = match.groups()
    if binary and not unit:
        raise SizeError("%s: %r is not a size ('i' needs a unit letter before it)" % (name, value))
    del suffix_b
    return int(math.ceil(float(number) * _MULTIPLIERS[unit.lower()]))


def to_mib(value: Size, name: str = "size") -> int:
    """Return a size in whole MiB, rounded up."""
    return int(math.ceil(to_bytes(value, name) / MIB))


def human_bytes(value: Size, precision: int = 1) -> str:
    """Format a size the way Docker reads it back: ``64G``, ``512M``, ``1.5T``, ``0``.

    The largest binary unit in which the value is at least 1 is used; the number keeps at
    most ``precision`` decimals and drops trailing zeros. ``to_bytes(human_bytes(x))`` equals
    ``x`` whenever ``x`` is a whole number of that unit.
    """
    if isinstance(precision, bool) or not isinstance(precision, int) or precision < 0:
        raise SizeError("precision: %r is not a whole number >= 0" % (precision,))
    count = to_bytes(value)
    for unit in ("P", "T", "G", "M", "K"):
        factor = _MULTIPLIERS[unit.lower()]
        if count >= factor:
            text = ("%." + str(precision) + "f") % (count / factor)
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return text + unit
    return str(count)


def docker_mib(mib: int) -> str:
    """A whole number of MiB in Docker's spelling: ``64G`` when whole GiB, else ``1536M``."""
    if mib % 1024 == 0 and mib > 0:
        return "%dG" % (mib // 1024)
    return "%dM" % mib
