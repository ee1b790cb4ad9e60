"""The Python type of a decoded XML-RPC value, as one recursive alias.

What ``loads`` and ``Decoder`` give for each XML-RPC type: ``<boolean>`` a ``bool``,
``<int>``/``<i4>``/``<i8>`` an ``int``, ``<double>`` a ``float``, ``<string>`` (and a bare
``<value>``) a ``str``, ``<base64>`` ``bytes``, ``<dateTime.iso8601>`` a
``datetime.datetime``, ``<nil/>`` ``None``, ``<array>`` a ``list`` and ``<struct>`` a
``dict`` with ``str`` keys. The encoder takes the same values (and tuples for arrays).
"""

from __future__ import annotations

import datetime
from typing import TypeAlias

__all__ = ["XmlRpcValue"]

XmlRpcValue: TypeAlias = (
    bool
    | int
    | float
    | str
    | bytes
    | datetime.datetime
    | list["XmlRpcValue"]
    | dict[str, "XmlRpcValue"]
    | None
)
"""A decoded XML-RPC value: scalars, ``None`` (``<nil/>``), lists and string-keyed dicts."""
