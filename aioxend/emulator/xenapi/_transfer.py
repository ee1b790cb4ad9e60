"""The HTTP handlers beside the RPC: ``PUT /import``, ``GET /export``, ``PUT
/import_raw_vdi`` and ``GET /export_raw_vdi``, on every host of the pool.

Each follows xapi's handler (``ocaml/xapi/import.ml`` ``handler``, ``export.ml``
``handler``, ``import_raw_vdi.ml``, ``export_raw_vdi.ml``, ``xapi_http.ml``
``with_context``): parameters in the query string; ``session_id`` checked first (none or
a dead one is ``401``); the work done under ``task_id`` (a task the client made with
``task.create``; a fresh one when none is named, an unknown one is ``404``); a ``302 Found``
to the host that reaches the SR when this one does not (the query kept, session and
task included; the task is left to that host); then ``200 OK`` with ``task-id`` and
``Connection: close`` before the body is read or written, and a body that ends when
the connection does (xapi sends no length). The task's ``progress`` follows the bytes;
it ends ``success`` with the new VM refs or VDI ref as its ``result``, or ``failure``
with the error, and the connection is cut where the error struck. A ``task.cancel``
while the bytes flow ends the task ``cancelled`` and cuts the connection.

Refusals as xapi makes them: a chunked upload is ``403`` on ``/import`` (the task fails
with ``IMPORT_ERROR_CANNOT_HANDLE_CHUNKED``) and ``404`` on ``/import_raw_vdi``
(``INTERNAL_ERROR [Cannot handle encoding: chunked]``); a session whose role is
``read-only`` may not upload (``403``, ``RBAC_PERMISSION_DENIED``); an unknown
``format`` is ``404``. A raw image goes into a VDI from its first byte on, what the VDI
held beyond it kept; the VDI reads back padded with zeros to its size. What the
emulator leaves out: disk-format conversion (a VHD is stored and served as it came),
``use_compression=zstd`` (only gzip: zstd is ``400``), xapi's own ``chunked`` raw-VDI
framing, and the checksums of XVA chunks.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, BinaryIO
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from aioxend.emulator.xenapi import _power, _xmlrpc
from aioxend.emulator.xenapi._dispatch import Dispatcher
from aioxend.emulator.xenapi._failure import Failure
from aioxend.emulator.xenapi._pool import Pool
from aioxend.emulator.xenapi._records import plain_copy
from aioxend.emulator.xenapi._storage import Blob, TransferStore, holder, link, sees
from aioxend.emulator.xenapi._tasks import new_task
from aioxend.emulator.xenapi._xva import BLOCK, make_xva, ova_size, read_ova

__all__ = ["add_routes"]

PIECE = 1 << 20
_FORMATS = ("raw", "vhd", "tar", "qcow2")
_READ_ERRORS = (
    ConnectionError,
    asyncio.IncompleteReadError,
    aiohttp.ClientPayloadError,
    aiohttp.http_exceptions.HttpProcessingError,
)


class _Refused(Exception):
    """An answer other than 200 (and, for the task, the failure it stands for)."""

    def __init__(self, status: int, failure: Failure | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.failure = failure


class _UntilClose(web.StreamResponse):
    """A body that ends with the connection, as xapi sends it: aiohttp's own
    ``WebSocketResponse`` turns length framing off the same way."""

    _length_check = False


class _Job:
    """One transfer: its request, host, task, and the bytes it moved."""

    def __init__(self, request: web.Request, dispatcher: Dispatcher, store: TransferStore) -> None:
        self.request = request
        self.pool = dispatcher.pool
        self.host = dispatcher.host
        self.store = store
        self.query = request.query
        self.session = ""
        self.task = ""
        self.label = ""
        self.response: web.StreamResponse | None = None
        self._own = False
        self._shown = -1.0

    def begin(self, label: str) -> None:
        """Check the session and find (or make) the task; ``_Refused`` otherwise."""
        try:
            self.session = self.query.get("session_id", "")
            self.pool.check_session(self.session)
        except Failure:
            raise _Refused(401) from None
        task = self.query.get("task_id")
        if task is not None and task not in self.pool.table("task"):
            raise _Refused(404)
        self.task = task or ""
        self.label = label

    def ref(self, cls: str, key: str) -> str:
        """The object a query parameter names by ref or uuid (``HANDLE_INVALID`` if none)."""
        value = self.query.get(key, "")
        with self.pool.lock:
            if value in self.pool.table(cls):
                return value
            for ref, record in self.pool.table(cls).items():
                if record["uuid"] == value:
                    return ref
        raise _Refused(404, Failure("HANDLE_INVALID", cls, value))

    def redirect(self, srs: list[str]) -> web.Response | None:
        """A ``302`` to a host that reaches every SR of ``srs``, if this one does not."""
        far = [sr for sr in srs if not sees(self.pool, self.host, sr)]
        if not far:
            return None
        base = self.store.bases.get(holder(self.pool, far[0]))
        if base is None:
            raise _Refused(500, Failure("INTERNAL_ERROR", "no listener on the SR's host"))
        location = f"{base}{self.request.path}?{urlencode(list(self.query.items()))}"
        return web.Response(status=302, headers={"Location": location, "Connection": "close"})

    def writer_role(self) -> None:
        if self.pool.role(self.session) == "read-only":
            text = "No permission in user session. (Roles with this permission: pool-admin)"
            raise _Refused(403, Failure("RBAC_PERMISSION_DENIED", "http/put_import", text))

    async def answer(self, **headers: str) -> web.StreamResponse:
        """``200 OK`` with the task's id, sent now; the body ends with the connection.

        With no ``task_id`` the work gets a task of its own, removed when it ends (as
        ``Context.with_context`` does)."""
        if not self.task:
            self.task = new_task(self.pool, self.label, "", self.host, self.session)
            self._own = True
        response = _UntilClose(headers={"task-id": self.task, **headers})
        response.force_close()
        await response.prepare(self.request)
        self.response = response
        return response

    # -- the task ----------------------------------------------------------------------
    def _task(self) -> dict[str, object] | None:
        return self.pool.table("task").get(self.task)

    def progress(self, done: int, total: int | None) -> None:
        """Show the progress on the task (at most every hundredth); cancelled: raise."""
        with self.pool.lock:
            record = self._task()
            if record is None:
                return
            if record["status"] == "cancelling":
                raise Failure("TASK_CANCELLED", self.task)
            fraction = min(done / total, 1.0) if total else 0.0
            if fraction - self._shown >= 0.01:
                self._shown = fraction
                record["progress"] = fraction
                self.pool.touch("task", self.task)

    def end(self, failure: Failure | None, value: object = "") -> None:
        """Finish the task: ``success`` with ``value``, or the failure (``cancelled``)."""
        with self.pool.lock:
            record = self._task()
            if record is None or record["status"] not in ("pending", "cancelling"):
                return
            if failure is None:
                fields: dict[str, object] = {
                    "status": "success",
                    "result": _xmlrpc.task_result(value, self.pool.dialect),
                }
            elif failure.code == "TASK_CANCELLED":
                fields = {"status": "cancelled", "error_info": failure.description}
            else:
                fields = {"status": "failure", "error_info": failure.description}
            record.update(fields, progress=1.0, finished=datetime.now(UTC))
            self.pool.touch("task", self.task)
            if self._own:
                self.pool.remove("task", self.task)

    # -- the bytes ---------------------------------------------------------------------
    async def receive(self, count: int, blob: Blob, file: BinaryIO) -> bytes:
        """Exactly ``count`` bytes of the upload, stored as they come."""
        try:
            data = await self.request.content.readexactly(count)
        except _READ_ERRORS:
            raise Failure("IMPORT_ERROR_PREMATURE_EOF") from None
        self._store(data, blob, file)
        return data

    async def receive_rest(self, blob: Blob, file: BinaryIO, total: int | None) -> None:
        """The rest of the upload to its ``Content-Length`` (or its end), stored."""
        content = self.request.content
        while total is None or blob.size < total:
            try:
                data = await content.read(PIECE if total is None else min(PIECE, total - blob.size))
            except _READ_ERRORS:
                data = b""
            if not data:
                if total is None:
                    return
                raise Failure("IMPORT_ERROR_PREMATURE_EOF")
            self._store(data, blob, file)
            self.progress(blob.size, total)

    def _store(self, data: bytes, blob: Blob, file: BinaryIO) -> None:
        self.store.reserve(len(data))
        blob.size += len(data)
        file.write(data)

    async def send(
        self, response: web.StreamResponse, pieces: AsyncIterator[bytes], total: int | None
    ) -> None:
        """Write the body, showing progress and stopping when the task is cancelled."""
        done = 0
        async for piece in pieces:
            await response.write(piece)
            done += len(piece)
            self.progress(done, total)


async def _run(
    request: web.Request,
    dispatcher: Dispatcher,
    store: TransferStore,
    label: str,
    work: Callable[[_Job], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    """Serve one transfer: refusals as statuses, failures on the task, the cut made."""
    job = _Job(request, dispatcher, store)
    try:
        job.begin(label)
        return await work(job)
    except _Refused as refused:
        if refused.failure is not None:
            job.end(refused.failure)
        text = " ".join(refused.failure.description) if refused.failure else ""
        return web.Response(status=refused.status, text=text, headers={"Connection": "close"})
    except Failure as failure:  # after the 200: the task says it, the connection is cut
        job.end(failure)
        if job.response is None:
            text = " ".join(failure.description)
            return web.Response(status=500, text=text, headers={"Connection": "close"})
    except (ConnectionError, asyncio.CancelledError):  # the client went away
        job.end(Failure("INTERNAL_ERROR", "the client closed the connection"))
        raise
    except Exception as exc:  # a bug of ours: xapi fails the task with INTERNAL_ERROR too
        job.end(Failure("INTERNAL_ERROR", f"{type(exc).__name__}: {exc}"))
    if request.transport is not None:
        request.transport.close()
    return job.response if job.response is not None else web.Response(status=500)


# -- the handlers --------------------------------------------------------------------------
def _flag(job: _Job, name: str) -> bool:
    return job.query.get(name) == "true"  # Import.find_query_flag


def _sr_of(job: _Job) -> str:
    """``sr_id``, ``sr_uuid`` or the pool's default SR (``Importexport.sr_of_req``)."""
    if "sr_id" in job.query:
        return job.ref("SR", "sr_id")
    if "sr_uuid" in job.query:
        return job.ref("SR", "sr_uuid")
    default = str(job.pool.get("pool", job.pool.pool_ref)["default_SR"])
    if default not in job.pool.table("SR"):
        raise _Refused(500, Failure("DEFAULT_SR_NOT_FOUND", default))
    return default


