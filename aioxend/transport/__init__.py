"""HTTP over TCP, TLS, UNIX sockets, pipes and any byte stream; knows nothing of XML-RPC or SXP.

The seam a client uses is ``Transport.send(Request) -> Response`` (status, headers,
``aiter_bytes()``, ``aread()``, ``aclose()``). ``open_transport(url)`` returns our own
HTTP/1.1 (``RawTransport``, on asyncio and trio, for every scheme including
``ssh://``), shaped like httpcore: a pool of connections, each a ``Stream`` and a
sans-IO parser. A ``Connector`` opens each stream; pass your own to
``aioxend.connect(url, connector=...)`` to run the protocol over anything (a serial
console, an ssh library's channel). For tests, ``MockConnector(respond)`` opens
``MockStream``\\ s answered by a function of the request bytes, so a client runs its
whole HTTP stack with no socket. A ``Request`` may stream its body (a file or an async
iterator, with its ``Content-Length``, a progress callback and backpressure) and follow
redirects (``GET`` and ``PUT``, bounded, credentials kept to their origin).
``parse_url`` checks a server URL and says what it names.
"""

from aioxend.transport._base import (
    WHOLE_BODY_LIMIT,
    BodyStream,
    Limits,
    Request,
    Response,
    Timeouts,
    Transport,
)
from aioxend.transport._connect import Connector, UrlConnector
from aioxend.transport._mock import MockConnector, MockStream
from aioxend.transport._open import open_transport
from aioxend.transport._raw import RawTransport
from aioxend.transport._stream import AnyioStream, DeadlinePassed, Stream
from aioxend.transport._url import Endpoint, check_options, default_url, parse_url

__all__ = [
    "WHOLE_BODY_LIMIT",
    "AnyioStream",
    "BodyStream",
    "Connector",
    "DeadlinePassed",
    "Endpoint",
    "Limits",
    "MockConnector",
    "MockStream",
    "RawTransport",
    "Request",
    "Response",
    "Stream",
    "Timeouts",
    "Transport",
    "UrlConnector",
    "check_options",
    "default_url",
    "open_transport",
    "parse_url",
]
