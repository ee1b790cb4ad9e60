"""Reading and converting large answers without stalling the event loop: what every
wire of aioxend shares (xend's two backends in ``_base``, the Xen-API wires in
``aioxend.xenapi._wire``), kept free of the operation table, the models and SXP so the
Xen-API client loads none of them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import anyio.lowlevel

if TYPE_CHECKING:
    from aioxend.transport import Response

__all__ = [
    "ERROR_BODY_BYTES",
    "SLICE_SECONDS",
    "YIELD_EVERY",
    "chunks",
    "convert_each",
    "read_limited",
]

_T = TypeVar("_T")
_R = TypeVar("_R")

YIELD_EVERY = 256 * 1024
"""Bytes decoded between two yields to the event loop, so a long answer never starves it."""

SLICE_SECONDS = 0.005
"""Longest stretch of converting a large answer's items between two yields to the loop."""

ERROR_BODY_BYTES = 64 * 1024
"""How much of an error response's body is read to explain it."""


async def chunks(response: Response) -> AsyncIterator[bytes]:
    """The response body chunk by chunk, yielding to the event loop every
    ``YIELD_EVERY`` bytes so a decoder fed from it never blocks the loop for long."""
    since_yield = 0
    async for chunk in response.aiter_bytes():
        yield chunk
        since_yield += len(chunk)
        if since_yield >= YIELD_EVERY:
            since_yield = 0
            await anyio.lowlevel.checkpoint()


async def convert_each(items: Sequence[_T], convert: Callable[[_T], _R]) -> list[_R]:
    """``[convert(item) for item in items]``, yielding to the event loop whenever
    ``SLICE_SECONDS`` have passed, so building records from a 20 MB answer does not
    stall other tasks. The clock is read every few items only."""
    out: list[_R] = []
    append = out.append
    clock = time.perf_counter
    until = clock() + SLICE_SECONDS
    for index, item in enumerate(items, 1):
        append(convert(item))
        if not index & 7 and clock() >= until:
            await anyio.lowlevel.checkpoint()
            until = clock() + SLICE_SECONDS
    return out


async def read_limited(response: Response, limit: int = ERROR_BODY_BYTES) -> bytes:
    """At most ``limit`` bytes of a body; the rest is left unread (the caller closes)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        parts.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(parts)[:limit]
