"""Mutation fuzzing of both decoders over real responses: parse it or raise ProtocolError.

Seeds are real answers: the SXP corpus of ``tests/sxp/corpus`` (libvirt's xend test data),
responses captured from the emulator at test time over both protocols, and large
``xend.domains`` answers as the standard library's marshaller writes them. Each iteration
takes a seed, applies a few random mutations (bit flips, interesting bytes, deletions,
duplications, splices from another seed, truncation, deep nesting, huge numbers) and decodes
the result twice: whole, and fed in random chunks. The rules:

- the decoder returns a value, or raises ``ProtocolError`` (for XML-RPC also ``Fault``,
  for a well-formed fault answer); no other exception type escapes;
- whole and chunked decoding agree (same value, or both refuse);
- every input finishes within ``TIME_BOUND`` seconds (a SIGALRM watchdog turns a hang
  into a failure naming the input).

The iteration count is ``AIOXEND_FUZZ_ITERATIONS`` if set, else large under the "fuzz"
hypothesis profile (``nox -s fuzz``) and small in the default test run.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.client
import os
import random
import re
import signal
import time
import xmlrpc.client
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, cast

import pytest
from hypothesis import settings

from aioxend.errors import Fault, ProtocolError

ROOT = Path(__file__).resolve().parents[2]
TIME_BOUND = 5.0
SEED = int(os.environ.get("AIOXEND_FUZZ_SEED", "20261125"))


def iterations() -> int:
    """How many mutated inputs per decoder this run tries."""
    if "AIOXEND_FUZZ_ITERATIONS" in os.environ:
        return int(os.environ["AIOXEND_FUZZ_ITERATIONS"])
    return 200_000 if settings().max_examples >= 100_000 else 2_000


def corpus_dir() -> Path | None:
    """The SXP corpus the repository carries (``tests/sxp/corpus``)."""
    path = ROOT / "tests" / "sxp" / "corpus"
    return path if path.is_dir() else None


# --- mutations ------------------------------------------------------------------------------

INTERESTING = [
    b"<",
    b">",
    b"&",
    b";",
    b"'",
    b'"',
    b"\x00",
    b"\xff",
    b"\xc3",
    b"(",
    b")",
    b"\\",
    b"#",
    b"&#0;",
    b"&#x110000;",
    b"&amp",
    b"]]>",
    b"<![CDATA[",
    b"<!DOCTYPE x [<!ENTITY a 'b'>]>",
    b"<?pi x?>",
    b"<value>",
    b"</value>",
    b"<int>",
    b"</int>",
    b"<i8>99999999999999999999999</i8>",
    b"<double>nan</double>",
    b"<base64>!!</base64>",
    b"<dateTime.iso8601>2026</dateTime.iso8601>",
    b"<nil/>",
    b"<struct><member><name>",
    b"\\x",
    b"\\777",
    b"\\",
    b"\r\n",
    b"\x04",
]


TEXT_VALUES = [
    b"",
    b" ",
    b"0",
    b"-0",
    b"+7",
    b"2147483648",
    b"-9223372036854775809",
    b"1e308",
    b"1e999",
    b"nan",
    b"0x10",
    b"010",
    b"true",
    b"2",
    b"19980717T14:08:55",
    b"20261125T10:00:00Z",
    b"aGVsbG8=",
    b"aGVsbG8",
    b"&lt;&amp;&gt;&quot;&apos;",
    b"&#233;&#x1F600;",
    b"\xc3\xa9\xe2\x82\xac",
    b"'quoted'",
    b'"dq"',
    b"a b\tc\nd",
    b"()",
    b"\\'\\\"",
]
XML_TYPES = [b"int", b"i4", b"i8", b"string", b"double", b"boolean", b"base64", b"nil", b"ex:nil"]
_SCALAR = re.compile(rb"<(int|i4|i8|string|double|boolean|base64|dateTime\.iso8601)>([^<]*)</\1>")
_ATOM = re.compile(rb"[^()\s]+")


def mutate(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    """A few random mutations of ``data``: byte-level ones, and structure-keeping ones
    (a scalar's text or type replaced) so that many mutants still parse and the
    decoders' value paths are explored, not only their error paths."""
    buf = bytearray(data)
    for _ in range(1 if rng.random() < 0.6 else rng.randint(2, 4)):
        kind = rng.randrange(10, 13) if rng.random() < 0.5 else rng.randrange(10)
        pos = rng.randrange(len(buf) + 1)
        if kind in (10, 11):
            xml = b"<" in data[:64]
            spans = list((_SCALAR if xml else _ATOM).finditer(buf))
            if spans:
                m = rng.choice(spans)
                group = 2 if xml else 0
                buf[m.start(group) : m.end(group)] = rng.choice(TEXT_VALUES)
        elif kind == 12:
            scalars = list(_SCALAR.finditer(buf))
            if scalars:
                m = rng.choice(scalars)
                tag = rng.choice(XML_TYPES)
                text = m.group(2) if rng.random() < 0.7 else rng.choice(TEXT_VALUES)
                replacement = (
                    b"<%s/>" % tag
                    if tag.endswith(b"nil")
                    else b"<%s>%s</%s>"
                    % (
                        tag,
                        text,
                        tag,
                    )
                )
                buf[m.start() : m.end()] = replacement
        elif kind == 0 and buf:
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif kind == 1:
            token = rng.choice(INTERESTING)
            if rng.random() < 0.5 and pos < len(buf):
                buf[pos : pos + len(token)] = token
            else:
                buf[pos:pos] = token
        elif kind == 2 and buf:
            del buf[pos : pos + rng.randint(1, 64)]
        elif kind == 3 and buf:
            start = rng.randrange(len(buf))
            piece = buf[start : start + rng.randint(1, 256)]
            buf[pos:pos] = piece * rng.randint(1, 8)
        elif kind == 4:
            other = rng.choice(seeds)
            start = rng.randrange(len(other) + 1)
            buf[pos:pos] = other[start : start + rng.randint(1, 512)]
        elif kind == 5:
            del buf[rng.randrange(len(buf) + 1) :]
        elif kind == 6:
            opener, closer = (
                (b"<value><array><data>", b"</data></array></value>")
                if b"<" in data[:64]
                else (b"(", b")")
            )
            depth = rng.choice([10, 300, 5000])
            buf[pos:pos] = opener * depth + (closer * depth if rng.random() < 0.5 else b"")
        elif kind == 7:
            digits = str(rng.choice([2**31, 2**63, 10**40, -(2**64)])).encode()
            buf[pos:pos] = digits
        elif kind == 8 and len(buf) > 2:
            a, b = sorted(rng.sample(range(len(buf)), 2))
            buf[a:b] = buf[a:b][::-1]
        else:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(buf)


def chunks(data: bytes, rng: random.Random) -> Iterator[bytes]:
    """``data`` split at random points (single bytes sometimes, larger runs mostly)."""
    pos = 0
    while pos < len(data):
        size = 1 if rng.random() < 0.2 else rng.randint(1, 4096)
        yield data[pos : pos + size]
        pos += size


class _Hang(BaseException):
    """Raised by the watchdog when one input takes longer than the time bound."""


@contextlib.contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    """Interrupt the block with ``_Hang`` after ``seconds`` (main thread, POSIX)."""

    def fire(signum: int, frame: FrameType | None) -> None:
        raise _Hang

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


Outcome = tuple[str, str]


def _outcome(decode: Callable[[], object], allowed: tuple[type[BaseException], ...]) -> Outcome:
    try:
        value = decode()
    except allowed as exc:
        return ("refused", type(exc).__name__)
    return ("ok", repr(value))


def fuzz(
    name: str,
    seeds: list[bytes],
    whole: Callable[[bytes], object],
    chunked: Callable[[Iterator[bytes]], object],
    allowed: tuple[type[BaseException], ...],
    tmp_path: Path,
) -> dict[str, int]:
    """Run the mutation loop; fail on the first input that breaks a rule."""
    rng = random.Random(f"{SEED}-{name}")
    counts = {"ok": 0, "refused": 0}
    for i in range(iterations()):
        data = mutate(rng.choice(seeds), rng, seeds)
        split_seed = rng.random()
        started = time.perf_counter()
        try:
            with watchdog(TIME_BOUND):
                first = _outcome(functools.partial(whole, data), allowed)
                parts = chunks(data, random.Random(split_seed))
                second = _outcome(functools.partial(chunked, parts), allowed)
        except _Hang:
            pytest.fail(_report(name, i, data, tmp_path, f"no answer within {TIME_BOUND} s"))
        except Exception as exc:  # any type the rules do not allow
            pytest.fail(_report(name, i, data, tmp_path, f"{type(exc).__name__}: {exc}"))
        elapsed = time.perf_counter() - started
        assert elapsed < TIME_BOUND, _report(name, i, data, tmp_path, f"took {elapsed:.1f} s")
        if first[0] != second[0] or (first[0] == "ok" and first != second):
            pytest.fail(
                _report(name, i, data, tmp_path, f"whole {first[:2]!r} != chunked {second[:2]!r}")
            )
        counts[first[0]] += 1
    return counts


def _report(name: str, index: int, data: bytes, tmp_path: Path, why: str) -> str:
    path = tmp_path / f"{name}-{index}.bin"
    path.write_bytes(data)
    head = base64.b64encode(data[:300]).decode()
    return f"{name} input #{index} ({len(data)} bytes, saved to {path}): {why}; base64 head {head}"


# --- seeds ----------------------------------------------------------------------------------


def _record(i: int) -> list[object]:
    return [
        "domain",
        ["domid", i],
        ["uuid", f"4f77abd2-3019-58e8-3bab-6fbf2118f8{i:02d}"],
        ["name", f"guest-{i}"],
        ["memory", 512],
        ["cpu_time", 137.189121425 * i],
        ["image", ["linux", ["kernel", "/boot/vmlinuz"], ["args", "ro root=/dev/xvda1 quiet"]]],
        ["state", "-b----"],
        ["device", ["vbd", ["uname", "phy:/dev/vg/x"], ["dev", "xvda"], ["mode", "w"]]],
    ]


def stdlib_xmlrpc_seeds() -> list[bytes]:
    """Answers as the standard library's marshaller (xend's own) writes them."""
    values: list[tuple[Any, ...]] = [
        ([_record(i) for i in range(4)],),
        (None,),
        ({"weight": 256, "cap": 0},),
        (["vbd", ["dom", 3, "id", 51712]],),
        ("line one\\nline two \\x1b[0m",),
        ([True, 1.5, -(2**31), "x & y < z", b"\x00\x01binary"],),
    ]
    seeds = [xmlrpc.client.dumps(v, methodresponse=True, allow_none=True).encode() for v in values]
    fault = xmlrpc.client.Fault(3, "guest-9")
    seeds.append(xmlrpc.client.dumps(fault, methodresponse=True).encode())
    return seeds


def _post(url: str, method: str, params: tuple[Any, ...]) -> bytes:
    host = url.split("://", 1)[1].split("/", 1)[0]
    conn = http.client.HTTPConnection(host, timeout=10)
    try:
        body = xmlrpc.client.dumps(params, method, allow_none=True).encode()
        conn.request("POST", "/RPC2", body, {"Content-Type": "text/xml"})
        return conn.getresponse().read()
    finally:
        conn.close()


def _get(url: str, path: str) -> bytes:
    host = url.split("://", 1)[1].split("/", 1)[0]
    conn = http.client.HTTPConnection(host, timeout=10)
    try:
        conn.request("GET", path)
        return conn.getresponse().read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def emulator_captures() -> dict[str, list[bytes]]:
    """Raw XML-RPC and SXP response bodies from the emulator, captured over TCP.

    Empty when the emulator is not in the tree; the other seeds are fuzzed regardless.
    """
    try:
        from aioxend.emulator import Emulator
    except ImportError:
        return {"xmlrpc": [], "sxp": []}
    xml: list[bytes] = []
    sxp: list[bytes] = []
    with Emulator.in_thread(
        domains=4, seed=1, xmlrpc_tcp="127.0.0.1:0", sxp_tcp="127.0.0.1:0"
    ) as emu:
        calls: list[tuple[str, tuple[Any, ...]]] = [
            ("xend.domains_with_state", (True, "all", True)),
            ("xend.domains_with_state", (False, "all", False)),
            ("xend.domain", (1, True)),
            ("xend.node.info", (1,)),
            ("xend.node.dmesg.info", ()),
            ("xend.domain.getVCPUInfo", (1,)),
            ("xend.domain.sched_credit_get", (1,)),
            ("xend.domain.pause", ("no-such-domain",)),
            ("xend.no.such.method", ()),
        ]
        assert emu.xmlrpc_url is not None
        assert emu.sxp_url is not None
        for method, params in calls:
            xml.append(_post(emu.xmlrpc_url, method, params))
        for path in ("/xend/domain?detail=1", "/xend/node", "/xend/domain/Domain-0", "/xend/"):
            sxp.append(_get(emu.sxp_url, path))
    return {"xmlrpc": [s for s in xml if s], "sxp": [s for s in sxp if s]}


# --- the fuzzers ----------------------------------------------------------------------------


def _codec(module: str, *names: str) -> Any:
    """The codec module, or skip when it (or one of ``names``) is not in the tree yet."""
    found = pytest.importorskip(module)
    missing = [n for n in names if not hasattr(found, n)]
    if missing:
        pytest.skip(f"{module} has no {', '.join(missing)} yet")
    return found


def test_xmlrpc_decoder_mutations(
    emulator_captures: dict[str, list[bytes]], tmp_path: Path
) -> None:
    codec = _codec("aioxend.xmlrpc", "Decoder", "loads")
    seeds = stdlib_xmlrpc_seeds() + emulator_captures["xmlrpc"]

    def chunked(parts: Iterator[bytes]) -> object:
        decoder = codec.Decoder()
        for part in parts:
            decoder.feed(part)
        return decoder.close()

    counts = fuzz("xmlrpc", seeds, codec.loads, chunked, (ProtocolError, Fault), tmp_path)
    # A fuzzer whose every input is refused (or accepted) is not exploring: both must occur.
    assert counts["ok"] > 0
    assert counts["refused"] > 0


def test_sxp_parser_mutations(emulator_captures: dict[str, list[bytes]], tmp_path: Path) -> None:
    sxp = _codec("aioxend.sxp", "Parser", "loads")
    seeds = list(emulator_captures["sxp"])
    corpus = corpus_dir()
    if corpus is not None:
        seeds += [p.read_bytes() for p in sorted(corpus.glob("*.sexpr"))]
    if not seeds:
        pytest.skip("no SXP corpus beside the repository and no emulator captures")
    parser_type = cast(Any, sxp.Parser)

    def chunked(parts: Iterator[bytes]) -> object:
        parser = parser_type()
        for part in parts:
            parser.feed(part)
        return parser.close()

    def whole(data: bytes) -> object:
        parser = parser_type()
        parser.feed(data)
        return parser.close()

    counts = fuzz("sxp", seeds, whole, chunked, (ProtocolError,), tmp_path)
    assert counts["ok"] > 0
    assert counts["refused"] > 0


def test_sxp_loads_mutations(emulator_captures: dict[str, list[bytes]], tmp_path: Path) -> None:
    """``loads`` (first expression, trailing ``''`` allowed) under the same rules."""
    sxp = _codec("aioxend.sxp", "Parser", "loads")
    seeds = list(emulator_captures["sxp"])
    corpus = corpus_dir()
    if corpus is not None:
        seeds += [p.read_bytes() for p in sorted(corpus.glob("*.sexpr"))]
    if not seeds:
        pytest.skip("no SXP corpus beside the repository and no emulator captures")

    def chunked(parts: Iterator[bytes]) -> object:
        return sxp.loads(b"".join(parts))

    counts = fuzz("sxp-loads", seeds, sxp.loads, chunked, (ProtocolError,), tmp_path)
    assert counts["ok"] > 0