async def _import(job: _Job) -> web.StreamResponse:
    request = job.request
    if request.headers.get("Transfer-Encoding"):
        raise _Refused(403, Failure("IMPORT_ERROR_CANNOT_HANDLE_CHUNKED"))
    sr = _sr_of(job)
    redirect = job.redirect([sr])
    if redirect is not None:
        return redirect
    job.writer_role()
    response = await job.answer(**{"Content-Type": "application/octet-stream"})
    with job.store.writing("xva") as (blob, file):
        size = ova_size(await job.receive(BLOCK, blob, file))
        padded = -(-size // BLOCK) * BLOCK
        objects = read_ova((await job.receive(padded, blob, file))[:size])
        await job.receive_rest(blob, file, request.content_length)
    try:
        refs = _create(job, objects, sr)
    except BaseException:
        job.store.discard(blob)
        raise
    if refs:
        job.store.keep(refs[0], blob)
    else:
        job.store.discard(blob)
    job.end(None, refs)
    return response


def _create(job: _Job, objects: list[dict[str, Any]], sr: str) -> list[str]:
    """The VMs, VDIs and VBDs of an ``ova.xml``, made in ``sr``; the VM refs."""
    pool, made, vms = job.pool, {}, []
    with pool.lock:
        for obj in objects:
            snapshot = obj.get("snapshot") if isinstance(obj.get("snapshot"), dict) else {}
            assert isinstance(snapshot, dict)
            if obj.get("class") == "VM":
                vm = _new_vm(job, snapshot)
                if vm is not None:
                    made[obj.get("id")] = vm
                    vms.append(vm)
            elif obj.get("class") == "VDI":
                size = int(str(snapshot.get("virtual_size", "0")))
                fields = {"name_label": str(snapshot.get("name_label", "")), "SR": sr}
                made[obj.get("id")] = vdi = pool.add("VDI", {**fields, "virtual_size": size})
                link(pool, "SR", sr, "VDIs", vdi)
        for obj in objects:
            snapshot = obj.get("snapshot") or {}
            owner, disk = made.get(snapshot.get("VM")), made.get(snapshot.get("VDI"))
            if obj.get("class") == "VBD" and owner is not None and disk is not None:
                device = str(snapshot.get("device", ""))
                vbd = pool.add("VBD", {"VM": owner, "VDI": disk, "device": device})
                link(pool, "VM", owner, "VBDs", vbd)
                link(pool, "VDI", disk, "VBDs", vbd)
    return vms


def _new_vm(job: _Job, snapshot: dict[str, Any]) -> str | None:
    """A halted VM from an exported record; with ``restore=true`` it keeps its uuid and
    replaces a halted VM that has it (a live one: ``VM_BAD_POWER_STATE``, or with
    ``force=true`` the VM is skipped, ``None``), as ``Import.handle_vm`` decides."""
    pool = job.pool
    uuid = str(snapshot.get("uuid", ""))
    if _flag(job, "restore") and uuid:
        for ref, record in list(pool.table("VM").items()):
            if record["uuid"] != uuid:
                continue
            state = str(record["power_state"])
            if state != _power.HALTED:
                if _flag(job, "force"):
                    return None
                raise Failure("VM_BAD_POWER_STATE", ref, "halted", state.lower())
            pool.remove("VM", ref)
    vm = pool.add_vm(str(snapshot.get("name_label", "")), _power.HALTED)
    record = pool.get("VM", vm)
    other = snapshot.get("other_config")
    record["other_config"] = (
        {str(k): str(v) for k, v in other.items()} if isinstance(other, dict) else {}
    )
    record["name_description"] = str(snapshot.get("name_description", ""))
    record["is_a_template"] = snapshot.get("is_a_template") is True
    if _flag(job, "restore") and uuid:
        record["uuid"] = uuid
    return vm


def _vm_srs(pool: Pool, vm: str) -> list[str]:
    with pool.lock:
        vbds = pool.get("VM", vm)["VBDs"]
        assert isinstance(vbds, list)
        vdis = [pool.table("VBD").get(vbd, {}).get("VDI") for vbd in vbds]
        return [str(pool.get("VDI", v)["SR"]) for v in vdis if v in pool.table("VDI")]


async def _file_pieces(path: str, size: int) -> AsyncIterator[bytes]:
    with open(path, "rb") as file:  # noqa: ASYNC230 - the emulator's own loop, a local file
        left = size
        while left > 0:
            piece = file.read(min(PIECE, left))
            if not piece:
                return
            left -= len(piece)
            yield piece


async def _zeros(count: int) -> AsyncIterator[bytes]:
    zero = bytes(PIECE)
    while count > 0:
        yield zero[: min(PIECE, count)]
        count -= PIECE


async def _gzip(pieces: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    packer = zlib.compressobj(wbits=31)
    async for piece in pieces:
        out = packer.compress(piece)
        if out:
            yield out
    yield packer.flush()


async def _export(job: _Job) -> web.StreamResponse:
    vm = job.ref("VM", "ref") if "ref" in job.query else job.ref("VM", "uuid")
    redirect = job.redirect(_vm_srs(job.pool, vm))
    if redirect is not None:
        return redirect
    compression = job.query.get("use_compression")
    if compression not in (None, "true", "gzip", "false"):
        raise _Refused(400, Failure("INTERNAL_ERROR", f"compression {compression} unavailable"))
    blob = job.store.blobs.get(vm)
    if blob is not None:
        pieces, total = _file_pieces(blob.path, blob.size), blob.size
    else:
        with job.pool.lock:
            snapshot = _xmlrpc.wire(plain_copy(job.pool.get("VM", vm)), job.pool.dialect)
        data = make_xva([{"class": "VM", "id": vm, "snapshot": snapshot}])
        pieces, total = _file_chunks(data), len(data)
    if compression in ("true", "gzip"):
        pieces = _gzip(pieces)
    disposition = 'attachment; filename="export.xva"'
    response = await job.answer(**{"Content-Disposition": disposition})
    await job.send(response, pieces, total)
    job.end(None)
    return response


async def _file_chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), PIECE):
        yield data[start : start + PIECE]


