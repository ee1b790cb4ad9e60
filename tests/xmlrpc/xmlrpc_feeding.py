"""Feeding helpers for the XML-RPC codec tests: one document, three ways of chunking."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from typing import Any

from aioxend.errors import Fault, ProtocolError
from aioxend.xmlrpc import Decoder, Limits
from aioxend.xmlrpc._decoder import Root

Outcome = tuple[Any, ...]


def feed_chunks(
    chunks: Iterable[bytes], limits: Limits | None = None, expect: Root = "methodResponse"
) -> Any:
    """Feed ``chunks`` one by one and close: the result, or the exception it raises."""
    decoder = Decoder(limits or Limits(), expect=expect)
    for chunk in chunks:
        decoder.feed(chunk)
    return decoder.close()


def random_cuts(data: bytes, rng: random.Random, pieces: int = 8) -> list[bytes]:
    """``data`` split at up to ``pieces - 1`` random places (empty chunks included)."""
    cuts = sorted(rng.randint(0, len(data)) for _ in range(pieces - 1))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def outcome(
    chunks: Iterable[bytes], limits: Limits | None = None, expect: Root = "methodResponse"
) -> Outcome:
    """A comparable summary: ("ok", result), ("fault", class, code, string) or ("error", class).

    Anything but a result, a Fault or a ProtocolError propagates and fails the test.
    """
    try:
        return ("ok", feed_chunks(chunks, limits, expect))
    except Fault as fault:
        return ("fault", type(fault), fault.code, fault.string)
    except ProtocolError as exc:
        return ("error", type(exc))


def three_ways(
    data: bytes, seed: int = 0, limits: Limits | None = None, expect: Root = "methodResponse"
) -> Outcome:
    """Decode whole, byte by byte and in random splits; all three must agree."""
    whole = outcome([data], limits, expect)
    bytewise = outcome([data[i : i + 1] for i in range(len(data))], limits, expect)
    assert bytewise == whole, "byte-by-byte feeding disagrees with the whole document"
    rng = random.Random(seed)
    for _ in range(3):
        split = outcome(random_cuts(data, rng), limits, expect)
        assert split == whole, "random splits disagree with the whole document"
    return whole
