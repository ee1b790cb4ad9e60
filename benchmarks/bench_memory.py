"""Peak memory of decoding a large answer: streaming decoder vs whole body.

A 50 MB ``xend.domains_with_state`` response (realistic domain records, as the canned
server sends them) and a 50 MB Xen-API ``VM.get_all_records`` answer (as xapi writes it,
bench_xenapi's records) are each decoded two ways under ``tracemalloc``:

- aioxend: ``aioxend.xmlrpc.Decoder`` fed 64 KiB chunks as they would arrive from a
  socket (each chunk a fresh ``bytes``, dropped after feeding), then ``close()``;
- the standard library: the chunks gathered into the whole body, then
  ``xmlrpc.client.loads`` (what ``ServerProxy`` and aioxmlrpc do).

For each it reports the peak traced memory and the memory still held by the decoded
result afterwards (the "decoded objects"), and the ratio peak / decoded; the target for
aioxend is at most 1.5x. The input bytes themselves are made before tracing starts, as a
socket's kernel buffer would hold them, so neither side is charged for them.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
import xmlrpc.client
from collections.abc import Callable, Sequence
from typing import Any, cast

from _harness import Table, machine_description, now_utc, write_markdown
from bench_xenapi import _xml_answer, all_records
from canned_server import domain_records

CHUNK = 64 * 1024


def make_body(megabytes: float) -> bytes:
    """An ``xend.domains_with_state`` response body of about ``megabytes`` MB."""
    sample = xmlrpc.client.dumps((domain_records(20),), methodresponse=True, allow_none=True)
    per_domain = len(sample) / 20
    count = max(1, int(megabytes * 1e6 / per_domain))
    params = cast("tuple[Any, ...]", (domain_records(count),))
    return xmlrpc.client.dumps(params, methodresponse=True, allow_none=True).encode()


def make_xapi_body(megabytes: float) -> bytes:
    """A ``VM.get_all_records`` answer of about ``megabytes`` MB, as xapi writes it."""
    per_record = len(_xml_answer(all_records(4, xml=True))) / 4
    return _xml_answer(all_records(max(1, int(megabytes * 1e6 / per_record)), xml=True))


def decode_streaming(body: bytes) -> object:
    """aioxend's streaming decoder, fed 64 KiB chunks that are dropped once fed."""
    from aioxend.xmlrpc import Decoder, Limits

    decoder = Decoder(Limits(max_bytes=len(body) + 1024))
    view = memoryview(body)
    for start in range(0, len(body), CHUNK):
        decoder.feed(bytes(view[start : start + CHUNK]))
    params, _ = decoder.close()
    return params


def decode_stdlib(body: bytes) -> object:
    """What ServerProxy does: gather the whole body, then ``xmlrpc.client.loads``."""
    view = memoryview(body)
    chunks = [bytes(view[start : start + CHUNK]) for start in range(0, len(body), CHUNK)]
    whole = b"".join(chunks)
    del chunks
    # DateTime objects: xapi's dates end in "Z", which the builtin datetime path refuses.
    params, _ = xmlrpc.client.loads(whole, use_builtin_types=False)
    return params


def measure(decode: Callable[[bytes], object], body: bytes) -> tuple[int, int, float]:
    """(peak bytes, bytes held by the result, seconds) of one decode under tracemalloc."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    result = decode(body)
    elapsed = time.perf_counter() - t0
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak - base, held - base, elapsed


def _table(title: str, body: bytes) -> Table:
    """Both decoders' peaks on ``body``, as a table (``title`` formats the size in MB)."""
    table = Table(
        f"bench_memory: decoding a {title.format(len(body) / 1e6)}",
        ["decoder", "peak MB", "decoded objects MB", "peak / decoded", "seconds (traced)"],
    )
    table.header()
    figures: dict[str, tuple[int, int, float]] = {}
    for name, decode in (
        ("aioxend Decoder, 64 KiB chunks", decode_streaming),
        ("stdlib loads(whole body)", decode_stdlib),
    ):
        try:
            figures[name] = peak, held, seconds = measure(decode, body)
        except Exception as exc:
            table.note(f"{name}: failed: {type(exc).__name__}: {exc}")
            continue
        table.add(name, peak / 1e6, held / 1e6, f"{peak / held:.2f}x", seconds)
    if len(figures) == 2:
        (ours, _, _), (theirs, _, _) = figures.values()
        table.note(f"aioxend peak is {ours / theirs:.2f}x the standard library's peak.")
    table.note("Target: aioxend peak <= 1.5x the decoded objects.")
    return table


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; ``--quick`` uses a 10 MB body."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 MB instead of 50 MB")
    parser.add_argument("--markdown", help="write the table to this Markdown file")
    parser.add_argument("--mb", type=float, help="body size in MB")
    args = parser.parse_args(argv)
    megabytes = args.mb or (10.0 if args.quick else 50.0)
    print(f"bench_memory on {machine_description()}, {now_utc()}")
    tables = [
        _table("{:.1f} MB xend.domains response", make_body(megabytes)),
        _table("{:.1f} MB Xen-API VM.get_all_records answer", make_xapi_body(megabytes)),
    ]
    write_markdown(args.markdown, tables)
    return 0


if __name__ == "__main__":
    sys.exit(main())
