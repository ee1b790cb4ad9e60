"""XML-RPC codec speed: aioxend.xmlrpc beside the standard library, in one process.

Every shape of answer is a row: the tiny ``<boolean>1</boolean>`` answer every small
call pays for, one ``xend.domain`` record and 1,000 of them (SXP records as XML-RPC
arrays, as xend 4.4's ``XendConfig.to_sxp``), string-heavy, entity-heavy and base64 answers,
and a 50,000-domain host (scaled to 5,000 unless ``--full``; limits raised). Decoding is
timed two ways, ``loads`` on the whole body and ``Decoder.feed`` in 64 KiB chunks as
the client streams it, each against the standard library's ``loads`` on the whole body;
encoding against ``dumps``. A generated corpus (hypothesis-drawn value trees of every
type, 1 KB to 1 MB) then reports the worst decode ratio and the shape it was met on.

Usage: ``python benchmarks/bench_codec.py [--quick] [--full] [--corpus N] [--markdown FILE]``.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import gc
import random
import sys
import time
import uuid
import warnings
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _harness import Table
from bench_xenapi import all_records, vm_record

from aioxend import xmlrpc as codec

CHUNK = 64 * 1024
DECODE_TARGET = 2.0
ENCODE_TARGET = 1.5
CORPUS_TARGET = 1.0
# A sample of a timing loop lasts at least this long (seconds of CPU), so a 129-byte
# document is timed over thousands of calls and a 300 MB one over one.
SAMPLE = 0.02


def domain_record(i: int) -> list[Any]:
    """One domain as xend's ``to_sxp`` builds it over XML-RPC (vcpu_avail removed)."""
    rng = uuid.UUID(int=i * 7919 + 12345)
    mac = f"00:16:3e:{(i >> 16) & 0xFF:02x}:{(i >> 8) & 0xFF:02x}:{i & 0xFF:02x}"
    name = f"guest-{i:04d}"
    return [
        "domain",
        ["domid", i + 1],
        ["cpu_weight", 256],
        ["cpu_cap", 0],
        ["uuid", str(rng)],
        ["vcpus", 2],
        ["cpus", [[], []]],
        ["name", name],
        ["on_poweroff", "destroy"],
        ["on_reboot", "restart"],
        ["on_crash", "restart"],
        ["bootloader", "/usr/bin/pygrub"],
        ["bootloader_args", ""],
        ["description", f"web tier & cache node {i} <prod>"],
        ["pool_name", "Pool-0"],
        ["maxmem", 1024],
        ["memory", 1024],
        ["shadow_memory", 0],
        ["features", ""],
        ["on_xend_start", "ignore"],
        ["on_xend_stop", "ignore"],
        ["start_time", 1700000000.0 + i * 13.37],
        ["cpu_time", 1234.5678 * (i + 1)],
        ["online_vcpus", 2],
        [
            "image",
            [
                "linux",
                ["kernel", "/var/lib/xen/boot_kernel.x86_64"],
                ["ramdisk", "/var/lib/xen/boot_ramdisk.x86_64"],
                ["args", f"root=/dev/xvda1 ro console=hvc0 hostname={name}"],
                ["superpages", 0],
                ["videoram", 4],
                ["tsc_mode", 0],
                ["nomigrate", 0],
                [
                    "notes",
                    ["FEATURES", "!writable_page_tables|pae_pgdir_above_4gb"],
                    ["PAE_MODE", "yes"],
                    ["LOADER", "generic"],
                    ["GUEST_OS", "linux"],
                    ["XEN_VERSION", "xen-3.0"],
                    ["SUSPEND_CANCEL", 1],
                ],
            ],
        ],
        ["status", 2],
        ["state", "-b----"],
        ["store_mfn", 1234567 + i],
        ["console_mfn", 1234568 + i],
        [
            "device",
            [
                "vif",
                ["backend", 0],
                ["script", "vif-bridge"],
                ["bridge", "xenbr0"],
                ["mac", mac],
                ["uuid", str(uuid.UUID(int=i * 31 + 1))],
            ],
        ],
        [
            "device",
            [
                "vbd",
                ["backend", 0],
                ["dev", "xvda:disk"],
                ["uname", f"phy:/dev/vg0/{name}-root"],
                ["mode", "w"],
                ["bootable", 1],
                ["uuid", str(uuid.UUID(int=i * 31 + 2))],
            ],
        ],
        [
            "device",
            ["console", ["protocol", "vt100"], ["location", "2"], ["uuid", str(rng)]],
        ],
        ["device", ["vkbd", ["backend", 0]]],
        [
            "device",
            ["vfb", ["vncunused", "1"], ["vnc", "1"], ["location", f"127.0.0.1:{5900 + i}"]],
        ],
    ]


def payload(domains: int) -> list[Any]:
    """The ``xend.domains(1)`` answer: a list of domain records."""
    return [domain_record(i) for i in range(domains)]


