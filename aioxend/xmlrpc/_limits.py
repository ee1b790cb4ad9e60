"""Size limits the streaming decoder enforces while it reads."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits", "check_limits"]

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on one decoded document; crossing one raises ``LimitExceeded``.

    The defaults let a large xend answer through (1,000 domains with devices is a few
    MiB) while keeping a hostile peer from making the decoder hold unbounded memory.

    - ``max_bytes``: total bytes of the document, as fed.
    - ``max_depth``: nesting of arrays and structs inside one another.
    - ``max_string``: characters of one string, struct key, method name or base64 text,
      counted as written (before references are expanded). Tags are capped separately,
      at 4,096 characters.
    - ``max_elements``: values in the document (scalars and containers together).
    """

    max_bytes: int = 64 * MiB
    max_depth: int = 256
    max_string: int = 32 * MiB
    max_elements: int = 2_000_000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_depth", "max_string", "max_elements"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive int, not {value!r}")


def check_limits(given: object) -> None:
    """Refuse a client's ``limits=`` that is neither ``None`` nor a ``Limits``
    (``TypeError`` naming its type), before any call is made."""
    if given is not None and not isinstance(given, Limits):
        raise TypeError(f"limits must be an aioxend.xmlrpc.Limits, not {type(given).__name__}")
