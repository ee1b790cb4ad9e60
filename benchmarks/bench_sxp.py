"""SXP reader speed: aioxend.sxp.loads beside sexpdata.loads, in one process.

The text is what ``GET /xend/domain?detail=1`` answers for 1,000 domains: one list of
``(domain ...)`` records of about 40 entries each, devices included, laid out as xend's
printer lays them out (reference sections 4.3 and 4.4) except that quoted atoms use
double quotes, which both readers understand (sexpdata reads ``'`` as a Lisp quote).
Both parsers get the same ``str``; the ratio is a ratio of best-of-N times.

Usage: ``python benchmarks/bench_sxp.py [--quick] [--markdown FILE]``.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import cast

import sexpdata
from _harness import Table

from aioxend import sxp

TARGET = 10.0


def domain_record(i: int) -> list[object]:
    """One domain as xend 4.x writes it for ``GET /xend/domain/<name>``."""
    name = f"guest-{i:04d}"
    return [
        "domain",
        ["domid", i + 1],
        ["cpu_weight", 256],
        ["cpu_cap", 0],
        ["uuid", str(uuid.UUID(int=i * 7919 + 1))],
        ["vcpus", 2],
        ["name", name],
        ["on_poweroff", "destroy"],
        ["on_reboot", "restart"],
        ["on_crash", "restart"],
        ["bootloader", "/usr/bin/pygrub"],
        ["bootloader_args", ""],
        ["description", f"test guest {i} (load test)"],
        ["maxmem", 1024],
        ["memory", 512 + i % 512],
        ["shadow_memory", 0],
        ["features", ""],
        ["on_xend_start", "ignore"],
        ["on_xend_stop", "ignore"],
        ["start_time", 1233108538.42 + i],
        ["cpu_time", 907.159661051 + i / 7],
        ["online_vcpus", 2],
        [
            "image",
            [
                "linux",
                ["kernel", "/var/lib/xen/vmlinuz.2Dn2YT"],
                ["ramdisk", "/var/lib/xen/initrd.img.0u-Vhq"],
                ["args", f"ro root=/dev/VolGroup00/LogVol{i % 4:02d} rhgb quiet console=hvc0"],
                ["notes", ["FEATURES", "writable_page_tables|pae_pgdir_above_4gb"]],
            ],
        ],
        ["status", 2],
        ["state", "-b----"],
        ["store_mfn", 262142 - i],
        ["console_mfn", 262141 - i],
        [
            "device",
            [
                "vif",
                ["bridge", "xenbr0"],
                ["mac", f"00:16:3e:{i >> 8 & 255:02x}:{i & 255:02x}:01"],
                ["script", "/etc/xen/scripts/vif-bridge"],
                ["uuid", str(uuid.UUID(int=i * 31 + 1))],
                ["backend", 0],
            ],
        ],
        [
            "device",
            [
                "vbd",
                ["uname", f"phy:/dev/vg0/{name}"],
                ["dev", "xvda:disk"],
                ["mode", "w"],
                ["bootable", 1],
                ["uuid", str(uuid.UUID(int=i * 31 + 2))],
                ["backend", 0],
            ],
        ],
        ["device", ["console", ["protocol", "vt100"], ["location", "2"]]],
        ["device", ["vkbd", ["backend", 0]]],
        ["device", ["vfb", ["vncunused", 1], ["location", f"127.0.0.1:{5900 + i}"]]],
    ]


def show(value: object) -> str:
    """xend's ``sxp.show`` layout, with double-quoted strings where it would quote."""
    if isinstance(value, list):
        return "(" + " ".join(show(item) for item in value) + ")"
    if isinstance(value, str) and not sxp.is_bare(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def domain_records(domains: int) -> list[list[object]]:
    """``domains`` records, as the Python values xend holds."""
    return [domain_record(i) for i in range(domains)]


def with_accents(record: list[object]) -> list[object]:
    """The record with a description outside ASCII, which xend escapes byte by byte."""
    accented = ["description", "serveur de démonstration n°1 'été'"]
    return [
        accented if isinstance(item, list) and item[0] == "description" else item for item in record
    ]


def document(domains: int) -> str:
    """The body of ``GET /xend/domain?detail=1`` for ``domains`` domains."""
    return show(domain_records(domains))


def best_times(
    rounds: int, funcs: Sequence[tuple[Callable[[], object], int]], *, pause_gc: bool
) -> list[float]:
    """The fastest run of each function, in seconds, over ``rounds`` interleaved rounds.

    Each round runs every function (the ``int`` is how many times), so a busy machine
    slows all of them alike and the ratio stays fair. ``pause_gc`` pauses the cyclic GC
    while timing, as ``timeit`` does; otherwise it runs as it would in an application.
    """
    best = [float("inf")] * len(funcs)
    enabled = gc.isenabled()
    if pause_gc:
        gc.disable()
    try:
        for _ in range(rounds):
            for index, (func, times) in enumerate(funcs):
                for _ in range(times):
                    start = time.perf_counter()
                    func()
                    best[index] = min(best[index], time.perf_counter() - start)
            gc.collect()
    finally:
        if enabled:
            gc.enable()
    return best


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print MB/s and the ratio; optionally append a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--markdown", metavar="FILE", help="append a Markdown table to FILE")
    args = parser.parse_args(argv)
    domains = 1000
    rounds = 1 if args.quick else 5

    text = document(domains)
    # Both readers must agree (on the syntax they share) before speed means anything.
    ours = sxp.loads(text)
    theirs = sxp.from_sexpdata(sexpdata.loads(text))
    if not isinstance(ours, list) or len(ours) != domains or len(theirs) != domains:
        print("readers disagree on the number of records", file=sys.stderr)
        return 1
    names = [sxp.value(record, "domain/name") for record in ours]
    if names != [sxp.value(record, "domain/name") for record in theirs]:
        print("readers disagree on the records", file=sys.stderr)
        return 1

    size = len(text.encode()) / 1e6
    # The same records exactly as xend prints them (repr quoting, escapes), which only
    # aioxend reads; its MB/s shows the escape-decoding cost.
    accented = [with_accents(record) for record in domain_records(domains)]
    native = sxp.dumps(cast(list[sxp.Printable], accented))
    if sxp.loads(native) != sxp.from_xmlrpc(accented):
        print("aioxend misreads xend's own quoting", file=sys.stderr)
        return 1
    readers = [
        ("aioxend.sxp.loads", lambda: sxp.loads(text), 5),
        ("aioxend.sxp.Parser, fed 64 KiB chunks", lambda: chunked_parse(text), 2),
        (
            "aioxend.sxp.Parser(strict=False), the careful scanner",
            lambda: chunked_parse(text, strict=False),
            1,
        ),
        ("sexpdata.loads", lambda: sexpdata.loads(text), 1),
    ]
    native_times = best_times(rounds, [(lambda: sxp.loads(native), 5)], pause_gc=False)
    funcs = [(func, times) for _, func, times in readers]
    with_gc = best_times(rounds, funcs, pause_gc=False)
    without_gc = best_times(rounds, funcs, pause_gc=True)
    table = Table(
        f"SXP reader: {domains} domain records, {size:.2f} MB",
        ["reader", "MB/s (GC on)", "vs sexpdata", "MB/s (GC paused)", "vs sexpdata"],
    )
    table.header()
    for (name, _, _), on, off in zip(readers, with_gc, without_gc, strict=True):
        table.add(
            name,
            size / on,
            f"{with_gc[-1] / on:.1f}x",
            size / off,
            f"{without_gc[-1] / off:.1f}x",
        )
    native_size = len(native.encode()) / 1e6
    table.add("aioxend.sxp.loads, xend's quoting with escapes", native_size / native_times[0])
    for label, times in (("GC on", with_gc), ("GC paused", without_gc)):
        ratio = times[-1] / times[0]
        verdict = "met" if ratio >= TARGET else "NOT met"
        table.note(f"target loads >= {TARGET:.0f}x sexpdata, {label}: {verdict} ({ratio:.1f}x)")
    table.note(
        "the careful scanner reads what the fast path declines: comments, separators, "
        "malformed escapes, non-ASCII outside strings, lenient mode"
    )
    if args.markdown:
        with open(args.markdown, "a", encoding="utf-8") as out:
            out.write("\n" + table.markdown())
    return 0


def chunked_parse(text: str, *, strict: bool = True) -> list[sxp.Expr]:
    """The incremental parser fed in 64 KiB chunks, as a streaming HTTP body would be.

    Lenient reading (``strict=False``) always takes the careful scanner, so its row shows
    what input the fast path declines costs.
    """
    parser = sxp.Parser(strict=strict)
    out: list[sxp.Expr] = []
    for start in range(0, len(text), 65536):
        out += parser.feed(text[start : start + 65536])
    out += parser.close()
    return out


if __name__ == "__main__":
    sys.exit(main())
