"""XVA, the VM export format, as far as the emulator needs it: the first member, ``ova.xml``.

An XVA is a tar archive whose first member is ``ova.xml``, one XML-RPC ``<value>``: a
struct with ``version`` and ``objects``, each object ``{class, id, snapshot}`` (the
record as it was exported; ``Importexport.obj``, ``Export.make_header``). The disks
follow as ``Ref:N/00000000`` chunks, which the emulator stores without reading. An
import whose first member is anything else fails with ``IMPORT_ERROR_UNEXPECTED_FILE
[ova.xml, found]`` and one that ends early with ``IMPORT_ERROR_PREMATURE_EOF``, as
``Import.with_error_handling`` reports them.
"""

from __future__ import annotations

import io
import tarfile
import xmlrpc.client
from collections.abc import AsyncIterator
from typing import Any

from aioxend.emulator.xenapi._failure import Failure

__all__ = ["BLOCK", "MAX_OVA", "generated_xva", "make_xva", "ova_size", "read_ova"]

BLOCK = 512
MAX_OVA = 16 * 1024 * 1024
"""The largest ``ova.xml`` the emulator reads (xapi's are a few KB per VM)."""
OVA = "ova.xml"


def ova_size(header: bytes) -> int:
    """The size of ``ova.xml`` from the archive's first header block, or the failure."""
    try:
        info = tarfile.TarInfo.frombuf(header, "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        raise Failure("IMPORT_ERROR_UNEXPECTED_FILE", OVA, "(not a tar header)") from None
    if info.name != OVA:
        raise Failure("IMPORT_ERROR_UNEXPECTED_FILE", OVA, info.name)
    if info.size > MAX_OVA:
        raise Failure("IMPORT_ERROR", f"ova.xml of {info.size} bytes is too large")
    return info.size


def read_ova(text: bytes) -> list[dict[str, Any]]:
    """The objects of an ``ova.xml`` (``IMPORT_ERROR [msg]`` if it is not one)."""
    document = b"<methodResponse><params><param>%s</param></params></methodResponse>" % text
    try:
        ((header,), _) = xmlrpc.client.loads(document)
        objects = header["objects"] if isinstance(header, dict) else None
    except Exception as exc:
        raise Failure("IMPORT_ERROR", f"ova.xml is not an export header: {exc}") from None
    if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
        raise Failure("IMPORT_ERROR", "ova.xml: objects is not a list of structs")
    return objects


def make_xva(objects: list[dict[str, Any]], disk: int | None = None) -> bytes:
    """The head of an XVA: ``ova.xml`` for ``objects``; with ``disk``, also the header of
    a ``Ref:1/00000000`` member of that many bytes (which must follow, then ``tail``)."""
    header = {"version": {"export_vsn": "2", "product_brand": "aioxend"}, "objects": objects}
    text = xmlrpc.client.dumps((header,), allow_none=True)
    start, end = text.index("<value>"), text.rindex("</value>") + len("</value>")
    ova = text[start:end].encode("utf-8")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(OVA)
        info.size = len(ova)
        tar.addfile(info, io.BytesIO(ova))
        if disk is not None:
            member = tarfile.TarInfo("Ref:1/00000000")
            member.size = disk
            out.write(member.tobuf(format=tarfile.USTAR_FORMAT))
            return out.getvalue()
    return out.getvalue()


def tail(disk: int) -> bytes:
    """What ends an XVA after a disk member of ``disk`` bytes: padding, two zero blocks."""
    return bytes(-disk % BLOCK + 2 * BLOCK)


def generated_xva(
    disk: int, name: str = "generated", piece: int = 1 << 20
) -> tuple[int, AsyncIterator[bytes]]:
    """An XVA of one VM with a ``disk`` bytes long disk (``pattern``), made as it is
    read, a MiB at a time: its length and its pieces."""
    objects = [
        {"class": "VM", "id": "Ref:0", "snapshot": {"name_label": name, "VBDs": ["Ref:2"]}},
        {
            "class": "VDI",
            "id": "Ref:1",
            "snapshot": {"name_label": f"{name} disk", "virtual_size": str(disk)},
        },
        {
            "class": "VBD",
            "id": "Ref:2",
            "snapshot": {"VM": "Ref:0", "VDI": "Ref:1", "device": "xvda"},
        },
    ]
    head, end = make_xva(objects, disk), tail(disk)
    return len(head) + disk + len(end), _pieces(head, disk, end)


_FILL = bytes(range(256)) * 4096


def pattern(offset: int, count: int) -> bytes:
    """``count`` (at most 1 MiB) bytes of the generated disk from ``offset``: a fixed
    fill, its first eight bytes the offset (so a piece lost, doubled or moved shows)."""
    return (offset.to_bytes(8, "little") + _FILL[8:count])[:count]


async def _pieces(head: bytes, disk: int, end: bytes) -> AsyncIterator[bytes]:
    yield head
    for offset in range(0, disk, len(_FILL)):
        yield pattern(offset, min(len(_FILL), disk - offset))
    yield end
