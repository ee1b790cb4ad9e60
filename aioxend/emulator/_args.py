"""Arguments as xend coerced them: configuration pairs and integers.

``config_int`` reads an integer out of a domain configuration (XendConfig's conversion,
``VmError`` on junk); ``arg_int`` is an argument xend handed to the C layer as an int,
which raised Python's own ``TypeError``/``ValueError`` on anything else.
"""

from __future__ import annotations

from aioxend.emulator._errors import VmError
from aioxend.emulator._records import Sxpr

__all__ = ["arg_int", "config_int", "config_pairs"]


def config_pairs(config: Sxpr) -> list[list[object]]:
    """The ``[key, value...]`` items of a ``(tag ...)`` expression, as lists."""
    return [list(item) for item in config[1:] if isinstance(item, list) and item]


def config_int(key: str, value: object) -> int:
    """A configuration value as an int (``0x`` hex allowed); VmError otherwise."""
    try:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        return int(str(value), 0) if str(value).startswith("0x") else int(str(value))
    except ValueError:
        raise VmError(f"Invalid configuration: {key} {value!s}") from None


def arg_int(value: object) -> int:
    """An argument xend passed to the C layer as an int; TypeError otherwise."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"invalid literal for int() with base 10: {value!r}") from None
    raise TypeError("an integer is required")
