"""``aioxend xe``: xapi's ``xe`` command line, for its common verbs, over ``aioxend.xenapi``.

::

    aioxend xe vm-list power-state=running params=uuid,name-label
    aioxend xe vm-shutdown uuid=... --force
    aioxend xe --url https://pool-master/ --password-file ~/.xe-pw host-list --minimal

The verbs, their ``key=value`` parameters and the output (xe's ``name ( RO): value``
blocks, ``params=``, ``--minimal``) follow xapi's ``ocaml/xapi-cli-server``
(``cli_frontend.ml``, ``cli_operations.ml``, ``records.ml``, ``cli_printer.ml``); the
connection options are aioxend's, and so are the exit status (``aioxend.cli.EXIT_CODES``,
a Xen-API error being a fault, status 1; ``No matching VMs found`` status 3) and the
single error line on stderr (``aioxend: error: ...``, or a JSON object with ``--json``).

With no ``--url`` the client takes ``aioxend.xenapi.default_url()``, the local xapi (or
xend) socket, as every other ``aioxend`` command takes the local daemon's; only ``aioxend
demo`` starts an emulator by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from aioxend import cli, errors

__all__ = ["main"]

_USAGE = """\
usage: aioxend xe [--url URL] [--username USER] [--password-file FILE]
                  [--protocol {auto,jsonrpc,xmlrpc}] [--timeout SECONDS] [--json] [-v]
                  COMMAND [key=value ...] [--minimal] [--multiple] [--force]

Xen-API commands in the manner of xapi's xe. With no --url: xapi's local socket
(unix:///var/lib/xcp/xapi) if there is one, else xend's; user root. --password-file
holds the password, or xe's -pwf pair (the user on the first line, the password on the
second). help COMMAND (or COMMAND --help) describes one command.
"""


def _help() -> str:
    from aioxend._xe._verbs import VERBS

    lines = [_USAGE, "commands:"]
    lines += [f"  {verb.name:<12} {verb.help}" for verb in VERBS.values()]
    codes = "\n".join(f"  {code:<3}  {text}" for code, text in cli.EXIT_CODES.items())
    lines += ["", "exit status:", codes]
    lines += ["Here a Xen-API error is a fault (1), a selection that matches no VM is 3.", ""]
    return "\n".join(lines)


def _verb_help(name: str) -> str:
    """``help VERB``: the record xe prints for a command (cli_frontend.ml ``rio_help``)."""
    from aioxend._xe._fields import layout
    from aioxend._xe._verbs import VERBS

    verb = VERBS.get(name)
    if verb is None:
        raise cli.UsageError(f"unknown command '{name}' (aioxend xe --help lists them)")
    optional = list(verb.optn)
    if verb.filters is not None:
        optional.append(f"<{verb.filters} fields: {verb.filters}-list params=all>")
    return layout(
        [
            ("command name        ", verb.name),
            ("reqd params     ", ", ".join(verb.reqd)),
            ("optional params ", ", ".join(optional)),
            ("description     ", verb.help[0].upper() + verb.help[1:] + "."),
        ]
    )


async def _run(argv: Sequence[str], out: TextIO, err: TextIO) -> None:
    from aioxend import xenapi
    from aioxend._xe._args import parse_argv, read_password_file
    from aioxend._xe._verbs import VERBS

    inv = parse_argv(argv)
    if inv.verb == "help" and inv.params:
        out.write("".join(_verb_help(name) for name in inv.params))
        return
    if inv.options.help and inv.verb not in (None, "help"):
        out.write(_verb_help(inv.verb))
        return
    if inv.options.help or inv.verb in (None, "help"):
        if inv.verb is None and not inv.options.help:
            raise cli.UsageError("a command is needed (aioxend xe --help lists them)")
        out.write(_help())
        return
    verb = VERBS.get(inv.verb)
    if verb is None:
        raise cli.UsageError(f"unknown command '{inv.verb}' (aioxend xe --help lists them)")
    verb.check(inv.params)
    if inv.options.verbose:
        from aioxend._log import configure_logging

        configure_logging("trace" if inv.options.verbose > 1 else "debug")
    username, password = inv.options.username, ""
    if inv.options.password_file is not None:
        file_user, password = read_password_file(inv.options.password_file)
        username = username or file_user
    options = inv.options
    async with xenapi.connect(
        options.url,
        username=username or "root",  # xe's default user (ocaml/xe-cli/newcli.ml)
        password=password,
        protocol=options.protocol,  # type: ignore[arg-type]  # checked by parse_argv
        timeout=60.0 if options.timeout is None else options.timeout,
    ) as xapi:
        await verb.handler(xapi, inv, out, err)


def exit_code_for(exc: BaseException) -> int:
    """The exit status for an exception: ``aioxend.cli``'s table, with ``NoMatch`` as
    "no such domain" (3) and every Xen-API error a fault (1)."""
    from aioxend._xe._verbs import NoMatch

    if isinstance(exc, NoMatch):
        return cli.EXIT_NO_DOMAIN
    if isinstance(exc, errors.XenAPIError):
        return cli.EXIT_FAULT
    return cli.exit_code_for(exc)


def _report(exc: BaseException, code: int, *, as_json: bool, err: TextIO) -> None:
    message = " ".join(str(exc).split()) or type(exc).__name__
    if not as_json:
        err.write(f"aioxend: error: {message}\n")
        return
    report: dict[str, object] = {"code": code, "class": type(exc).__name__, "message": message}
    if isinstance(exc, errors.XenAPIError):
        report["error"] = [exc.code, *exc.params]
    err.write(json.dumps(report) + "\n")


def main(argv: Sequence[str], *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``aioxend xe ARGV...``; returns the exit status. ``out`` and ``err`` are
    ``sys.stdout`` and ``sys.stderr`` unless given."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    as_json = "--json" in argv
    try:
        asyncio.run(_run(argv, out, err))
        out.flush()
    except KeyboardInterrupt:
        err.write("aioxend: interrupted\n")
        return cli.EXIT_INTERRUPTED
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return cli.EXIT_BROKEN_PIPE
    except Exception as exc:
        with contextlib.suppress(OSError):
            out.flush()
        code = exit_code_for(exc)
        _report(exc, code, as_json=as_json, err=err)
        return code
    return cli.EXIT_OK
