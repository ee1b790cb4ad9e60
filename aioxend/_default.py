"""The marker for "use the client's own timeout", shared by every client of the package.

A method's ``timeout=`` keyword takes seconds, ``None`` for no limit, or ``DEFAULT`` (the
value when it is left out) for the timeout the client was made with.
"""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT", "TimeoutArg"]


class _Default:
    """The marker for "use the client's timeout"."""

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Final = _Default()
TimeoutArg = float | None | _Default
