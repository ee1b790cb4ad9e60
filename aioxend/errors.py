"""Every exception aioxend raises, in one tree.

::

    XendError
    ├── ProtocolError                  bytes that are not valid XML-RPC, SXP or HTTP
    │   ├── LimitExceeded              a size/depth/count limit was crossed (.limit)
    │   ├── LocalProtocolError         we were asked to send what cannot be sent (ValueError)
    │   └── RemoteProtocolError        the peer sent garbage HTTP
    ├── TransportError                 moving bytes failed
    │   ├── ConnectError               socket missing, refused, permission denied (ConnectionError)
    │   ├── ReadError                  the peer closed or failed while we read
    │   ├── WriteError                 the peer closed or failed while we wrote
    │   └── Timeout                    also the builtin TimeoutError
    │       ├── ConnectTimeout
    │       ├── ReadTimeout
    │       ├── WriteTimeout
    │       └── PoolTimeout
    ├── Fault                          xend answered with an error (.code, .string)
    │   ├── InternalError              code 1: a Python error inside xend
    │   ├── OperationFailed            code 2: XendError and its subclasses
    │   ├── InvalidDomain              code 3: no such domain (also LookupError)
    │   └── MethodNotSupported         the server does not know the method
    ├── XenAPIError                    Xen-API answered with an error (.code, .params, .method);
    │                                  its subclasses per code are in aioxend.xenapi.errors
    ├── HTTPStatusError                an HTTP status the protocol gives no meaning to (.status)
    └── UnsupportedOperation           the operation does not exist on this protocol

Every exception a client call raises carries its context as attributes: ``operation``
(the client method or XML-RPC method), ``dom`` (the domain, where there is one) and
``url`` (the server), and its message leads with the operation, the domain and the host
(``pause('vm1') on UNIX socket /var/run/xend/xmlrpc.sock: ...``); the exception that
caused it stays chained (``__cause__``). Misuse of the API, such as a call on a closed
client, is a plain ``RuntimeError``.
The codecs raise only ``ProtocolError`` and its subclasses (and ``Fault`` for a
well-formed fault response); the transports only ``TransportError``,
``RemoteProtocolError`` and ``LimitExceeded``.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import ClassVar, Self

__all__ = [
    "ConnectError",
    "ConnectTimeout",
    "Fault",
    "HTTPStatusError",
    "InternalError",
    "InvalidDomain",
    "LimitExceeded",
    "LocalProtocolError",
    "MethodNotSupported",
    "OperationFailed",
    "PoolTimeout",
    "ProtocolError",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "Timeout",
    "TransportError",
    "UnsupportedOperation",
    "WriteError",
    "WriteTimeout",
    "XenAPIError",
    "XendError",
]


class XendError(Exception):
    """The root of every exception aioxend raises on purpose.

    ``operation``, ``dom`` and ``url`` say which call failed, on which domain and
    server, once the client knows them (``None`` before, e.g. in a codec used alone).
    """

    operation: str | None = None
    dom: str | None = None
    url: str | None = None

    def locate(self, operation: str, dom: str | None, url: str, where: str) -> Self:
        """Give this exception its call's context: the attributes, and a message led by
        the operation, the domain and ``where`` (the host) unless it already says them.

        Done in place, so the class, the traceback and the chained cause stay as they
        were; a class with a message of its own making (``Fault``) keeps it.
        """
        if self.operation is None:
            self.operation = operation
        if self.dom is None:
            self.dom = dom
        self.url = url
        message = self.args[0] if len(self.args) == 1 else None
        if not isinstance(message, str) or str(self) != message:
            return self
        label = operation if dom is None else f"{operation}({dom!r})"
        if message.startswith(label):
            return self
        if where not in message and url not in message:
            label = f"{label} on {where}"
        self.args = (f"{label}: {message}",)
        return self


class ProtocolError(XendError):
    """Bytes that are not valid XML-RPC, SXP or HTTP.

    ``offset`` is the byte offset in the input where the problem was found, when known.
    """

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        if offset is not None:
            message = f"{message} (at byte {offset})"
        super().__init__(message)
        self.offset = offset


class LimitExceeded(ProtocolError):
    """Input crossed one of the configured limits; ``limit`` names it."""

    def __init__(self, limit: str, value: int, *, offset: int | None = None) -> None:
        super().__init__(f"limit {limit}={value} exceeded", offset=offset)
        self.limit = limit
        self.value = value


class LocalProtocolError(ProtocolError, ValueError):
    """We were asked to send something the protocol cannot carry; nothing was sent."""


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that are not valid HTTP."""


class TransportError(XendError):
    """Moving bytes to or from xend failed."""


class ConnectError(TransportError, builtins.ConnectionError):
    """The connection could not be opened; the message says where and why."""


class ReadError(TransportError):
    """The connection failed or closed while a response was being read."""


class WriteError(TransportError):
    """The connection failed or closed while a request was being written."""


class Timeout(TransportError, builtins.TimeoutError):
    """A time limit ran out; ``except TimeoutError`` catches it too."""


class ConnectTimeout(Timeout):
    """Opening the connection took longer than the connect timeout."""


class ReadTimeout(Timeout):
    """No bytes arrived within the read timeout, or the total deadline passed."""


class WriteTimeout(Timeout):
    """The request could not be written within the timeout."""


class PoolTimeout(Timeout):
    """No pooled connection became free in time."""


