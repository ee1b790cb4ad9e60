"""Raw response writing for the faults that break HTTP itself.

Both listeners build a normal answer; when a fault picked for the request is one that no
well-behaved HTTP server would produce (a connection cut mid-body, a lying
Content-Length, a stall), the bytes are written straight to the asyncio transport here
and the connection is closed afterwards. A trickled answer is complete and valid, so
the connection stays open for the next request, as after any answer.
"""

from __future__ import annotations

import asyncio

__all__ = ["RAW_KINDS", "head_bytes", "trickle", "write_faulty"]

# the kinds after which the connection is closed (trickle keeps it: the answer is whole)
RAW_KINDS = frozenset({"drop_before", "drop_mid", "truncate", "stall"})


def head_bytes(status: int, reason: str, headers: list[tuple[str, str]]) -> bytes:
    """The status line and header block of an HTTP/1.1 response."""
    lines = [f"HTTP/1.1 {status} {reason}\r\n"]
    lines += [f"{name}: {value}\r\n" for name, value in headers]
    lines.append("\r\n")
    return "".join(lines).encode("latin-1")


async def _wait_closed(transport: asyncio.BaseTransport, stop: asyncio.Event) -> None:
    while not transport.is_closing() and not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), 0.05)
        except TimeoutError:
            continue


async def write_faulty(
    transport: asyncio.WriteTransport,
    kind: str,
    status: int,
    reason: str,
    headers: list[tuple[str, str]],
    body: bytes,
    *,
    delay: float,
    stop: asyncio.Event,
    length_name: str = "Content-Length",
) -> None:
    """Write the answer damaged as ``kind`` says, then close the connection.

    ``headers`` must not hold the length header: it is added here (named
    ``length_name``), true or false as the fault requires.
    """
    if kind == "stall":
        await _wait_closed(transport, stop)
        transport.close()
        return
    if kind == "drop_before":
        transport.close()
        return
    length = len(body)
    if kind == "truncate":
        length = len(body) + max(len(body) // 2, 16)
    data = head_bytes(status, reason, [*headers, (length_name, str(length))])
    if kind == "drop_mid":
        data += body[: max(len(body) // 2, 1)] if body else b""
    else:
        data += body
    if not transport.is_closing():
        transport.write(data)
    transport.close()


async def trickle(
    transport: asyncio.WriteTransport, data: bytes, delay: float, stop: asyncio.Event
) -> bool:
    """Write ``data`` one byte every ``delay`` seconds; False if the peer went away."""
    for i in range(len(data)):
        if transport.is_closing() or stop.is_set():
            return False
        transport.write(data[i : i + 1])
        await asyncio.sleep(delay)
    return True
