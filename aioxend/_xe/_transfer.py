"""``vm-import`` and ``vm-export``: XVA files up and down, with a progress bar on a terminal.

As xe (``cli_operations.ml`` ``vm_import``/``vm_export``, ``newcli.ml``'s ``HttpPut``/
``HttpGet``): ``vm-import filename=F [sr-uuid=U] [preserve=true] [--force]`` prints the
uuids of the VMs made, joined by commas; ``vm-export filename=F`` with a VM selector
(``uuid=``, ``vm=``...) writes one VM and prints ``Export succeeded``, refusing a file
that exists already (xe opens it with ``O_EXCL``, mode 0600) and removing what it wrote
when the export fails. The local file is checked before anything is sent. The bytes go
through ``xapi.import_vm``/``xapi.export_vm``, so memory stays flat; the bar
(``_progress.ProgressBar``) goes to stderr, on a terminal only.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

from aioxend._xe._args import Invocation
from aioxend._xe._progress import ProgressBar
from aioxend.cli import UsageError

if TYPE_CHECKING:
    from aioxend.xenapi import XenAPIClient

__all__ = ["check_export", "check_import", "vm_export", "vm_import"]

_COMPRESS: dict[str, str | bool | None] = {
    "true": True,
    "false": None,
    "gzip": "gzip",
    "zstd": "zstd",
}


def _source_size(path: str) -> int:
    """The size of the file to import; a usage error if it cannot be read."""
    try:
        with open(path, "rb") as f:
            return os.fstat(f.fileno()).st_size
    except OSError as exc:
        raise UsageError(f"vm-import: cannot read {path}: {exc.strerror or exc}") from None


def _checked_destination(path: str) -> str:
    if os.path.lexists(path):
        raise UsageError(f"vm-export: {path} exists already")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(f"vm-export: no directory {parent} to write {path} in")
    return path


def check_import(params: Mapping[str, str]) -> None:
    """The file to import must be readable (checked again when it is opened)."""
    _source_size(params["filename"])


def check_export(params: Mapping[str, str]) -> None:
    """The file to write must not exist, its directory must; ``compress`` must be known."""
    _checked_destination(params["filename"])
    _compression(params)


def _compression(params: Mapping[str, str]) -> str | bool | None:
    text = params.get("compress", "false").lower()
    if text not in _COMPRESS:
        raise UsageError(f"vm-export: compress must be true, false, gzip or zstd, not {text!r}")
    return _COMPRESS[text]


async def vm_import(xapi: XenAPIClient, inv: Invocation, out: TextIO, err: TextIO) -> None:
    """``vm-import filename=...``: upload the XVA, print the new VMs' uuids."""
    path = inv.params["filename"]
    size = _source_size(path)
    sr = None
    if "sr-uuid" in inv.params:
        sr = await xapi.SR.get_by_uuid(inv.params["sr-uuid"])
    bar = ProgressBar(err, size)
    try:
        refs = await xapi.import_vm(
            path, sr=sr, force=inv.flag("force"), restore=inv.flag("preserve"), progress=bar
        )
    except BaseException:
        bar.abort()
        raise
    bar.finish()
    uuids = [await xapi.VM.get_uuid(ref) for ref in refs]
    if inv.options.json:
        json.dump(uuids, out)
        out.write("\n")
    else:
        out.write(",".join(uuids) + "\n")


async def vm_export(xapi: XenAPIClient, inv: Invocation, out: TextIO, err: TextIO) -> None:
    """``vm-export filename=... uuid=...``: download one VM as an XVA."""
    from aioxend._xe._verbs import select_vms

    path = _checked_destination(inv.params["filename"])
    compress = _compression(inv.params)
    [(ref, vm)] = await select_vms(xapi, inv, ("filename", "compress"), single=True)
    try:
        # As xe's HttpGet opens it: created here, never over another file, for the owner.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise UsageError(f"vm-export: cannot create {path}: {exc.strerror or exc}") from None
    bar = ProgressBar(err, None, label="Export ")
    try:
        with os.fdopen(fd, "wb") as file:
            written = await xapi.export_vm(ref, file, compress=compress, progress=bar)
    except BaseException:
        bar.abort()
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    bar.finish()
    if inv.options.json:
        json.dump({"uuid": vm.uuid, "filename": path, "bytes": written}, out)
        out.write("\n")
    else:
        out.write("Export succeeded\n")
