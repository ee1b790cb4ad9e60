"""Sans-IO XML-RPC codec: ``dumps``/``loads`` as in ``xmlrpc.client``, plus a streaming
``Decoder`` that reads a document chunk by chunk under ``Limits``.

The codec does no I/O and raises only ``ProtocolError`` (``LimitExceeded``,
``LocalProtocolError``) and, for a fault response, the matching ``Fault`` subclass.
"""

from aioxend.xmlrpc._decoder import Decoder, loads
from aioxend.xmlrpc._encoder import dumps
from aioxend.xmlrpc._limits import Limits

__all__ = ["Decoder", "Limits", "dumps", "loads"]
