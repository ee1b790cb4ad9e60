"""A blocking facade over both clients, for scripts, REPLs and configuration management.

::

    import aioxend.sync

    with aioxend.sync.connect("httpu:///var/run/xend/xmlrpc.sock") as xend:
        xend.pause("vm1")
        print([d.name for d in xend.domains()])

``aioxend.sync.connect(...)`` takes what ``aioxend.connect`` takes and returns a
``XendClient`` whose methods are the async client's, blocking; ``aioxend.sync.xenapi``
does the same for the Xen-API client. Each client runs its own event loop in one thread
(anyio's blocking portal) and may be used from several threads at once; results,
timeouts (``timeout=`` per call) and exceptions are the async client's, the same classes
with the same messages. ``close()`` (or the end of the ``with`` block) stops the thread;
a client nobody closed is closed when collected or at interpreter exit. An async
iterator of the client is a blocking iterator here (``BlockingIterator``).

The methods are generated from the async classes (``tools/gen_sync.py``), so their
parameters and types are those of the async ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aioxend._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    from aioxend.sync._generated.xend import XendClient
    from aioxend.sync._open import connect
    from aioxend.sync._runner import BlockingIterator

__all__ = ["BlockingIterator", "XendClient", "connect"]

# Loaded on first use, so ``import aioxend.sync.xenapi`` loads nothing of the xend client.
__getattr__, __dir__ = _lazy_names(
    __name__,
    {
        "BlockingIterator": "._runner",
        "XendClient": "._generated.xend",
        "connect": "._open",
    },
)
