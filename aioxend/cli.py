"""The ``aioxend`` command line: xm's everyday verbs over the async client.

Strategy: one argparse tree, one asyncio run per invocation. Each subcommand is an
``async`` handler taking the connected client, the parsed arguments and the output
stream; ``main`` owns the only ``try`` that turns our exception tree into an exit code
and a single ``aioxend: error: ...`` line on stderr, so a script can tell "no such
domain" from "xend is not running" without parsing text. Output mirrors xm where xm had
a format (``list``, ``info``, ``vcpu-list``, ``sched-credit``) so existing habits and
scripts keep working; ``--json`` gives the same data as JSON instead.

The global options (``--url``, ``--protocol``, ``--timeout``, ``--json``, ``-v``) are
accepted before or after the subcommand.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import enum
import io
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, Literal, TextIO, TypeVar, cast

import aioxend
from aioxend import errors, sxp
from aioxend.client import StateFilter, XendClient, connect
from aioxend.models import DomainInfo, NodeInfo

__all__ = [
    "EXIT_CODES",
    "build_parser",
    "exit_code_for",
    "format_cpumap",
    "format_domain_table",
    "main",
    "parse_cpus",
    "to_jsonable",
    "with_progress",
]

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAULT = 1
EXIT_USAGE = 2
EXIT_NO_DOMAIN = 3
EXIT_TRANSPORT = 4
EXIT_TIMEOUT = 5
EXIT_PROTOCOL = 6
EXIT_UNSUPPORTED = 7
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

#: Exit status -> meaning, as printed by ``--help`` and the README.
EXIT_CODES: Mapping[int, str] = {
    EXIT_OK: "success",
    EXIT_FAULT: "xend answered with a fault (operation failed, internal error, unknown method)",
    EXIT_USAGE: "usage error: bad arguments (nothing was sent) or an unreadable local file",
    EXIT_NO_DOMAIN: "no such domain",
    EXIT_TRANSPORT: "connection or transport failure (xend not running, socket missing, refused)",
    EXIT_TIMEOUT: "timed out",
    EXIT_PROTOCOL: "protocol error: the answer was not valid XML-RPC, SXP or HTTP",
    EXIT_UNSUPPORTED: "the operation is not available over the protocol in use",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
    EXIT_BROKEN_PIPE: "standard output was closed early (e.g. piped into head)",
}

LIST_HEADER_FORMAT = "%-40s %5s %5s %5s %10s %9s"
LIST_ROW_FORMAT = "%-40s %5s %5d %5d %10s %8.1f"
VCPU_HEADER_FORMAT = "%-32s %5s %5s %5s %5s %9s %s"
VCPU_ROW_FORMAT = "%-32s %5s %5s %5s %5s %9.1f %s"
SCHED_CREDIT_FORMAT = "%-33s %4s %6s %4s"
#: Seconds between polls of ``shutdown --wait``.
WAIT_POLL_INTERVAL = 0.5
#: Xen's largest NR_CPUS; bounds what a CPU list may name (and the memory parsing takes).
MAX_CPUS = 4096

Handler = Callable[[XendClient, argparse.Namespace, TextIO], Awaitable[None]]


class UsageError(Exception):
    """A command-line argument the parser accepted but the command cannot use."""


# --------------------------------------------------------------------------- formatting


def format_domain_table(domains: Sequence[DomainInfo]) -> list[str]:
    """The lines ``xm list`` printed: a header and one row per domain.

    ``VCPUs`` is ``online_vcpus`` when xend reported it, else ``vcpus``; a halted
    (managed) domain has a blank ID and ``------`` as its state, as in xm.
    """
    lines = [LIST_HEADER_FORMAT % ("Name", "ID", "Mem", "VCPUs", "State", "Time(s)")]
    for dom in domains:
        vcpus = dom.online_vcpus if dom.online_vcpus is not None else dom.vcpus
        lines.append(
            LIST_ROW_FORMAT
            % (
                dom.name,
                "" if dom.domid is None else dom.domid,
                dom.memory or 0,
                vcpus or 0,
                dom.state_string or "------",
                dom.cpu_time or 0.0,
            )
        )
    return lines


def format_cpumap(cpumap: Sequence[int], nr_cpus: int | None) -> str:
    """xm's affinity column: ``any cpu`` for every CPU, else ranges such as ``0-3,6``."""
    cpus = sorted(set(cpumap))
    if not cpus:
        return "none"
    if nr_cpus is not None and cpus == list(range(nr_cpus)):
        return "any cpu"
    parts: list[str] = []
    start = prev = cpus[0]
    for cpu in [*cpus[1:], None]:
        if cpu is not None and cpu == prev + 1:
            prev = cpu
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if cpu is not None:
            start = prev = cpu
    return ",".join(parts)