def _format(job: _Job) -> str:
    fmt = job.query.get("format", "raw").lower()
    if fmt not in _FORMATS:  # Importexport.Format.of_req: `Unknown
        raise _Refused(404, Failure("INTERNAL_ERROR", f"Unknown format {fmt}"))
    return fmt


async def _import_raw(job: _Job) -> web.StreamResponse:
    request = job.request
    if "vdi" in job.query:
        vdi = job.ref("VDI", "vdi")
        sr = str(job.pool.get("VDI", vdi)["SR"])
    elif "sr_id" in job.query or "sr_uuid" in job.query:
        sr, vdi = _sr_of(job), ""
    else:
        raise _Refused(400, Failure("VDI_MISSING", "", ""))
    redirect = job.redirect([sr])  # import_raw_vdi.ml import: before localhost_handler
    if redirect is not None:
        return redirect
    fmt = _format(job)
    encoding = request.headers.get("Transfer-Encoding")
    if encoding:
        raise _Refused(404, Failure("INTERNAL_ERROR", f"Cannot handle encoding: {encoding}"))
    length = request.content_length
    if not vdi and (fmt != "raw" or length is None):
        raise _Refused(400, Failure("INTERNAL_ERROR", "Not enough info supplied to import"))
    job.writer_role()
    if vdi and fmt == "raw" and length is not None:
        size = int(str(job.pool.get("VDI", vdi)["virtual_size"]))
        if length > size:
            raise _Refused(400, Failure("VDI_TOO_SMALL", vdi, length))
    response = await job.answer(**{"Content-Type": "application/octet-stream"})
    old = job.store.blobs.get(vdi) if vdi else None
    with job.store.writing(fmt) as (blob, file):
        await job.receive_rest(blob, file, length)
        if old is not None and fmt == "raw" and old.size > blob.size:
            _keep_tail(job.store, old, blob, file)  # a raw image is written from byte 0 on
    if not vdi:
        with job.pool.lock:
            fields = {"name_label": "Imported VDI", "SR": sr, "virtual_size": blob.size}
            vdi = job.pool.add("VDI", fields)
            link(job.pool, "SR", sr, "VDIs", vdi)
    job.store.keep(vdi, blob)
    job.end(None, vdi)
    return response


