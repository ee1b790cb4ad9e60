"""HTTP over TCP, TLS, UNIX sockets and pipes; knows nothing of XML-RPC or SXP."""

from aioxend.transport._base import Limits, Request, Response, Timeouts, Transport

__all__ = ["Limits", "Request", "Response", "Timeouts", "Transport"]
