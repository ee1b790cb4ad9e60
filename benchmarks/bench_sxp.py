"""SXP reader speed: aioxend.sxp.loads beside sexpdata.loads, shape by shape, in one process.

Every shape is about 1 MB of what ``GET /xend/domain?detail=1`` answers: one list of
``(domain ...)`` records modelled on real xend records (libvirt's xend test data,
see ``XendConfig.to_sxp`` in xend 4.4), each shape stressing one thing xend writes (its
``xend/sxp.py`` reader and printer): empty lists (``(cpus (() ()))``), single- and
double-quoted strings, escapes (``\\n``, ``\\'``, ``\\xHH``, octal), deep device lists, the
``xm list -l`` layout. The ratio is one of MB/s, best of N, with the garbage collector
running as it would in an application. sexpdata is the yardstick for speed only: it reads
``'`` as a Lisp quote (and refuses ``''``), so it reads the same records with their
single-quoted strings spelled in double quotes, escapes as written; our results are checked
against our own careful scanner instead. A second table gives the MB/s of ``loads`` from 1
KB to 64 MB, which should stay flat: every run of it reads about 64 MB at each size (64
batches of 856 calls of 1 KB, 64 calls of 1 MB, one of 64 MB), each batch's values freed
with the clock stopped (so the young-generation pass that the GC hold over a long text
defers is in no row), and it gives the best run and the median one. A last row keeps the
values of 64 calls of 1 MB, as much memory as one 64 MB value makes: dropped, a 1 MB
value's memory is reused by the next call while still in the CPU's cache.

Usage: ``python benchmarks/bench_sxp.py [--quick] [--only shapes|sizes] [--markdown FILE]``.
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from typing import TypeAlias
from unittest import mock

import sexpdata
from _harness import Table

from aioxend import sxp

TARGET = 12.0
THEIR_RUNS = 2  # sexpdata's runs a round, as ours are five: one slow run cannot flatter a row
FLAT = 0.8  # MB/s at 64 MB over MB/s at 1 MB
SIZES = (("1 KB", 1_000), ("1 MB", 1_000_000), ("64 MB", 64_000_000))
BIG = sxp.Limits(max_items=1 << 26)
PRETTY = (
    "xm list -l layout (xm's, not on the wire)"  # a 64 MB answer holds more values than the default
)


def devices(i: int, name: str) -> list[object]:
    """The five devices of a paravirtual guest, as xend 4.x lists them."""
    return [
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


def domain_record(i: int, *, description: str | None = None) -> list[object]:
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
        ["description", description or f"test guest {i} (load test)"],
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
        *devices(i, name),
    ]


def with_cpus(i: int) -> list[object]:
    """A record with xend 4's per-VCPU affinity lists, empty when unpinned."""
    record = domain_record(i)
    record.insert(7, ["cpus", [[], []]])
    return record


def with_quotes(i: int) -> list[object]:
    """A record whose free-text fields hold both kinds of quote, so xend uses both."""
    return [
        *domain_record(i, description=f"it's guest {i}, the 'blue' one"),
        ["cpu_time_str", f"{i} s"],
        ["comment", "owner's test box"],
        ["pool_name", "Pool-0 (default)"],
    ]


def with_escapes(i: int) -> list[object]:
    """A record with text outside printable ASCII, which xend escapes byte by byte."""
    return [
        *domain_record(i, description=f"serveur de démonstration n°{i}\n\t'été' \"2009\""),
        ["motd", "Ünïcödé\r\nline two\\three"],
    ]


def deep_record(i: int) -> list[object]:
    """A record with many devices nested eight lists deep (backend, qos and ports)."""
    record = domain_record(i)
    for port in range(8):
        record.append(
            [
                "device",
                [
                    "vif",
                    ["backend", 0],
                    ["qos", ["rate", ["limit", ["burst", ["window", ["ms", 50 + port]]]]]],
                    ["port", ["vlan", ["tag", ["id", port]]]],
                ],
            ]
        )
    return record


