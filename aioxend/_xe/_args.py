"""The xe command line: ``VERB key=value ... --flag ...`` read into an ``Invocation``.

xe's grammar (``ocaml/xapi-cli-server/cli_frontend.ml`` ``parse_params_2``): the first word
is the command, every later word is ``key=value`` (the value is everything after the
first ``=``), and ``--name`` is ``name=true`` (``--force``, ``--multiple``,
``--minimal``). The connection options are aioxend's own (``--url``, ``--username``,
``--password-file``, ``--protocol``, ``--timeout``, ``--json``, ``-v``/``-vv``) and may
come anywhere, as ``--opt VALUE`` or ``--opt=VALUE``. Nothing here touches the network;
the verb checks its own parameters (``_verbs.Verb.check``) before anything is sent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from aioxend.cli import UsageError

__all__ = ["Invocation", "Options", "parse_argv", "read_password_file"]

_VALUE_OPTIONS: Final = ("url", "username", "password-file", "protocol", "timeout")
_PROTOCOLS: Final = ("auto", "jsonrpc", "xmlrpc")
#: The largest password file read (a password file is a line or two).
_PASSWORD_FILE_LIMIT: Final = 64 * 1024


@dataclass
class Options:
    """The connection and output options of one run."""

    url: str | None = None
    username: str | None = None
    password_file: str | None = None
    protocol: str = "auto"
    timeout: float | None = None
    json: bool = False
    help: bool = False
    verbose: int = 0


@dataclass
class Invocation:
    """One xe command: its verb, its ``key=value`` parameters (flags as ``"true"``)."""

    verb: str | None
    params: dict[str, str] = field(default_factory=dict)
    options: Options = field(default_factory=Options)

    def flag(self, name: str) -> bool:
        """A boolean parameter as xe reads it (``get_bool_param``): ``true``/``false``,
        else a usage error."""
        value = self.params.get(name, "false").lower()
        if value in ("true", "yes", "on", "1"):
            return True
        if value in ("false", "no", "off", "0"):
            return False
        raise UsageError(f"parameter '{name}' must be true or false, not {value!r}")


def parse_argv(argv: Sequence[str]) -> Invocation:
    """Read the words after ``aioxend xe``; a ``UsageError`` says what is wrong."""
    inv = Invocation(verb=None)
    words = list(argv)
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word in ("-h", "--help"):
            inv.options.help = True
        elif word in ("-v", "-vv", "--verbose"):  # as aioxend's own -v: calls, -vv wire bytes
            inv.options.verbose += 2 if word == "-vv" else 1
        elif word.startswith("--"):
            name, eq, value = word[2:].partition("=")
            if name in _VALUE_OPTIONS:
                if not eq:
                    if i >= len(words):
                        raise UsageError(f"option --{name} needs a value")
                    value = words[i]
                    i += 1
                _set_option(inv.options, name, value)
            elif name == "json" and not eq:
                inv.options.json = True
            elif not name or eq:
                raise UsageError(f"unknown option {word!r}")
            else:
                _add_param(inv, name, "true")
        elif inv.verb is None and "=" not in word:
            inv.verb = word
        elif inv.verb is None:
            raise UsageError(f"the command name is missing (before {word!r})")
        else:
            key, eq, value = word.partition("=")
            if inv.verb == "help" and key and not eq:
                _add_param(inv, key, "")  # help VERB..., as xe reads a bare word
                continue
            if not eq or not key:
                raise UsageError(f"expected key=value, not {word!r}")
            _add_param(inv, key, value)
    return inv


def _add_param(inv: Invocation, key: str, value: str) -> None:
    if key in inv.params:
        raise UsageError(f"parameter '{key}' given twice")
    inv.params[key] = value


def _set_option(options: Options, name: str, value: str) -> None:
    if name == "protocol":
        if value not in _PROTOCOLS:
            raise UsageError(f"--protocol must be one of {', '.join(_PROTOCOLS)}, not {value!r}")
        options.protocol = value
    elif name == "timeout":
        try:
            seconds = float(value)
        except ValueError:
            raise UsageError(f"--timeout takes seconds, not {value!r}") from None
        if not (seconds > 0 and math.isfinite(seconds)):
            raise UsageError(f"--timeout must be a positive number of seconds, not {value!r}")
        options.timeout = seconds
    elif name == "url":
        options.url = value
    elif name == "username":
        options.username = value
    else:
        options.password_file = value


def read_password_file(path: str) -> tuple[str | None, str]:
    """``(username, password)`` from a password file.

    One line is the password. Two lines are xe's ``-pwf`` file (``ocaml/xe-cli/
    newcli.ml`` ``read_pwf``): the user name on the first, the password on the second.
    The line ends are not part of either. An unreadable, empty or oversized file is a
    usage error naming it.
    """
    try:
        with open(path, "rb") as f:
            data = f.read(_PASSWORD_FILE_LIMIT + 1)
    except OSError as exc:
        raise UsageError(f"cannot read password file {path}: {exc.strerror or exc}") from None
    if len(data) > _PASSWORD_FILE_LIMIT:
        raise UsageError(f"password file {path} is larger than {_PASSWORD_FILE_LIMIT} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"password file {path} is not UTF-8 text") from None
    lines = text.splitlines()
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise UsageError(f"password file {path} is empty")
    if len(lines) == 1:
        return None, lines[0]
    if len(lines) == 2:
        return lines[0], lines[1]
    raise UsageError(
        f"password file {path}: expected the password, or the user name and the password"
        " on two lines"
    )
