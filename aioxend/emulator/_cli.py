"""``python -m aioxend.emulator``: serve an emulated xend until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from aioxend.emulator._faults import FAULT_KINDS, parse_fault_spec
from aioxend.emulator._limits import ServerLimits
from aioxend.emulator._server import Emulator, parse_hostport

__all__ = ["build_parser", "main"]


# what each listener kind serves, for the legend on stderr (stdout: one URL a line)
_SERVES = {
    "xmlrpc": "XML-RPC (xend.* methods, what xm speaks)",
    "sxp": "the legacy SXP/HTTP protocol (/xend/...)",
    "xenapi": "Xen-API (XML-RPC and JSON-RPC, session.login_with_password)",
    "xenapi-xend": "Xen-API in xend's dialect (XML-RPC only, two-argument login)",
}


def _hostport(text: str) -> str:
    try:
        parse_hostport(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _mode(text: str) -> int:
    try:
        mode = int(text, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o777:
        raise argparse.ArgumentTypeError(
            f"expected octal permission bits such as 660, not {text!r}"
        )
    return mode


def _fault(text: str) -> tuple[str, str | None, float]:
    try:
        return parse_fault_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _xenapi_error(text: str) -> tuple[int, str, list[str], str | None]:
    from aioxend.emulator.xenapi._inject import parse_error_spec

    try:
        return parse_error_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The emulator's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m aioxend.emulator",
        description=(
            "Serve an emulated xend (Xen 4.4) speaking XML-RPC and the legacy SXP/HTTP "
            "protocol, and an emulated Xen-API pool (xapi's or xend's dialect). Prints one "
            "URL per listener on stdout once listening, and on stderr "
            "which protocol each serves; runs until SIGINT or "
            "SIGTERM and removes its socket files. With no listener flag, XML-RPC and SXP "
            "are both served on TCP 127.0.0.1 with free ports."
        ),
    )
    parser.add_argument("--xmlrpc-unix", metavar="PATH", help="XML-RPC on a UNIX socket")
    parser.add_argument(
        "--xmlrpc-tcp",
        metavar="HOST:PORT",
        type=_hostport,
        help="XML-RPC on TCP (port 0: a free port)",
    )
    parser.add_argument("--sxp-unix", metavar="PATH", help="legacy SXP/HTTP on a UNIX socket")
    parser.add_argument(
        "--sxp-tcp",
        metavar="HOST:PORT",
        type=_hostport,
        help="legacy SXP/HTTP on TCP (port 0: a free port)",
    )
    parser.add_argument("--xenapi-unix", metavar="PATH", help="Xen-API on a UNIX socket")
    parser.add_argument(
        "--xenapi-tcp",
        metavar="HOST:PORT",
        type=_hostport,
        help="Xen-API (XML-RPC and JSON-RPC) on TCP (port 0: a free port)",
    )
    parser.add_argument(
        "--xenapi-error",
        action="append",
        default=[],
        type=_xenapi_error,
        metavar="CODE[,PARAM...][:METHOD][@COUNT]",
        help="answer the next COUNT (1) Xen-API calls (of METHOD) with this error",
    )
    parser.add_argument(
        "--xenapi-dialect",
        choices=("xapi", "xend"),
        default="xapi",
        help="serve Xen-API as xapi does (default) or as xend did",
    )
    parser.add_argument(
        "--socket-mode",
        type=_mode,
        default=0o600,
        metavar="OCTAL",
        help="permissions of the UNIX socket files (default 600: the owner only)",
    )
    bounds = (
        ("--max-connections", int, "N", "open connections served at once; 503 beyond"),
        ("--idle-timeout", float, "SECONDS", "close a connection silent this long between answers"),
        (
            "--max-body-bytes",
            int,
            "N",
            "request body bytes read at once, all connections; 503 beyond",
        ),
    )
    for flag, kind, metavar, text in bounds:
        default = getattr(ServerLimits, flag[2:].replace("-", "_"))
        parser.add_argument(
            flag, type=kind, default=default, metavar=metavar, help=f"{text} (default {default})"
        )
    parser.add_argument("--tls-cert", metavar="FILE", help="serve TCP listeners over TLS")
    parser.add_argument("--tls-key", metavar="FILE", help="the private key for --tls-cert")
    parser.add_argument(
        "--domains", type=int, default=3, metavar="N", help="seeded guests vm1..vmN (default 3)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for guests and faults")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        type=_fault,
        metavar="KIND[:METHOD][@RATE]",
        help=f"inject a fault (repeatable); KIND is one of {', '.join(FAULT_KINDS)}",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="add this latency to every answer",
    )
    parser.add_argument(
        "--fault-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="latency of --fault latency rules, or trickle interval",
    )
    return parser


async def _serve(args: argparse.Namespace) -> int:
    emu = Emulator(
        domains=args.domains,
        seed=args.seed,
        xmlrpc_unix=args.xmlrpc_unix,
        xmlrpc_tcp=args.xmlrpc_tcp,
        sxp_unix=args.sxp_unix,
        sxp_tcp=args.sxp_tcp,
        xenapi_unix=args.xenapi_unix,
        xenapi_tcp=args.xenapi_tcp,
        xenapi_dialect=args.xenapi_dialect,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        socket_mode=args.socket_mode,
        limits=args.limits,
    )
    for kind, method, rate in args.fault:
        emu.faults.add(kind, method, rate=rate, delay=args.fault_delay)
    if args.latency:
        emu.faults.add("latency", delay=args.latency)
    for count, code, params, method in args.xenapi_error:
        assert emu.xenapi is not None  # main() checked
        emu.xenapi.fail_next(count, code, *params, method=method)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, done.set)
    async with emu:
        for url in emu.urls:
            print(url, flush=True)
        for url in emu.urls:
            kind = emu.protocols[url]
            if kind == "xenapi" and args.xenapi_dialect == "xend":
                kind = "xenapi-xend"
            print(f"{url} serves {_SERVES.get(kind, kind)}", file=sys.stderr, flush=True)
        await done.wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the emulator from the command line; returns the exit status."""
    from aioxend._log import from_environment

    from_environment()  # AIOXEND_LOG=debug: a line per call served, on stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    if args.domains < 0:
        parser.error("--domains must not be negative")
    if args.xenapi_error and not (args.xenapi_tcp or args.xenapi_unix):
        parser.error("--xenapi-error needs --xenapi-tcp or --xenapi-unix")
    try:
        args.limits = ServerLimits(args.max_connections, args.idle_timeout, args.max_body_bytes)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        return asyncio.run(_serve(args))
    except OSError as exc:
        print(f"aioxend emulator: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
