"""``aioxend.sync.xenapi.connect``: ``aioxend.xenapi.connect``'s parameters, blocking."""

from __future__ import annotations

from aioxend.sync._generated.xenapi import XenAPIClient
from aioxend.sync._runner import opener
from aioxend.xenapi import connect as _async_connect

__all__ = ["connect"]

connect = opener(
    _async_connect,
    XenAPIClient,
    __name__.rpartition(".")[0],
    """A blocking Xen-API session at ``url``, logged in when this returns.

    The parameters are ``aioxend.xenapi.connect``'s. ``close()`` or the end of a ``with``
    block logs out and stops the client's thread.
    """,
)
