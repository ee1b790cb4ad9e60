"""The emulator's disks: bounded storage in a temporary folder, and the SRs that hold it.

Every byte a client uploads (``PUT /import``, ``PUT /import_raw_vdi``) lands in one file
of a temporary folder made on the first upload and removed when the server stops;
``limit`` caps what all of them hold together (an upload that would pass it fails its
task with ``SR_FULL [requested, maximum]``). An imported VM keeps its XVA as it came, so
its export gives back the same bytes; a VDI keeps its content, read back as a raw disk
padded with zeros to its ``virtual_size``.

``seed_storage`` gives each host a local SR ("Local storage", not shared, one PBD) and
makes the master's the pool's ``default_SR``. A host sees an SR that is shared or has a
PBD on it (``Importexport.check_sr_availability``); ``holder`` names the host to send a
client to when it does not (``Importexport.find_host_for_sr``), which is how the 302
between pool members comes about.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import uuid as uuidlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from aioxend.emulator.xenapi._failure import Failure

if TYPE_CHECKING:
    from aioxend.emulator.xenapi._pool import Pool

__all__ = ["DEFAULT_LIMIT", "Blob", "TransferStore", "holder", "link", "seed_storage", "sees"]

DEFAULT_LIMIT = 2 * 1024**3
"""What the uploads to one emulator may hold together by default (2 GiB)."""

_LOCAL_SR_SIZE = 1024**4


class Blob:
    """One stored upload: its file, and how many bytes it holds so far."""

    def __init__(self, path: str, fmt: str) -> None:
        self.path = path
        self.format = fmt
        self.size = 0


class TransferStore:
    """The uploads of one emulated pool, by the ref of the VM or VDI they belong to."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 0:
            raise ValueError(f"the transfer limit must not be negative, not {limit}")
        self.limit = limit
        self.used = 0
        self.blobs: dict[str, Blob] = {}
        self.bases: dict[str, str] = {}
        """Each host's base URL (``http://127.0.0.2:PORT``), for redirects."""
        self._folder: str | None = None
        self._lock = threading.Lock()

    def reserve(self, count: int) -> None:
        """Count ``count`` more bytes against the limit, or ``SR_FULL``."""
        with self._lock:
            if self.used + count > self.limit:
                raise Failure("SR_FULL", self.used + count, self.limit)
            self.used += count

    def release(self, count: int) -> None:
        with self._lock:
            self.used = max(0, self.used - count)

    @contextlib.contextmanager
    def writing(self, fmt: str) -> Iterator[tuple[Blob, BinaryIO]]:
        """A new blob open for writing; removed (and its bytes released) on an error."""
        with self._lock:
            if self._folder is None:
                self._folder = tempfile.mkdtemp(prefix="aioxend-xapi-")
            path = os.path.join(self._folder, uuidlib.uuid4().hex)
        blob = Blob(path, fmt)
        try:
            with open(path, "wb") as file:
                yield blob, file
        except BaseException:
            self.discard(blob)
            raise

    def keep(self, ref: str, blob: Blob) -> None:
        """Make ``blob`` the content of ``ref``, dropping what it held before."""
        with self._lock:
            old = self.blobs.pop(ref, None)
            self.blobs[ref] = blob
        if old is not None:
            self.discard(old)

    def discard(self, blob: Blob) -> None:
        """Remove a blob that belongs to nothing (and release its bytes)."""
        self.release(blob.size)
        with contextlib.suppress(OSError):
            os.unlink(blob.path)

    def close(self) -> None:
        """Remove every stored byte and the folder."""
        with self._lock:
            folder, self._folder = self._folder, None
            self.blobs.clear()
            self.used = 0
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def seed_storage(pool: Pool) -> None:
    """A local SR with its PBD on every host; the master's is the pool's default SR."""
    with pool.lock:
        for index, host in enumerate(pool.hosts):
            sr = pool.add(
                "SR",
                {
                    "name_label": "Local storage",
                    "name_description": f"local disk of host{index}",
                    "type": "ext",
                    "content_type": "user",
                    "shared": False,
                    "physical_size": _LOCAL_SR_SIZE,
                    "allowed_operations": ["vdi_create", "vdi_destroy", "scan"],
                },
            )
            pbd = pool.add("PBD", {"host": host, "SR": sr, "currently_attached": True})
            link(pool, "SR", sr, "PBDs", pbd)
            link(pool, "host", host, "PBDs", pbd)
            if index == 0:
                pool.get("pool", pool.pool_ref)["default_SR"] = sr
                pool.get("host", host)["suspend_image_sr"] = sr


def link(pool: Pool, cls: str, ref: str, field: str, value: str) -> None:
    """Add ``value`` to the set field ``field`` of an object (``SR.VDIs``, ``VM.VBDs``)."""
    values = pool.get(cls, ref)[field]
    assert isinstance(values, list)
    values.append(value)
    pool.touch(cls, ref)


def _hosts_of(pool: Pool, sr: str) -> list[str]:
    pbds = pool.get("SR", sr)["PBDs"]
    assert isinstance(pbds, list)
    return [str(pool.get("PBD", pbd)["host"]) for pbd in pbds if pbd in pool.table("PBD")]


def sees(pool: Pool, host: str, sr: str) -> bool:
    """Whether ``host`` reaches ``sr``: shared, or plugged there."""
    with pool.lock:
        return bool(pool.get("SR", sr)["shared"]) or host in _hosts_of(pool, sr)


def holder(pool: Pool, sr: str) -> str:
    """A host that reaches ``sr`` (``SR_HAS_NO_PBDS [sr]`` if none does)."""
    with pool.lock:
        hosts = _hosts_of(pool, sr)
        if not hosts:
            raise Failure("SR_HAS_NO_PBDS", sr)
        return hosts[0]