class Fault(XendError):
    """xend answered with an error: an XML-RPC fault, or its legacy HTTP equivalent.

    ``code`` is the XML-RPC fault code and ``string`` xend's own text (a list for
    some CPU-pool errors); ``code`` is ``None`` when the answer was no fault at all
    (xend 3.1+ answers an unknown method with a ``MESSAGE_METHOD_UNKNOWN`` struct).
    ``method`` and ``dom`` name the operation and domain when the client knows them,
    so the message a user sees says what failed.
    """

    def __init__(
        self,
        code: int | None,
        string: str | list[object],
        *,
        method: str | None = None,
        dom: str | None = None,
    ) -> None:
        self.code = code
        self.string = string
        self.method = method
        self.dom = dom
        self.operation = method
        super().__init__(code, string)

    def locate(self, operation: str, dom: str | None, url: str, where: str) -> Self:
        if self.method is None:
            self.method = operation
        return super().locate(operation, dom, url, where)

    def __str__(self) -> str:
        where = ""
        if self.method is not None:
            where = self.method if self.dom is None else f"{self.method}({self.dom!r})"
            where += ": "
        return f"{where}{self.string}{_code_text(self.code)}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, string={self.string!r})"

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_fault, (type(self), self.code, self.string, self.method, self.dom))


def _code_text(code: int | None) -> str:
    """`` (fault N)`` for a message, or nothing when the answer carried no code."""
    return "" if code is None else f" (fault {code})"


def _rebuild_fault(
    cls: type[Fault],
    code: int | None,
    string: str | list[object],
    method: str | None,
    dom: str | None,
) -> Fault:
    return cls(code, string, method=method, dom=dom)


class InternalError(Fault):
    """Fault code 1: xend hit an unexpected error (``ERROR_INTERNAL``)."""


class OperationFailed(Fault):
    """Fault code 2: xend refused or failed the operation (``ERROR_GENERIC``)."""


class InvalidDomain(Fault, LookupError):
    """Fault code 3: the named domain does not exist (``ERROR_INVALID_DOMAIN``)."""

    def __str__(self) -> str:
        where = f"{self.method}: " if self.method is not None else ""
        return f"{where}domain {self.string!r} does not exist{_code_text(self.code)}"


class MethodNotSupported(Fault):
    """The server does not know the method: xend 3.1+'s ``MESSAGE_METHOD_UNKNOWN`` answer
    (``code`` ``None``), 3.0's fault 1 ``method "x" is not supported``, or the legacy
    server's 501 for an HTTP method it lacks (``code`` ``None``)."""


class XenAPIError(XendError):
    """Xen-API (xapi or xend's) answered with an error: ``code`` and its ``params``.

    ``method`` is the call that failed when known. The message names the parameters by the
    ``names`` given (from the datamodel's error list, ``aioxend.xenapi.errors.from_description``
    supplies them) and lists the rest by position: ``VM.start: VM_BAD_POWER_STATE
    (vm=OpaqueRef:.., expected=halted, actual=running)``. A subclass may hide parameters it
    knows to carry credentials (``hidden``, by position).
    """

    hidden: ClassVar[frozenset[int]] = frozenset()

    def __init__(
        self,
        code: str,
        params: Sequence[str] = (),
        *,
        method: str | None = None,
        names: Sequence[str] = (),
    ) -> None:
        self.code = code
        self.params = list(params)
        self.method = method
        self.names = tuple(names)
        super().__init__(self._describe())

    def _describe(self) -> str:
        shown = []
        for i, value in enumerate(self.params):
            text = "<hidden>" if i in self.hidden else value
            shown.append(f"{self.names[i]}={text}" if i < len(self.names) else text)
        where = f"{self.method}: " if self.method else ""
        return f"{where}{self.code}" + (f" ({', '.join(shown)})" if shown else "")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()!r})"

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_xenapi_error,
            (type(self), self.code, self.params, self.method, self.names),
        )


def _rebuild_xenapi_error(
    cls: type[XenAPIError],
    code: str,
    params: list[str],
    method: str | None,
    names: tuple[str, ...],
) -> XenAPIError:
    return cls(code, params, method=method, names=names)


class HTTPStatusError(XendError):
    """An HTTP status the protocol gives no meaning to, with the body's start."""

    def __init__(self, status: int, reason: str = "", body: bytes = b"") -> None:
        self.status = status
        self.reason = reason
        self.body = body
        text = body[:200].decode("utf-8", "replace")
        super().__init__(f"HTTP {status} {reason}".rstrip() + (f": {text}" if text else ""))


class UnsupportedOperation(XendError, NotImplementedError):
    """The operation does not exist on the protocol in use."""

    def __init__(self, operation: str, protocol: str) -> None:
        self.operation = operation
        self.protocol = protocol
        super().__init__(f"{operation} is not available over the {protocol} protocol")


FAULT_CLASSES: dict[int, type[Fault]] = {
    1: InternalError,
    2: OperationFailed,
    3: InvalidDomain,
}


def fault_for(
    code: int | None,
    string: str | list[object],
    *,
    method: str | None = None,
    dom: str | None = None,
) -> Fault:
    """Build the most specific ``Fault`` subclass for a fault code."""
    cls = Fault if code is None else FAULT_CLASSES.get(code, Fault)
    return cls(code, string, method=method, dom=dom)