def entity_string(i: int) -> str:
    """A 4 KB string dense in what XML escapes: ``&``, ``<``, ``>`` and CR."""
    unit = f"a&b <{i}> c\r\nd & e < f > g\r"
    return (unit * (4096 // len(unit) + 1))[:4096]


def xapi_records(count: int) -> Any:
    """One VM record of every datamodel field as xapi sends it, or ``count`` by reference.

    Datetimes are naive: xapi's trailing "Z" is more than the standard library reads.
    """

    def plain(value: Any) -> Any:
        if isinstance(value, xmlrpc.client.DateTime):
            return datetime.datetime.strptime(value.value, "%Y%m%dT%H:%M:%SZ")
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return [plain(v) for v in value] if isinstance(value, list) else value

    return plain(vm_record(1, xml=True) if count == 1 else all_records(count, xml=True))


def shapes(full: bool) -> list[tuple[str, Callable[[], Any]]]:
    """(name, a maker of the one response value) of every benchmarked shape.

    Made one at a time, so the payloads of other rows are not alive (and walked by the
    garbage collector) while a row is timed.
    """
    rnd = random.Random(12)
    host = 50_000 if full else 5_000
    return [
        ("129-byte <boolean>1</boolean>", lambda: True),
        ("one xend.domain record, 6 KB", lambda: domain_record(7)),
        ("1,000 domains, 6 MB", lambda: payload(1000)),
        (
            "2,000 strings of 4 KB",
            lambda: ["".join(rnd.choices("abcdefgh ./-_", k=4096)) for _ in range(2000)],
        ),
        ("2,000 entity-heavy 4 KB strings", lambda: [entity_string(i) for i in range(2000)]),
        ("one 8 MiB base64 value", lambda: rnd.randbytes(8 * 1024 * 1024)),
        ("1,000 base64 values of 8 KiB", lambda: [rnd.randbytes(8192) for _ in range(1000)]),
        ("one xapi VM record, 11 KB (untyped)", lambda: xapi_records(1)),
        ("1,000 xapi VM records, 11 MB (untyped)", lambda: xapi_records(1000)),
        (f"{host:,} domains (raised limits)", lambda: payload(host)),
    ]


def per_call(funcs: list[Callable[[], object]], repeat: int) -> list[float]:
    """Seconds of this process's CPU per call of each of ``funcs``: the best of ``repeat``.

    CPU time rather than wall time: both sides run single-threaded in this process, and
    other load on a shared machine then skews neither figure nor the ratio. The samples
    of the functions alternate, so a burst of load falls on all of them alike; each loops
    enough calls to last ``SAMPLE`` seconds.
    """
    numbers = []
    for func in funcs:
        start = time.process_time()
        func()
        once = time.process_time() - start
        numbers.append(max(1, int(SAMPLE / once) if once > 0 else 1000))
    best = [float("inf")] * len(funcs)
    for _ in range(repeat):
        for i, (func, number) in enumerate(zip(funcs, numbers, strict=True)):
            start = time.process_time()
            for _ in range(number):
                func()
            best[i] = min(best[i], (time.process_time() - start) / number)
    return best


def stream_decode(
    body: bytes, limits: codec.Limits, chunk: int = CHUNK
) -> tuple[tuple[Any, ...], str | None]:
    """Decode ``body`` fed in ``chunk``-byte pieces (64 KiB by default), as the client does."""
    decoder = codec.Decoder(limits)
    for start in range(0, len(body), chunk):
        decoder.feed(body[start : start + chunk])
    return decoder.close()


def stdlib_body(value: Any) -> bytes:
    """The standard library's encoding of a response carrying ``value``."""
    return xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode()


def stdlib_loads(body: bytes) -> object:
    """What ``ServerProxy`` does with a whole body."""
    return xmlrpc.client.loads(body, use_builtin_types=True)


class Ratios:
    """The decode (whole, streamed) and encode ratios of one value, timed in this run."""

    def __init__(
        self,
        value: Any,
        repeat: int,
        *,
        encode: bool = True,
        ours: bool = False,
        untyped: bool = False,
    ) -> None:
        # The stdlib's encoding is what xend (Python's xmlrpclib) sends; ``ours`` spells
        # CR as &#13; in it, where the stdlib's loses it (our encoder puts such strings in
        # CDATA sections, which would leave the decoder no entities to read);
        # ``untyped`` drops the <string> tags, as xapi writes its strings.
        body = stdlib_body(value)
        if ours:
            body = body.replace(b"\r", b"&#13;")
        if untyped:
            body = body.replace(b"<string>", b"").replace(b"</string>", b"")
        self.size = len(body)
        limits = codec.Limits(max_bytes=len(body) + 1, max_elements=10**9)

        def whole() -> object:
            decoder = codec.Decoder(limits)
            decoder.feed(body)
            return decoder.close()

        expected = stdlib_loads(body)
        if whole() != expected or stream_decode(body, limits) != expected:
            raise SystemExit("decoders disagree on a payload")
        # What exists now (payload, body, expected result) is frozen out of the garbage
        # collector's walks: they would cost both sides alike, by chance of timing.
        gc.collect()
        gc.freeze()
        try:
            self._time(value, body, limits, repeat, encode, whole)
        finally:
            gc.unfreeze()

    def _time(
        self,
        value: Any,
        body: bytes,
        limits: codec.Limits,
        repeat: int,
        encode: bool,
        whole: Callable[[], object],
    ) -> None:
        params = (value,)
        std, ours_whole, ours_streamed = per_call(
            [lambda: stdlib_loads(body), whole, lambda: stream_decode(body, limits)], repeat
        )
        self.std_decode = std
        self.whole = std / ours_whole
        self.streamed = std / ours_streamed
        self.encode = float("nan")
        if encode:
            mine, theirs = per_call(
                [lambda: codec.dumps(params, methodresponse=True), lambda: stdlib_body(value)],
                repeat,
            )
            self.encode = theirs / mine


def draw_trees(count: int, seed: int) -> list[Any]:
    """``count`` value trees drawn by hypothesis: every XML-RPC type, nested."""
    from hypothesis import HealthCheck, Phase, given, settings

    # The value trees of the differential property tests (CR-free: the stdlib's
    # encoding would turn a CR into LF), so corpus and tests cover the same shapes. Run as
    # a script, only benchmarks/ is on the path: the tests package is found from the
    # repository root (first, so no installed "tests" package can stand in for it).
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from tests.xmlrpc.test_xmlrpc_properties import values

    trees = values(wide_ints=False, carriage_return=False)
    drawn: list[Any] = []

    @settings(
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(trees)
    def collect(tree: Any) -> None:
        drawn.append(tree)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        collect()
    random.Random(seed).shuffle(drawn)
    return drawn


def leaf_mix(value: Any) -> str:
    """The shape of a document: its share of each type, as the benchmark reports it."""
    counts: collections.Counter[str] = collections.Counter()
    stack = [value]
    while stack:
        v = stack.pop()
        counts[type(v).__name__] += 1
        if isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, dict):
            counts["member"] += len(v)
            stack.extend(v.values())
    total = sum(counts.values())
    return ", ".join(f"{name} {n * 100 // total}%" for name, n in counts.most_common(4))


def corpus(trees: list[Any], per_size: int, repeat: int) -> tuple[float, str, int]:
    """Documents of 1 KB to 1 MB, each a list of drawn trees: (worst ratio, shape, count)."""
    worst, shape, made = float("inf"), "", 0
    rnd = random.Random(5)
    for size in (1_000, 10_000, 100_000, 1_000_000):
        for _ in range(per_size):
            doc: list[Any] = []
            length = 0
            while length < size:
                tree = rnd.choice(trees)
                doc.append(tree)
                length += len(stdlib_body(tree)) - 100
            ratios = Ratios(doc, repeat, encode=False)
            made += 1
            ratio = min(ratios.whole, ratios.streamed)
            if ratio < worst:
                worst = ratio
                shape = f"{ratios.size / 1000:,.1f} KB, {leaf_mix(doc)}"
    return worst, shape, made


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print every shape's ratios; optionally append a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller corpus")
    parser.add_argument("--full", action="store_true", help="the 50,000-domain row in full")
    parser.add_argument("--corpus", type=int, help="documents per corpus size (default 12)")
    parser.add_argument("--only", help="run only the shapes whose name contains this")
    parser.add_argument("--markdown", metavar="FILE", help="append a Markdown table to FILE")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 5
    table = Table(
        "XML-RPC codec vs the standard library (ratio of times, same document)",
        ["shape", "MB", "stdlib loads MB/s", "decode whole", "decode 64 KiB chunks", "encode"],
    )
    table.header()
    decode_met = encode_met = True
    for name, make in shapes(args.full):
        if args.only and args.only not in name:
            continue
        r = Ratios(
            make(),
            1 if "raised" in name else repeat,
            ours="entity" in name,
            untyped="untyped" in name,
        )
        table.add(
            name,
            r.size / 1e6,
            r.size / 1e6 / r.std_decode,
            f"{r.whole:.2f}x",
            f"{r.streamed:.2f}x",
            f"{r.encode:.2f}x",
        )
        decode_met = decode_met and min(r.whole, r.streamed) >= DECODE_TARGET
        encode_met = encode_met and r.encode >= ENCODE_TARGET
    per_size = args.corpus if args.corpus is not None else (4 if args.quick else 12)
    if per_size and not args.only:
        worst, shape, made = corpus(draw_trees(300, 1), per_size, repeat)
        table.add(f"generated corpus, worst of {made}", "-", "-", f"{worst:.2f}x", "-", "-")
        table.note(f"worst corpus document: {shape}")
        table.note(f"corpus target >= {CORPUS_TARGET}x: {'met' if worst >= 1 else 'NOT met'}")
    table.note(
        f"targets: decode >= {DECODE_TARGET}x {'met' if decode_met else 'NOT met'}, "
        f"encode >= {ENCODE_TARGET}x {'met' if encode_met else 'NOT met'}"
    )
    table.note(
        "ratio = stdlib time / aioxend time, process CPU, best of several; decodes read the "
        "stdlib's encoding (as xend writes it; the entity row's with CR as &#13;), "
        "the stdlib's loads gets it whole"
    )
    if args.markdown:
        with open(args.markdown, "a", encoding="utf-8") as out:
            out.write("\n" + table.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
