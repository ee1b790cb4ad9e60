"""Where xend listens, as a URL: parsed once, checked at construction.

The schemes are xm's (Xen 4.4 ``tools/python/xen/util/xmlrpcclient.py`` ``ServerProxy``,
``tools/python/xen/xend/XendClient.py``): ``httpu:///socket/path``
is HTTP on a UNIX socket with the request path ``/RPC2``; ``unix:///path`` the same with
``/`` (the legacy SXP socket); ``http://`` and ``https://`` TCP, optionally TLS;
``ssh://[user@]host[:port][/path]`` HTTP over the pipes of ``ssh host xm serve``. A URL
that cannot work raises ``ValueError`` here, so a typo is reported where it was made and
not as a connection failure later.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aioxend._log import redact

if TYPE_CHECKING:
    import ssl

__all__ = ["DEFAULT_URL", "Endpoint", "check_options", "default_url", "parse_url"]

DEFAULT_URL = "httpu:///var/run/xend/xmlrpc.sock"
"""xm's default server when ``$XM_SERVER`` is unset."""

SCHEMES = ("httpu", "unix", "http", "https", "ssh")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ssh": 22}


@dataclass(frozen=True)
class Endpoint:
    """A parsed server URL.

    ``socket_path`` is set for ``httpu`` and ``unix``; ``host`` and ``port`` for
    ``http``, ``https`` and ``ssh`` (``port`` is ``None`` for ssh without an explicit
    port, so ssh's own configuration decides); ``user`` only for ssh. ``path`` is the
    HTTP request path the URL names.
    """

    url: str
    scheme: str
    host: str | None = None
    port: int | None = None
    socket_path: str | None = None
    user: str | None = None
    path: str = "/"

    @property
    def host_header(self) -> str:
        """The ``Host`` header value: ``localhost`` over sockets and pipes, else host[:port]."""
        if self.scheme not in ("http", "https") or self.host is None:
            return "localhost"
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port is None or self.port == _DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"

    @property
    def display(self) -> str:
        """A short description of where this endpoint points, for error messages."""
        if self.socket_path is not None:
            return f"UNIX socket {self.socket_path}"
        if self.scheme == "ssh":
            who = f"{self.user}@{self.host}" if self.user else f"{self.host}"
            return f"ssh {who}" + (f" port {self.port}" if self.port is not None else "")
        host = f"[{self.host}]" if ":" in (self.host or "") else self.host
        return f"{host}:{self.port}"


def default_url() -> str:
    """``$XM_SERVER`` when set and not empty, else xm's UNIX socket."""
    return os.environ.get("XM_SERVER") or DEFAULT_URL


def _fail(url: str, why: str) -> ValueError:
    return ValueError(f"bad xend URL {redact(url)!r}: {why}")  # a password stays out


def parse_url(url: str | None = None) -> Endpoint:
    """Parse and check a server URL; ``None`` means ``default_url()``."""
    if url is None:
        url = default_url()
    if not isinstance(url, str):
        raise TypeError(f"xend URL must be a str, not {type(url).__name__}")
    if not url:
        raise _fail(url, "empty")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise _fail(url, "contains whitespace or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:
        raise _fail(url, str(exc)) from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        got = f"scheme {parts.scheme!r}" if parts.scheme else "no scheme"
        raise _fail(url, f"{got}; use one of {', '.join(s + '://' for s in SCHEMES)}")
    if "?" in url:
        raise _fail(url, "a query string has no meaning here")
    if "#" in url:
        raise _fail(url, "a fragment has no meaning here")
    path = urllib.parse.unquote(parts.path)

    if scheme in ("httpu", "unix"):
        if parts.netloc:
            raise _fail(
                url,
                f"{scheme}:// takes no host (got {parts.netloc!r}); write {scheme}:///abs/path",
            )
        if not path or path == "/":
            raise _fail(url, "no socket path")
        if not path.startswith("/"):
            raise _fail(url, "the socket path must be absolute")
        if "\0" in path:
            raise _fail(url, "the socket path contains a NUL byte")
        request_path = "/RPC2" if scheme == "httpu" else "/"
        return Endpoint(url=url, scheme=scheme, socket_path=path, path=request_path)

    try:
        port = parts.port
    except ValueError:
        raise _fail(url, "the port is not a number from 0 to 65535") from None
    if port == 0:
        raise _fail(url, "port 0 cannot be connected to")
    host = parts.hostname
    if not host:
        raise _fail(url, "no host")
    if parts.password is not None:
        raise _fail(url, "passwords do not belong in the URL")

    if scheme == "ssh":
        user = parts.username
        if user is not None and not user:
            raise _fail(url, "empty user name")
        if host.startswith("-") or (user or "").startswith("-"):
            raise _fail(url, "host and user may not start with '-'")
        request_path = parts.path if parts.path not in ("", "/") else "/RPC2"
        return Endpoint(url=url, scheme=scheme, host=host, port=port, user=user, path=request_path)

    if parts.username is not None:
        raise _fail(url, "xend has no HTTP authentication; remove the user name")
    request_path = parts.path or "/"
    if not request_path.startswith("/"):
        request_path = "/" + request_path
    return Endpoint(
        url=url,
        scheme=scheme,
        host=host,
        port=port if port is not None else _DEFAULT_PORTS[scheme],
        path=request_path,
    )


def check_options(
    endpoint: Endpoint,
    ssl_context: ssl.SSLContext | None,
    verify: bool,
    ssh_command: Sequence[str] | None,
) -> None:
    """Refuse options that cannot apply to ``endpoint`` (a usage error, said at once)."""
    if not verify:
        if ssl_context is not None:
            raise ValueError(
                "verify=False and ssl_context= conflict: the context decides verification; "
                "give one or the other"
            )
        if endpoint.scheme != "https":
            raise ValueError(f"verify=False applies only to https:// URLs, not {endpoint.url!r}")
    if ssh_command is not None:
        if endpoint.scheme != "ssh":
            raise ValueError(f"ssh_command applies only to ssh:// URLs, not {endpoint.url!r}")
        if not ssh_command:
            raise ValueError("ssh_command is empty")
