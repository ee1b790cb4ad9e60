"""Sans-IO XML-RPC codec: ``dumps``/``loads`` shaped as in ``xmlrpc.client``, and a
streaming ``Decoder`` that reads a document chunk by chunk under ``Limits``.

::

    body = dumps(("guest-1", 512), "xend.domain.setMemoryTarget")

    decoder = Decoder(Limits(max_bytes=16 * 1024 * 1024))
    for chunk in response_chunks:      # split anywhere, even inside a character
        decoder.feed(chunk)            # ProtocolError at once if this is no XML-RPC
    params, _ = decoder.close()        # or raises the Fault subclass of a fault

The codec does no I/O and raises only ``ProtocolError`` (with ``LimitExceeded`` and
``LocalProtocolError``) and, for a fault response, the ``Fault`` subclass its code maps
to (``InternalError``, ``OperationFailed``, ``InvalidDomain``).
"""

from aioxend.xmlrpc._decoder import Decoder, loads
from aioxend.xmlrpc._encoder import dumps
from aioxend.xmlrpc._limits import Limits
from aioxend.xmlrpc._values import XmlRpcValue

__all__ = ["Decoder", "Limits", "XmlRpcValue", "dumps", "loads"]