def parse_cpus(spec: str, nr_cpus: int | None = None) -> list[int]:
    """Parse xm's CPU list syntax: ``all``, ``3``, ``0-3``, ``0-7,^2`` (``^`` excludes).

    ``all`` needs ``nr_cpus``. CPU numbers must be below ``MAX_CPUS``. Raises
    ``ValueError`` with the offending part.
    """
    spec = spec.strip()
    if spec == "all":
        if nr_cpus is None:
            raise ValueError("'all' needs the host's CPU count")
        return list(range(nr_cpus))
    chosen: set[int] = set()
    excluded: set[int] = set()
    for raw in spec.split(","):
        part = raw.strip()
        target = chosen
        if part.startswith("^"):
            target, part = excluded, part[1:]
        low, sep, high = part.partition("-")
        try:
            first = int(low)
            last = int(high) if sep else first
        except ValueError:
            raise ValueError(f"invalid CPU list part {raw!r} in {spec!r}") from None
        if first < 0 or last < first or last >= MAX_CPUS:
            raise ValueError(f"invalid CPU range {raw!r} in {spec!r}")
        target.update(range(first, last + 1))
    result = sorted(chosen - excluded)
    if not result:
        raise ValueError(f"CPU list {spec!r} selects no CPU")
    return result


def to_jsonable(value: object) -> Any:
    """Turn models (frozen dataclasses), UUIDs, enums and SXP lists into JSON data."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.name if value.name is not None else str(value.value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return str(value)


def _print_json(out: TextIO, value: object) -> None:
    json.dump(to_jsonable(value), out, indent=2)
    out.write("\n")


def _domain_json(dom: DomainInfo, *, with_sxp: bool) -> Any:
    data = to_jsonable(dom)
    if not with_sxp and isinstance(data, dict):
        data.pop("sxp", None)
    return data


# --------------------------------------------------------------------------- progress


async def with_progress(
    label: str,
    operation: Awaitable[T],
    stream: TextIO,
    status: Callable[[], str] | None = None,
) -> T:
    """Await ``operation``; on a terminal, show a spinner with the elapsed time meanwhile.

    Long xend operations (save, restore, migrate, dump) take seconds to minutes, so the
    user sees that something is happening and, at the end, how long it took; ``status``
    adds a word to the spinner's line (a Xen-API task's progress). Off a terminal this
    is a plain ``await`` and writes nothing.
    """
    if not stream.isatty():
        return await operation
    frames = "|/-\\"
    started = time.monotonic()
    task = asyncio.ensure_future(operation)
    tick = 0
    try:
        while not task.done():
            elapsed = time.monotonic() - started
            shown = "" if status is None else f"{status()} "
            stream.write(f"\r{frames[tick % len(frames)]} {label} ... {shown}{elapsed:.1f}s")
            stream.flush()
            tick += 1
            await asyncio.wait({task}, timeout=0.1)
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        stream.write("\r\x1b[K")
        stream.flush()
    result = task.result()
    stream.write(f"{label}: done in {time.monotonic() - started:.1f}s\n")
    stream.flush()
    return result


# --------------------------------------------------------------------------- handlers


async def _selected_domains(
    client: XendClient, names: Sequence[str], *, state: str = "all", full: bool = False
) -> list[DomainInfo]:
    """The named domains (fetched concurrently, in the order given), else all in ``state``."""
    if not names:  # the client checks the name (any case) and says which ones it takes
        return await client.domains(cast("StateFilter", state), full=full)
    return list(await asyncio.gather(*(client.domain(n, full=full) for n in names)))


async def _cmd_list(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    full = args.long or args.json  # JSON lists devices, as show --json does
    doms = await _selected_domains(client, args.domains, state=args.state, full=full)
    if args.json:
        _print_json(out, [_domain_json(d, with_sxp=args.long) for d in doms])
    elif args.long:
        for dom in doms:
            out.write(sxp.dumps(dom.sxp, pretty=True) + "\n")
    else:
        out.write("\n".join(format_domain_table(doms)) + "\n")


async def _cmd_info(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    """``xm info``: ``xend.node.info(0)``, or with the NUMA text under ``-n``."""
    node: NodeInfo = await client.node_info(show_numa=args.numa)
    if args.json:
        _print_json(out, node.raw)
        return
    # xm/main.py xm_info prints info[1:] (never the first item, system) with
    # print "%-23s:" % key, value; so a text value starting with a newline leaves a
    # trailing space.
    for key, value in list(node.raw.items())[1:]:
        out.write(f"{key:<23}: {value}\n")


async def _cmd_show(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    dom = await client.domain(args.dom, full=True)
    if args.json:
        _print_json(out, _domain_json(dom, with_sxp=True))
    else:
        out.write(sxp.dumps(dom.sxp, pretty=True) + "\n")


def _read_config(path: str) -> list[Any]:
    """The S-expression in the local file ``path``, parsed before anything is sent, so
    that a file unreadable or not SXP is a usage error naming it (exit 2)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        expr = sxp.loads(data)
    except errors.ProtocolError as exc:
        raise UsageError(f"{path}: not an S-expression: {exc}") from None
    if not isinstance(expr, list) or not expr or not isinstance(expr[0], str):
        raise UsageError(f"{path}: expected a list with a tag first, such as (vm ...)")
    return expr