def _keep_tail(store: TransferStore, old: Blob, blob: Blob, file: BinaryIO) -> None:
    """Copy what ``old`` holds past ``blob``'s end into ``blob``."""
    with open(old.path, "rb") as source:
        source.seek(blob.size)
        while piece := source.read(PIECE):
            store.reserve(len(piece))
            blob.size += len(piece)
            file.write(piece)


async def _export_raw(job: _Job) -> web.StreamResponse:
    if "vdi" not in job.query:
        raise _Refused(400, Failure("INTERNAL_ERROR", "Missing vdi query parameter"))
    vdi = job.ref("VDI", "vdi")
    fmt = _format(job)
    record = job.pool.get("VDI", vdi)
    redirect = job.redirect([str(record["SR"])])
    if redirect is not None:
        return redirect
    size = int(str(record["virtual_size"]))
    blob = job.store.blobs.get(vdi)
    stored = blob.size if blob is not None else 0

    async def content() -> AsyncIterator[bytes]:
        if blob is not None:
            async for piece in _file_pieces(blob.path, blob.size):
                yield piece
        if fmt == "raw":
            async for piece in _zeros(size - stored):
                yield piece

    total = max(size, stored) if fmt == "raw" else stored
    name = f'attachment; filename="{record["uuid"]}.{fmt}"'
    response = await job.answer(**{"Content-Disposition": name})
    await job.send(response, content(), total)
    job.end(None)
    return response


def add_routes(app: web.Application, dispatcher: Dispatcher, store: TransferStore) -> None:
    """Serve the four transfer handlers on ``dispatcher``'s host (xapi's dialect only:
    xend had none)."""
    if dispatcher.pool.dialect != "xapi":
        return
    table: list[tuple[str, str, str, Callable[[_Job], Awaitable[web.StreamResponse]]]] = [
        ("PUT", "/import", "VM.import", _import),
        ("GET", "/export", "VM.export", _export),
        ("PUT", "/import_raw_vdi", "VDI.import", _import_raw),
        ("GET", "/export_raw_vdi", "VDI.export_raw_vdi", _export_raw),
    ]
    for method, path, label, work in table:

        async def handler(
            request: web.Request,
            label: str = label,
            work: Callable[[_Job], Awaitable[web.StreamResponse]] = work,
        ) -> web.StreamResponse:
            return await _run(request, dispatcher, store, label, work)

        app.router.add_route(method, path, handler)