def show(value: object) -> str:
    """xend's ``sxp.show`` layout, with double-quoted strings where it would quote."""
    if isinstance(value, list):
        return "(" + " ".join(show(item) for item in value) + ")"
    if isinstance(value, str) and not sxp.is_bare(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def octal(text: str) -> str:
    """``text`` with each ``\\xHH`` escape spelled in octal, which xend's reader also takes."""
    parts = text.split("\\x")
    return parts[0] + "".join(f"\\{int(p[:2], 16):03o}{p[2:]}" for p in parts[1:])


def records(make: Callable[[int], list[object]], size: int) -> list[list[object]]:
    """As many records from ``make`` as fill about ``size`` characters of text."""
    one = len(sxp.dumps(sxp.from_xmlrpc(make(0))))
    return [make(i) for i in range(max(1, size // one))]


def shapes(size: int) -> list[tuple[str, str]]:
    """Each shape's name and text, about ``size`` characters each."""
    escaped = sxp.dumps(sxp.from_xmlrpc(records(with_escapes, size)))
    return [
        ("domains, double-quoted (sexpdata's syntax)", show(records(domain_record, size))),
        ("xend's printer: empty lists", sxp.dumps(sxp.from_xmlrpc(records(with_cpus, size)))),
        ("single and double quotes", sxp.dumps(sxp.from_xmlrpc(records(with_quotes, size)))),
        ("escapes: \\n \\' \\xHH", escaped),
        ("escapes in octal", octal(escaped)),
        ("deep device lists", sxp.dumps(sxp.from_xmlrpc(records(deep_record, size)))),
        (PRETTY, sxp.dumps(sxp.from_xmlrpc(records(with_cpus, size)), pretty=True)),
    ]


_QUOTED = re.compile(r""""([^"\\]*(?:\\.[^"\\]*)*)"|'([^'\\]*(?:\\.[^'\\]*)*)'""", re.S)


def sexpdata_spelling(text: str) -> str:
    """The same text with single-quoted strings in double quotes, sexpdata's only kind.

    sexpdata reads ``'`` as a Lisp quote (and refuses ``''``), so it gets this spelling;
    escapes stay as written, and the length barely changes.
    """

    def respell(match: re.Match[str]) -> str:
        body = match.group(2)
        if body is None:
            return match.group()
        return '"' + body.replace("\\'", "'").replace('"', '\\"') + '"'

    return _QUOTED.sub(respell, text)


def careful(text: str, limits: sxp.Limits = sxp.DEFAULT_LIMITS) -> list[sxp.Expr]:
    """Our reference reading: the careful scanner alone."""
    parser = sxp.Parser(limits=limits)
    with mock.patch.object(parser, "_fast_ready", return_value=False):  # never the fast path
        return parser.feed(text) + parser.close()


def run_times(rounds: int, funcs: Sequence[tuple[Callable[[], object], int]]) -> list[list[float]]:
    """Every timed run of each function, in seconds, over ``rounds`` interleaved rounds.

    Each round runs every function (the ``int`` is how many times), so a busy machine
    slows all of them alike and the ratio stays fair; the time is this process's CPU
    time, which other processes on a shared machine disturb less than the wall clock.
    The garbage collector runs as it would in an application; a collection between
    rounds starts each round alike. The value is freed after the clock is read: freeing
    is the same work whoever built it, and at 64 MB it would be a third of the time.
    """
    runs: list[list[float]] = [[] for _ in funcs]
    for _ in range(rounds):
        for index, (func, times) in enumerate(funcs):
            for _ in range(times):
                start = time.process_time()
                result = func()
                runs[index].append(time.process_time() - start)
                del result  # freeing the value is not part of reading it
        gc.collect()
    return runs


def best_times(rounds: int, funcs: Sequence[tuple[Callable[[], object], int]]) -> list[float]:
    """The fastest run of each function (``run_times``), in seconds."""
    return [min(runs) for runs in run_times(rounds, funcs)]


def loads_repeatedly(text: str, times: int, *, gc_off: bool = False) -> list[sxp.Expr]:
    """``loads`` ``times`` times over, every value kept, so a small text is timed over many
    runs; ``gc_off`` holds the collector off across the calls (as ``loads`` holds it
    within each call of a long text), so no call runs the young-generation pass over
    the values of the calls before."""
    if not gc_off:
        return [sxp.loads(text, limits=BIG) for _ in range(times)]
    gc.disable()
    try:
        return [sxp.loads(text, limits=BIG) for _ in range(times)]
    finally:
        gc.enable()


def chunked_parse(text: str, *, strict: bool = True) -> list[sxp.Expr]:
    """The incremental parser fed in 64 KiB chunks, as a streaming HTTP body would be."""
    parser = sxp.Parser(strict=strict)
    out: list[sxp.Expr] = []
    for start in range(0, len(text), 65536):
        out += parser.feed(text[start : start + 65536])
    out += parser.close()
    return out


def shape_table(rounds: int) -> tuple[Table, bool]:
    """Per shape: MB/s of both readers and the ratio; whether every shape met the target."""
    table = Table(
        "SXP reader by shape (GC on), about 1 MB each",
        ["shape", "MB", "aioxend MB/s", "sexpdata MB/s", "vs sexpdata"],
    )
    table.header()
    worst = float("inf")
    for name, text in shapes(1_000_000):
        if sxp.loads_all(text) != careful(text):
            raise SystemExit(f"{name}: the fast path and the careful scanner disagree")
        theirs_text = sexpdata_spelling(text)
        ours, theirs = best_times(
            rounds,
            [(partial(sxp.loads, text), 5), (partial(sexpdata.loads, theirs_text), THEIR_RUNS)],
        )
        size = len(text.encode()) / 1e6
        their_rate = len(theirs_text.encode()) / 1e6 / theirs
        if name != PRETTY:  # the target is on what xend writes
            worst = min(worst, size / ours / their_rate)
        table.add(name, size, size / ours, their_rate, f"{size / ours / their_rate:.1f}x")
    text = shapes(1_000_000)[1][1]
    size = len(text.encode()) / 1e6
    theirs_text = sexpdata_spelling(text)
    streamed, lenient, theirs = best_times(
        rounds,
        [
            (lambda: chunked_parse(text), 2),
            (lambda: chunked_parse(text, strict=False), 1),
            (lambda: sexpdata.loads(theirs_text), THEIR_RUNS),
        ],
    )
    their_rate = len(theirs_text.encode()) / 1e6 / theirs
    for label, seconds in (
        ("empty lists, Parser fed 64 KiB chunks", streamed),
        ("empty lists, Parser(strict=False): the careful scanner", lenient),
    ):
        rate = size / seconds
        table.add(label, size, rate, their_rate, f"{rate / their_rate:.1f}x")
    verdict = "met" if worst >= TARGET else "NOT met"
    table.note(
        f"target loads >= {TARGET:.0f}x sexpdata on every shape: {verdict} (worst {worst:.1f}x)"
    )
    table.note(
        "the careful scanner reads what the fast path declines: comments, separators, "
        "malformed escapes, non-ASCII outside strings, lenient mode"
    )
    return table, worst >= TARGET


Batch: TypeAlias = tuple[str, str, int, int, bool]
"""A row of the throughput table: label, text, calls a timed batch makes, batches a run
adds up, and whether a batch keeps its values with the GC off (``loads_repeatedly``)."""


def throughput_texts() -> list[Batch]:
    """The rows of the throughput table (``Batch``), every run reading about 64 MB.

    A batch reads about 1 MB or more: at 1 KB as many calls as make 1 MB, else one (with
    two 1 MB calls a batch, the young-generation pass the first call's hold deferred fell
    inside the second's time: the 1 MB row paid half of one, the 64 MB row none). Runs
    of one length: the fastest of many 20 ms runs on a shared machine is a lucky one,
    which the fastest of 3 s runs cannot be, so equal runs leave both the same luck.

    One call's values freed before the next, 1 MB calls reuse the memory the last one
    freed, still in the CPU's cache (a megabyte's value is some 11 MB); a 64 MB value
    cannot. The last row makes 64 calls of 1 MB in one batch and keeps all their values,
    about as much memory as one 64 MB value: it tells the reader's own cost of a size
    from what fresh memory costs.
    """
    megabyte = sxp.dumps(sxp.from_xmlrpc(records(with_cpus, 1_000_000)))[1:-1]
    longest = SIZES[-1][1]
    texts: list[Batch] = []
    for label, size in SIZES:
        if size < 1_000_000:
            text = sxp.dumps(sxp.from_xmlrpc(with_cpus(0)))  # one record, not a list
        else:  # the megabyte's records over again, so building 64 MB takes no time
            text = "(" + " ".join([megabyte] * (size // 1_000_000)) + ")"
        calls = max(1, 1_000_000 // len(text))
        texts.append((label, text, calls, max(1, round(longest / (calls * len(text)))), False))
    one = texts[1][1]
    texts.append(("1 MB, 64 values kept", one, round(longest / len(one)), 1, True))
    return texts


def throughput_table(rounds: int) -> tuple[Table, bool]:
    """MB/s of ``loads`` on xend's printer's output from 1 KB to 64 MB (GC on).

    Each run reads about 64 MB (``throughput_texts``), the clock stopped while a batch's
    values are freed; the sizes take turns in each round, two runs each, so a change in
    the machine's load between rounds reaches all alike. The table gives the best run
    and the median one; the target is on the best.
    """
    table = Table(
        "SXP reader throughput by size (GC on)",
        ["size", "MB", "aioxend MB/s (best)", "MB/s (median)"],
    )
    table.header()
    texts = throughput_texts()
    batches = run_times(
        rounds,
        [
            (partial(loads_repeatedly, text, calls, gc_off=kept), 2 * runs)
            for _, text, calls, runs, kept in texts
        ],
    )
    best: list[float] = []
    median: list[float] = []
    for (label, text, calls, runs, _), times in zip(texts, batches, strict=True):
        seconds = [sum(times[start : start + runs]) for start in range(0, len(times), runs)]
        mb = len(text.encode()) / 1e6 * calls * runs
        best.append(mb / min(seconds))
        median.append(mb / statistics.median(seconds))
        table.add(label, len(text.encode()) / 1e6, best[-1], median[-1])
    # The hold defers the young-generation pass over the new lists to the next
    # collection while the value lives; what that pass costs, once:
    megabyte = texts[1][1]
    value = sxp.loads_all(megabyte, limits=BIG)
    start = time.process_time()
    gc.collect(0)
    deferred = (time.process_time() - start) * 1e3 / (len(megabyte) / 1e6)
    del value
    flat = best[2] / best[1]
    verdict = "met" if flat >= FLAT else "NOT met"
    table.note(
        f"MB/s at 64 MB / MB/s at 1 MB: {flat:.2f} best, {median[2] / median[1]:.2f} median "
        f"(target >= {FLAT} on the best: {verdict}); at 1 KB / 1 MB: {best[0] / best[1]:.2f}"
    )
    table.note(
        f"MB/s at 64 MB / MB/s of 1 MB calls whose values are kept: {best[2] / best[3]:.2f} "
        f"best, {median[2] / median[3]:.2f} median (as much memory made in both)"
    )
    table.note(
        f"{2 * rounds} runs a row, the rows in turn; a run reads about 64 MB: "
        f"{texts[0][3]} batches of {texts[0][2]} calls at 1 KB, {texts[1][3]} calls at 1 MB, "
        "one at 64 MB; each batch's values freed with the clock stopped"
    )
    table.note(
        f"the GC is held off while the lists of a text of 16 KiB or more are built; the "
        f"young-generation pass over them comes at the next collection while the value "
        f"lives, in no row: {deferred:.1f} ms a MB"
    )
    return table, flat >= FLAT


def main(argv: list[str] | None = None) -> int:
    """Run both tables; optionally append them to a Markdown file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--markdown", metavar="FILE", help="append the tables to FILE")
    parser.add_argument(
        "--only", choices=("shapes", "sizes"), help="run one table: by shape or by size"
    )
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else 5
    tables = []
    if args.only != "sizes":
        tables.append(shape_table(rounds)[0])
    if args.only != "shapes":
        tables.append(throughput_table(rounds)[0])
    if args.markdown:
        with open(args.markdown, "a", encoding="utf-8") as out:
            for table in tables:
                out.write("\n" + table.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