def _report_domain(out: TextIO, args: argparse.Namespace, verb: str, dom: DomainInfo) -> None:
    if args.json:
        _print_json(out, _domain_json(dom, with_sxp=False))
    else:
        domid = "" if dom.domid is None else f" (id={dom.domid})"
        out.write(f"{verb} domain {dom.name}{domid}\n")


async def _cmd_create(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    dom = await client.create(args.config, paused=args.paused)
    _report_domain(out, args, "Started", dom)


async def _cmd_new(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    await client.new(args.config)


async def _cmd_start(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    await client.start(args.dom, paused=args.paused)


async def _cmd_shutdown(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    await client.shutdown(args.dom, reason=args.reason)
    if args.wait:
        await with_progress(f"waiting for {args.dom}", _wait_down(client, args.dom), sys.stderr)


async def _wait_down(client: XendClient, dom: str) -> None:
    """Poll until ``dom`` is gone, halted (no domid) or shut down, as ``xm shutdown -w``."""
    while True:
        try:
            info = await client.domain(dom, full=False)
        except errors.InvalidDomain:
            return
        if info.domid is None or "s" in info.state_string or "d" in info.state_string:
            return
        await asyncio.sleep(WAIT_POLL_INTERVAL)


async def _cmd_resume(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    await client.resume(args.dom, paused=args.paused)


async def _cmd_save(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    operation = client.save(args.dom, args.file, checkpoint=args.checkpoint)
    await with_progress(f"save {args.dom}", operation, sys.stderr)


async def _cmd_restore(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    operation = client.restore(args.file, paused=args.paused)
    dom = await with_progress(f"restore {args.file}", operation, sys.stderr)
    _report_domain(out, args, "Restored", dom)


async def _cmd_dump(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    operation = client.dump(args.dom, args.file, live=args.live, crash=args.crash, reset=args.reset)
    await with_progress(f"dump {args.dom}", operation, sys.stderr)


async def _cmd_migrate(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    operation = client.migrate(
        args.dom,
        args.host,
        live=args.live,
        port=args.port,
        node=args.node,
        ssl=args.ssl,
        change_home_server=args.change_home_server,
    )
    await with_progress(f"migrate {args.dom} to {args.host}", operation, sys.stderr)


async def _cmd_rename(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    await client.rename(args.dom, args.new_name)


async def _cmd_vcpu_list(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    doms = [d for d in await _selected_domains(client, args.domains) if d.domid is not None]
    vcpus = await asyncio.gather(*(client.vcpu_info(d.domid) for d in doms if d.domid is not None))
    rows = [(dom, vcpu) for dom, dom_vcpus in zip(doms, vcpus, strict=True) for vcpu in dom_vcpus]
    if args.json:
        _print_json(out, [{"name": d.name, "domid": d.domid, **to_jsonable(v)} for d, v in rows])
        return
    nr_cpus = (await client.node_info()).nr_cpus
    out.write(
        VCPU_HEADER_FORMAT % ("Name", "ID", "VCPU", "CPU", "State", "Time(s)", "CPU Affinity")
        + "\n"
    )
    for dom, vcpu in rows:
        if vcpu.online:
            cpu: object = vcpu.cpu
            state = ("r" if vcpu.running else "-") + ("b" if vcpu.blocked else "-") + "-"
        else:
            cpu, state = "-", "--p"
        affinity = format_cpumap(vcpu.cpumap, nr_cpus)
        row = (dom.name, dom.domid, vcpu.number, cpu, state, vcpu.cpu_time or 0.0, affinity)
        out.write(VCPU_ROW_FORMAT % row + "\n")


async def _cmd_vcpu_pin(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    vcpu: int | Literal["all"] = "all"
    if args.vcpu != "all":
        try:
            vcpu = int(args.vcpu)
        except ValueError:
            raise UsageError(f"VCPU must be a number or 'all', not {args.vcpu!r}") from None
    nr_cpus = (await client.node_info()).nr_cpus if args.cpus.strip() == "all" else None
    try:
        cpus = parse_cpus(args.cpus, nr_cpus)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    await client.pin_vcpu(args.dom, vcpu, cpus)


async def _cmd_mem_set(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    await client.set_memory(args.dom, args.mib)


async def _cmd_mem_max(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    await client.set_maxmem(args.dom, args.mib)


async def _cmd_vcpu_set(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    await client.set_vcpus(args.dom, args.count)


def _write_text(out: TextIO, args: argparse.Namespace, text: str) -> None:
    if args.json:
        _print_json(out, text)
    else:
        out.write(text if text.endswith("\n") or not text else text + "\n")


async def _cmd_dmesg(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    _write_text(out, args, await (client.dmesg_clear() if args.clear else client.dmesg()))


async def _cmd_log(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    _write_text(out, args, await client.node_log())


async def _cmd_block_attach(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    config: list[object] = ["vbd", ["uname", args.uname], ["dev", args.dev], ["mode", args.mode]]
    if args.backend is not None:
        config.append(["backend", args.backend])
    ref = await client.device_create(args.dom, config)
    if args.json:
        _print_json(out, ref)


async def _cmd_block_detach(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    try:
        dev_class = await client.block_device_class(args.dom, args.dev)
    except errors.UnsupportedOperation:
        dev_class = "vbd"  # the legacy protocol predates tap2; xm then assumed vbd too
    await client.device_destroy(args.dom, dev_class or "vbd", args.dev, force=args.force)


def _key_values(pairs: Sequence[str]) -> list[object]:
    items: list[object] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"expected KEY=VALUE, not {pair!r}")
        items.append([key, value])
    return items


async def _cmd_network_attach(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    ref = await client.device_create(args.dom, ["vif", *_key_values(args.settings)])
    if args.json:
        _print_json(out, ref)


async def _cmd_network_detach(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    await client.device_destroy(args.dom, "vif", args.devid, force=args.force)


async def _cmd_sched_credit(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    if args.weight is not None or args.cap is not None:
        await client.sched_credit_set(args.dom, weight=args.weight, cap=args.cap)
        return
    dom = await client.domain(args.dom, full=False)
    params = await client.sched_credit_get(args.dom)
    if args.json:
        _print_json(out, {"name": dom.name, "domid": dom.domid, **to_jsonable(params)})
        return
    out.write(SCHED_CREDIT_FORMAT % ("Name", "ID", "Weight", "Cap") + "\n")
    domid = "" if dom.domid is None else dom.domid
    out.write(SCHED_CREDIT_FORMAT % (dom.name, domid, params.weight, params.cap) + "\n")


async def _cmd_sysrq(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
    await client.send_sysrq(args.dom, args.key)


#: Verbs that take one domain and return nothing: name -> (help, operation).
_DOMAIN_VERBS: dict[str, tuple[str, Callable[[XendClient, str], Awaitable[None]]]] = {
    "pause": ("pause a domain", lambda c, d: c.pause(d)),
    "unpause": ("unpause a paused domain", lambda c, d: c.unpause(d)),
    "reboot": ("reboot a domain", lambda c, d: c.reboot(d)),
    "destroy": ("terminate a domain immediately", lambda c, d: c.destroy(d)),
    "reset": ("reset a domain (hard reboot)", lambda c, d: c.reset(d)),
    "suspend": ("suspend a managed domain", lambda c, d: c.suspend(d)),
    "delete": ("remove a managed domain's configuration", lambda c, d: c.delete(d)),
}


def _domain_verb(operation: Callable[[XendClient, str], Awaitable[None]]) -> Handler:
    async def handler(client: XendClient, args: argparse.Namespace, out: TextIO) -> None:
        await operation(client, args.dom)

    return handler


# --------------------------------------------------------------------------- demo


def _heading(out: TextIO, title: str) -> None:
    out.write(f"\n=== {title} ===\n")
    out.flush()


def _pick_guest(domains: Sequence[DomainInfo], wanted: str | None) -> DomainInfo | None:
    for dom in domains:
        if wanted is not None:
            if dom.name == wanted:
                return dom
        elif dom.domid not in (None, 0) and "p" not in (dom.state_string or "p"):
            return dom
    return None


async def _demo_one(client: XendClient, out: TextIO, guest_name: str | None) -> None:
    """The demo's body for one endpoint: list, pause/unpause one guest, a typed error."""
    out.write(f"connected to {client.url} (protocol: {client.protocol})\n")

    async def table() -> list[DomainInfo]:
        out.write(">>> await client.domains()\n")
        domains = await client.domains()
        out.write("\n".join(format_domain_table(domains)) + "\n")
        return domains

    _heading(out, f"[{client.protocol}] the domains, as xm list showed them")
    guest = _pick_guest(await table(), guest_name)
    if guest is None:
        out.write("no running guest to pause; skipping pause/unpause\n")
    else:
        for verb, operation in (("pause", client.pause), ("unpause", client.unpause)):
            _heading(out, f"[{client.protocol}] {verb} {guest.name!r}, then list again")
            out.write(f">>> await client.{verb}({guest.name!r})\n")
            await operation(guest.name)
            await table()
    _heading(out, f"[{client.protocol}] an unknown domain raises a typed error")
    missing = f"no-such-domain-{uuid.uuid4().hex[:8]}"
    out.write(f">>> await client.pause({missing!r})\n")
    try:
        await client.pause(missing)
    except aioxend.InvalidDomain as exc:
        out.write(f"aioxend.{type(exc).__name__} (code {exc.code}): {exc}\n")
    else:
        out.write("unexpectedly succeeded\n")


async def _run_demo(args: argparse.Namespace, out: TextIO) -> None:
    options = _connect_options(args)
    if args.url is not None:
        _heading(out, f"aioxend demo against {args.url}")
        async with connect(args.url, **options) as client:
            await _demo_one(client, out, args.guest)
        return

    from aioxend.emulator import Emulator

    with tempfile.TemporaryDirectory(prefix="aioxend-demo-") as tmp:
        xmlrpc_path = os.path.join(tmp, "xmlrpc.sock")
        sxp_path = os.path.join(tmp, "xend.sock")
        async with Emulator(domains=3, seed=1, xmlrpc_unix=xmlrpc_path, sxp_unix=sxp_path) as emu:
            _heading(out, "aioxend demo: an in-process xend emulator (no Xen needed)")
            out.write(f"XML-RPC endpoint: {emu.xmlrpc_url}\nSXP/HTTP endpoint: {emu.sxp_url}\n")
            _heading(out, "1. XML-RPC (the protocol xm used)")
            options["protocol"] = "xmlrpc"
            async with connect(emu.xmlrpc_url, **options) as client:
                await _demo_one(client, out, args.guest)
            _heading(out, "2. The legacy S-expression/HTTP protocol")
            options["protocol"] = "sxp"
            async with connect(emu.sxp_url, **options) as client:
                await _demo_one(client, out, args.guest)
            _heading(out, "3. protocol='auto' falls back to SXP when XML-RPC is not spoken")
            options["protocol"] = "auto"
            async with connect(emu.sxp_url, **options) as client:
                names = await client.domain_names()
                out.write(f"{client.url} -> protocol {client.protocol!r}: {', '.join(names)}\n")
    _heading(out, "done")


# --------------------------------------------------------------------------- parser


def _epilog() -> str:
    codes = "\n".join(f"  {code:<3}  {text}" for code, text in EXIT_CODES.items())
    return (
        "URL forms: httpu:///path, unix:///path, http://host:port/, https://host:port/,\n"
        "ssh://[user@]host[/path]; default $XM_SERVER, else httpu:///var/run/xend/xmlrpc.sock.\n"
        "\nexit status:\n" + codes + "\n\nErrors are one line on stderr: 'aioxend: error: ...'."
    )


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The options every command takes; on subcommands they override the top level."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("connection options")
    group.add_argument("--url", default=default(None), help="xend URL (see below)")
    group.add_argument(
        "--protocol",
        choices=["auto", "xmlrpc", "sxp"],
        default=default("auto"),
        help="wire protocol; auto tries XML-RPC and falls back to SXP/HTTP (default: auto)",
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=default(None),
        metavar="SECONDS",
        help="per-call time limit (default: the client's, 60 s)",
    )
    group.add_argument(
        "--json", action="store_true", default=default(False), help="print results as JSON"
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default(0),
        help="log each call on stderr; -vv also the bytes on the wire (AIOXEND_LOG for programs)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole argparse tree; public so tests and docs can inspect it."""
    parser = argparse.ArgumentParser(
        prog="aioxend",
        description="Manage Xen domains through xend (XML-RPC or legacy SXP/HTTP).",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"aioxend {aioxend.__version__}")
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str, handler: Handler) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text[0].upper() + help_text[1:] + ".",
            epilog=_epilog(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _global_options(p, suppress=True)
        p.set_defaults(handler=handler)
        return p

    p = command("list", "list domains as xm list does", _cmd_list)
    p.add_argument("domains", nargs="*", metavar="DOM", help="only these domains")
    p.add_argument("--state", default="all", help="only domains in this state (default: all)")
    p.add_argument("-l", "--long", action="store_true", help="full records as pretty SXP")

    p = command("info", "print host information as xm info does", _cmd_info)
    p.add_argument(
        "-n", "--numa", action="store_true", help="add the CPU topology and NUMA information"
    )

    p = command("show", "print one domain's full record (pretty SXP, or --json)", _cmd_show)
    p.add_argument("dom", metavar="DOM")

    p = command("create", "create and start a domain from an SXP (vm ...) file", _cmd_create)
    p.add_argument("file", metavar="FILE")
    p.set_defaults(file_is_config=True)
    p.add_argument("--paused", action="store_true", help="leave the new domain paused")

    p = command("new", "define a managed domain from an SXP (vm ...) file", _cmd_new)
    p.add_argument("file", metavar="FILE")
    p.set_defaults(file_is_config=True)

    p = command("start", "start a managed domain", _cmd_start)
    p.add_argument("dom", metavar="DOM")
    p.add_argument("--paused", action="store_true", help="leave it paused")

    for name, (help_text, operation) in _DOMAIN_VERBS.items():
        command(name, help_text, _domain_verb(operation)).add_argument("dom", metavar="DOM")

    p = command("shutdown", "ask a domain to shut down", _cmd_shutdown)
    p.add_argument("dom", metavar="DOM")
    p.add_argument(
        "--reason",
        default="poweroff",
        help="poweroff, reboot, suspend, halt or crash (default: poweroff)",
    )
    p.add_argument("-w", "--wait", action="store_true", help="wait until the domain is down")

    p = command("resume", "resume a suspended managed domain", _cmd_resume)
    p.add_argument("dom", metavar="DOM")
    p.add_argument("--paused", action="store_true", help="leave it paused")

    # xm made state and core file names absolute against the caller's directory.
    p = command("save", "save a domain's state to a file (on the xend host)", _cmd_save)
    p.add_argument("dom", metavar="DOM")
    p.add_argument("file", metavar="FILE", type=os.path.abspath)
    p.add_argument("-c", "--checkpoint", action="store_true", help="leave the domain running")

    p = command("restore", "restore a domain from a saved state file", _cmd_restore)
    p.add_argument("file", metavar="FILE", type=os.path.abspath)
    p.add_argument("--paused", action="store_true", help="leave it paused")

    p = command("dump", "dump a domain's core to a file (on the xend host)", _cmd_dump)
    p.add_argument("dom", metavar="DOM")
    p.add_argument("file", metavar="FILE", type=os.path.abspath)
    p.add_argument("-L", "--live", action="store_true", help="dump without pausing")
    p.add_argument("-C", "--crash", action="store_true", help="destroy the domain afterwards")
    p.add_argument("-R", "--reset", action="store_true", help="reset the domain afterwards")

    p = command("migrate", "migrate a domain to another host", _cmd_migrate)
    p.add_argument("dom", metavar="DOM")
    p.add_argument("host", metavar="HOST")
    p.add_argument("-l", "--live", action="store_true", help="live migration")
    p.add_argument("-p", "--port", type=int, default=0, help="relocation port (0: default)")
    p.add_argument("-n", "--node", type=int, default=-1, help="NUMA node on the target")
    p.add_argument("-s", "--ssl", action="store_true", help="migrate over SSL")
    p.add_argument("-c", "--change-home-server", action="store_true")

    p = command("rename", "rename a domain", _cmd_rename)
    p.add_argument("dom", metavar="DOM")
    p.add_argument("new_name", metavar="NEW_NAME")

    p = command("vcpu-list", "list VCPUs as xm vcpu-list does", _cmd_vcpu_list)
    p.add_argument("domains", nargs="*", metavar="DOM", help="only these domains")

    p = command("vcpu-pin", "pin a VCPU to CPUs (e.g. 0-3,^2 or all)", _cmd_vcpu_pin)
    p.add_argument("dom", metavar="DOM")
    p.add_argument("vcpu", metavar="VCPU", help="VCPU number or 'all'")
    p.add_argument("cpus", metavar="CPUS", help="CPU list: all, 3, 0-3, 0-7,^2")

    p = command("mem-set", "set a domain's current memory (MiB)", _cmd_mem_set)
    p.add_argument("dom", metavar="DOM")
    p.add_argument("mib", metavar="MIB", type=int)

    p = command("mem-max", "set a domain's maximum memory (MiB)", _cmd_mem_max)
    p.add_argument("dom", metavar="DOM")
    p.add_argument("mib", metavar="MIB", type=int)

    p = command("vcpu-set", "set a domain's number of online VCPUs", _cmd_vcpu_set)
    p.add_argument("dom", metavar="DOM")
    p.add_argument("count", metavar="COUNT", type=int)

    p = command("dmesg", "print the hypervisor's message buffer", _cmd_dmesg)
    p.add_argument("-c", "--clear", action="store_true", help="clear it after reading")

    command("log", "print xend's log", _cmd_log)

    p = command("block-attach", "attach a block device", _cmd_block_attach)
    p.add_argument("dom", metavar="DOM")
    p.add_argument("uname", metavar="UNAME", help="backend, e.g. phy:/dev/vg/disk or file:/img")
    p.add_argument("dev", metavar="DEV", help="device in the guest, e.g. xvdb")
    p.add_argument("mode", metavar="MODE", help="r or w")
    p.add_argument("--backend", metavar="DOM", help="backend domain")

    p = command("block-detach", "detach a block device", _cmd_block_detach)
    p.add_argument("dom", metavar="DOM")
    p.add_argument("dev", metavar="DEV", help="device id or name, e.g. 51728 or xvdb")
    p.add_argument("-f", "--force", action="store_true")

    p = command("network-attach", "attach a network interface", _cmd_network_attach)
    p.add_argument("dom", metavar="DOM")
    p.add_argument(
        "settings", nargs="*", metavar="KEY=VALUE", help="e.g. mac=00:16:3e:00:00:01 bridge=br0"
    )

    p = command("network-detach", "detach a network interface", _cmd_network_detach)
    p.add_argument("dom", metavar="DOM")
    p.add_argument("devid", metavar="DEVID")
    p.add_argument("-f", "--force", action="store_true")

    p = command("sched-credit", "get or set credit scheduler parameters", _cmd_sched_credit)
    p.add_argument("dom", metavar="DOM")
    p.add_argument("-w", "--weight", type=int)
    p.add_argument("-c", "--cap", type=int)

    p = command("sysrq", "send a magic SysRq key to a domain", _cmd_sysrq)
    p.add_argument("dom", metavar="DOM")
    p.add_argument("key", metavar="KEY")

    # Listed for --help only: main() hands "emulator ..." to aioxend.emulator.main.
    sub.add_parser(
        "emulator",
        help="serve the xend emulator (arguments as for python -m aioxend.emulator)",
    )

    sub.add_parser("xe", help="Xen-API commands in the manner of xapi's xe (aioxend xe --help)")

    p = sub.add_parser(
        "demo",
        help="a tour against an in-process emulator (or a real xend with --url)",
        description="Start the emulator on temporary UNIX sockets and show the SDK at work: "
        "the xm table, pause/unpause, a typed error, over XML-RPC and legacy SXP. "
        "With --url, run the tour against that xend instead (it pauses a guest briefly).",
    )
    _global_options(p, suppress=True)
    p.add_argument("--guest", metavar="NAME", help="the guest to pause (default: first running)")
    p.set_defaults(handler=None)
    return parser


# --------------------------------------------------------------------------- main


def _connect_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"protocol": args.protocol}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    return options


def exit_code_for(exc: BaseException) -> int:
    """The exit status a script sees for an exception (see ``EXIT_CODES``)."""
    if isinstance(exc, errors.InvalidDomain):
        return EXIT_NO_DOMAIN
    if isinstance(exc, errors.Fault):
        return EXIT_FAULT
    if isinstance(exc, TimeoutError):
        return EXIT_TIMEOUT
    if isinstance(exc, errors.TransportError | ConnectionError):
        return EXIT_TRANSPORT
    if isinstance(exc, UsageError | errors.LocalProtocolError):
        return EXIT_USAGE
    if isinstance(exc, errors.ProtocolError | errors.HTTPStatusError):
        return EXIT_PROTOCOL
    if isinstance(exc, errors.UnsupportedOperation):
        return EXIT_UNSUPPORTED
    if isinstance(exc, ValueError | TypeError):
        return EXIT_USAGE  # the client refused an argument before sending anything
    return EXIT_FAULT


def _error_message(exc: BaseException) -> str:
    if isinstance(exc, errors.XendError | UsageError | ValueError):
        text = str(exc)
    elif isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}" + (f": {exc.filename}" if exc.filename else "")
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return " ".join(text.split()) or type(exc).__name__


async def _run(args: argparse.Namespace, out: TextIO) -> None:
    if args.command == "demo":
        await _run_demo(args, out)
        return
    if getattr(args, "file_is_config", False):
        args.config = _read_config(args.file)  # a local file: checked before connecting
    async with connect(args.url, **_connect_options(args)) as client:
        await args.handler(client, args, out)


def _forwarded_argv(argv: Sequence[str], command: str) -> tuple[list[str], list[str]] | None:
    """The arguments before and after ``command`` (``emulator``, ``xe``) when that is the
    command, passed on untouched.

    argparse cannot forward options it does not know (``--xmlrpc-unix ...``) through a
    subcommand, so the split happens here, before parsing.
    """
    takes_value = {"--url", "--protocol", "--timeout"}
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == command:
            return list(argv[:i]), list(argv[i + 1 :])
        if not token.startswith("-"):
            return None
        i += 2 if token in takes_value else 1
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (see ``EXIT_CODES``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    emulator_argv = _forwarded_argv(argv, "emulator")
    if emulator_argv is not None:
        from aioxend.emulator import main as emulator_main

        return emulator_main(emulator_argv[1])
    xe_argv = _forwarded_argv(argv, "xe")
    if xe_argv is not None:  # aioxend/_xe: the global options may come before "xe"
        from aioxend._xe import main as xe_main

        return xe_main(xe_argv[0] + xe_argv[1])
    as_json = "--json" in argv
    try:
        with contextlib.redirect_stderr(io.StringIO()) if as_json else _no_redirect() as said:
            args = build_parser().parse_args(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else EXIT_USAGE
        if as_json and code != EXIT_OK and said is not None:
            # argparse's last line is "<prog>: error: <message>"
            message = said.getvalue().strip().splitlines()[-1].partition(": error: ")[2]
            _report_error(UsageError(message), code, as_json=True)
        return code
    out = sys.stdout
    if args.verbose:
        from aioxend._log import configure_logging

        configure_logging("trace" if args.verbose > 1 else "debug")
    try:
        asyncio.run(_run(args, out))
        out.flush()
    except KeyboardInterrupt:
        sys.stderr.write("aioxend: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``aioxend list | head -1``): stop quietly, as a shell
        # tool killed by SIGPIPE would, and keep Python from complaining at exit.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as exc:
        with contextlib.suppress(OSError):
            out.flush()
        code = exit_code_for(exc)
        _report_error(exc, code, as_json=args.json)
        return code
    return EXIT_OK


@contextlib.contextmanager
def _no_redirect() -> Iterator[None]:
    yield None


def _report_error(exc: BaseException, code: int, *, as_json: bool) -> None:
    """One line on stderr: ``aioxend: error: ...``, or under ``--json`` a JSON object
    with the exit status (``code``), the exception's class and the message."""
    message = _error_message(exc)
    if not as_json:
        sys.stderr.write(f"aioxend: error: {message}\n")
        return
    report: dict[str, object] = {"code": code, "class": type(exc).__name__, "message": message}
    if isinstance(exc, errors.Fault):
        report["fault"] = exc.code
    sys.stderr.write(json.dumps(report) + "\n")
