"""HTTP over TCP, TLS, UNIX sockets and pipes; knows nothing of XML-RPC or SXP.

``open_transport(url)`` returns a ``Transport``: ``AiohttpTransport`` (asyncio) or
``RawTransport`` (anyio: asyncio and trio; also ``ssh://``). ``parse_url`` checks a
server URL and says what it names.
"""

from aioxend.transport._aiohttp import AiohttpTransport
from aioxend.transport._base import Limits, Request, Response, Timeouts, Transport
from aioxend.transport._open import open_transport
from aioxend.transport._raw import RawTransport
from aioxend.transport._url import Endpoint, default_url, parse_url

__all__ = [
    "AiohttpTransport",
    "Endpoint",
    "Limits",
    "RawTransport",
    "Request",
    "Response",
    "Timeouts",
    "Transport",
    "default_url",
    "open_transport",
    "parse_url",
]
