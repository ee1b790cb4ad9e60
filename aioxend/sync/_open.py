"""``aioxend.sync.connect``: ``aioxend.connect``'s parameters, a blocking client back."""

from __future__ import annotations

from aioxend.client import connect as _async_connect
from aioxend.sync._generated.xend import XendClient
from aioxend.sync._runner import opener

__all__ = ["connect"]

connect = opener(
    _async_connect,
    XendClient,
    __name__.rpartition(".")[0],
    """A blocking client for the xend at ``url``, open when this returns.

    The parameters are ``aioxend.connect``'s. The client's own thread runs its event
    loop; ``close()`` or the end of a ``with`` block stops it.
    """,
)
