"""Transfers beside the RPC: VMs (XVA) and disks up with ``PUT`` and down with ``GET``.

xapi serves ``PUT /import``, ``GET /export``, ``PUT /import_raw_vdi`` and ``GET
/export_raw_vdi`` beside its RPC (``ocaml/xapi/import.ml``, ``export.ml``,
``import_raw_vdi.ml``, ``export_raw_vdi.ml``). Each transfer here runs under a task the
client makes (``task.create``) and names in the query (``task_id=``, with
``session_id=`` and the handler's own parameters); the handler reports on that task,
whose end says whether the transfer worked and, for an import, what it made (the new VM
refs, the VDI ref). It is awaited as a ``Task`` (``_task``: event.from, result typed,
destroyed at its end); on an error or a cancellation it is cancelled if still running
and destroyed (shielded, bounded by ``CLEANUP_SECONDS``).

The bytes stream through the client's own HTTP (``aioxend.transport``) one piece at a
time, so memory stays flat whatever the size: an upload with its ``Content-Length``
(xapi refuses chunked uploads), a download into a path or an async writer. xapi
answers a host that cannot reach the SR (or the VM's disks) with ``302 Found`` to one
that can; a download follows it, and an upload first sends an empty probe without the
task (as Xen Orchestra's client does; a disk's probe names an unknown format, so it
writes nothing), so the body goes once, straight to the right host, even from an
iterator that cannot be replayed.

Errors: an HTTP status other than 200 is the task's error if the task failed
(``XenAPIError``, the status error chained), else ``HTTPStatusError``; a connection the
server cut is likewise the task's error, else the ``TransportError``; a download that
ends short of its known length is a ``ReadError``; bad arguments are
``LocalProtocolError`` (a ``ValueError``). The session reference, which travels in the
query, is replaced by ``<redacted>`` in every message.
"""

from __future__ import annotations

import functools
import inspect
import io
import os
import queue
import threading
import urllib.parse
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager, suppress
from typing import (
    TYPE_CHECKING,
    Any,
    BinaryIO,
    Concatenate,
    Final,
    ParamSpec,
    Protocol,
    TypeVar,
    cast,
)

import anyio
import anyio.to_thread

from aioxend._log import redact
from aioxend.errors import (
    HTTPStatusError,
    LocalProtocolError,
    ReadError,
    TransportError,
    XenAPIError,
    XendError,
)
from aioxend.transport import Request, Response, Timeouts, Transport, parse_url
from aioxend.xenapi import _values as _v
from aioxend.xenapi._generated._refs import VDIRef, VMRef
from aioxend.xenapi._task import Task

if TYPE_CHECKING:
    from aioxend.xenapi._client import XenAPIClient
    from aioxend.xenapi._generated._refs import SRRef

__all__ = ["CLEANUP_SECONDS", "AsyncWriter", "Destination", "Progress", "Source", "Transfers"]

T = TypeVar("T")

CLEANUP_SECONDS: Final = 10.0
"""The longest cancelling and destroying a transfer's task may take after an error."""

Progress = Callable[[int, "int | None"], object]
"""Called with the bytes moved so far and the total (``None`` when not known)."""


class AsyncWriter(Protocol):
    """Where a download may go besides a path: anything with ``async write(bytes)``
    (``anyio.AsyncFile``, an anyio byte stream wrapped, a hashing sink of your own)."""

    async def write(self, data: bytes, /) -> object: ...


Source = str | os.PathLike[str] | BinaryIO | AsyncIterable[bytes]
Destination = str | os.PathLike[str] | BinaryIO | AsyncWriter

_REDIRECTS: Final = 3
_AHEAD: Final = 1 << 20
"""Bytes of a download received and not yet written to its file past which the loop waits."""


# --- the task -------------------------------------------------------------------------------
@asynccontextmanager
async def _task(
    client: XenAPIClient,
    method: str,
    decode: _v.Decoder[T],
    beside: Callable[[], Awaitable[object]] | None = None,
) -> AsyncIterator[tuple[Task[T], object]]:
    """A ``Task`` made for one transfer (``task.create``); awaiting it destroys it, and
    leaving with an error or a cancellation cancels (if still running) and destroys it,
    shielded, within ``CLEANUP_SECONDS``.

    ``beside`` is a call the transfer needs before it starts, made at the same time as
    ``task.create`` (one round trip fewer); its answer comes with the task (``None``
    without it). If either fails, the first failure is raised as itself (the other's
    in its notes), and a task made meanwhile is destroyed.
    """
    made: list[Task[T]] = []
    found: list[object] = [None]
    failures: list[Exception] = []

    async def create() -> None:
        ref = str(await client.call("task.create", f"aioxend {method}", ""))
        made.append(Task(client, ref, method, decode))

    async def other(call: Callable[[], Awaitable[object]]) -> None:
        try:
            found[0] = await call()
        except Exception as exc:
            failures.append(exc)

    try:
        if beside is None:
            await create()
        else:
            async with anyio.create_task_group() as group:
                group.start_soon(other, beside)
                try:
                    await create()
                except Exception as exc:
                    failures.insert(0, exc)
            if failures:
                first = failures[0]
                for also in failures[1:]:
                    first.add_note(f"also failed: {type(also).__name__}: {also}")
                raise first
        yield made[0], found[0]
    except BaseException:
        if made:
            task = made[0]
            with anyio.CancelScope(shield=True), anyio.move_on_after(CLEANUP_SECONDS):
                if task.status == "pending":
                    with suppress(XendError):  # OPERATION_NOT_ALLOWED: it ended meanwhile
                        await task.cancel()
                await task.destroy()
        raise


async def _blame(task: Task[T], wait: float) -> XendError | None:
    """What the task says went wrong, once it ends (within ``wait``), if it failed."""
    with anyio.CancelScope(shield=True):
        try:
            await task.wait(timeout=wait)
        except XenAPIError as exc:
            return exc
        except XendError:  # not ended, or unreadable: the caller's own error stands
            pass
    return None


# --- requests -------------------------------------------------------------------------------
def _target(path: str, query: Mapping[str, str]) -> str:
    return f"{path}?{urllib.parse.urlencode(query)}"


def _timeouts(client: XenAPIClient) -> Timeouts:
    """Each wait bounded by the client's timeout; the transfer as a whole, by nothing."""
    each = client._timeout
    return Timeouts(
        connect=10.0 if each is None else min(10.0, each),
        read=each,
        write=each,
        pool=each,
        total=None,
    )


async def _status_error(client: XenAPIClient, task: Task[T], response: Response) -> XendError:
    """The error a refusal stands for: the task's, else the status (its text chained)."""
    try:
        text = await response.aread(limit=4096)
    except XendError:
        text = b""
    where = f"{response.reason} ({task.method} at {client.url})"
    status = HTTPStatusError(response.status, where, text)
    error = await _blame(task, 2.0)
    if error is None:
        return status
    error.__cause__ = status
    return error


async def _probe(client: XenAPIClient, transport: Transport, target: str) -> str | None:
    """Where an upload to ``target`` belongs: the ``Location`` of a ``302``, or ``None``.

    An empty ``PUT`` without the task: the host answers with its redirect at once, or
    starts an empty import that fails on its own task, not ours.
    """
    request = Request("PUT", target, timeouts=_timeouts(client))
    async with await transport.send(request) as response:
        location = response.header("location")
        if response.status in (301, 302, 303, 307, 308) and location:
            return location
        return None


@asynccontextmanager
async def _origin(client: XenAPIClient, location: str | None) -> AsyncIterator[Transport]:
    """The client's transport, or one for the redirect's origin (closed afterwards)."""
    transport = client._open_wire().transport
    if location is None:
        yield transport
        return
    base = urllib.parse.urljoin(client.url, location)
    parts = urllib.parse.urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise TransportError(f"redirected to {location!r}, not an HTTP(S) URL")
    other = client._make_transport(parse_url(f"{parts.scheme}://{parts.netloc}/"))
    try:
        yield other
    finally:
        await other.aclose()


# --- uploads --------------------------------------------------------------------------------
@asynccontextmanager
async def _opened(source: Source, length: int | None) -> AsyncIterator[tuple[object, int]]:
    """The body to stream and its length, the file opened (and closed) for a path."""
    if isinstance(source, (str, os.PathLike)):
        file = await anyio.to_thread.run_sync(open, os.fspath(source), "rb")
        try:
            size = length if length is not None else os.fstat(file.fileno()).st_size
            yield file, size
        finally:
            file.close()
        return
    given: object = source  # checked as what a caller may pass, not as annotated
    if isinstance(given, io.TextIOBase):
        raise LocalProtocolError("the source is a text file: open it in binary mode ('rb')")
    if isinstance(source, AsyncIterable):
        if length is None:
            raise LocalProtocolError(
                "an async iterator of bytes needs length= (xapi refuses chunked uploads)"
            )
        yield source, length
        return
    if not callable(getattr(given, "read", None)) or isinstance(given, (bytes, bytearray)):
        raise LocalProtocolError(
            "the source must be a path, a binary file or an async iterator of bytes, "
            f"not {type(source).__name__}"
        )
    yield source, _remaining(source) if length is None else length


def _remaining(file: BinaryIO) -> int:
    """What is left of a seekable file from where it stands (``length=`` otherwise)."""
    try:
        if file.seekable():
            here = file.tell()
            end = file.seek(0, io.SEEK_END)
            file.seek(here)
            return end - here
    except (OSError, ValueError, AttributeError):
        pass
    raise LocalProtocolError("a file that cannot seek needs length= (its size)")


def _checked_length(length: int | None) -> None:
    if length is not None and (
        isinstance(length, bool) or not isinstance(length, int) or length < 0
    ):
        raise LocalProtocolError(f"length must be an int >= 0, not {length!r}")


async def _upload(
    client: XenAPIClient,
    method: str,
    path: str,
    query: dict[str, str],
    source: Source,
    length: int | None,
    progress: Progress | None,
    decode: _v.Decoder[T],
    probe: Mapping[str, str] = {},
) -> T:
    r"""``PUT`` ``source`` to ``path`` under a new task; the task's result, ``decode``\ d.

    ``probe`` overrides query parameters of the probe (so that it cannot make anything).
    """
    _checked_length(length)
    async with _opened(source, length) as (body, size), _task(client, method, decode) as (task, _):
        query = {"session_id": str(client.session_id), **query}
        probed = _target(path, {**query, **probe})
        location = await _probe(client, client._open_wire().transport, probed)
        sent = [0]

        def moved(count: int) -> None:
            sent[0] = count
            if progress is not None:
                progress(count, size)

        if location is not None:
            path = urllib.parse.urlsplit(location).path or path
        full = _target(path, {**query, "task_id": task.ref})
        request = Request(
            "PUT",
            full,
            stream=cast("BinaryIO | AsyncIterable[bytes]", body),
            content_length=size,
            progress=moved,
            timeouts=_timeouts(client),
        )
        async with _origin(client, location) as transport:
            try:
                async with await transport.send(request) as response:
                    if response.status != 200:
                        raise await _status_error(client, task, response)
                    await response.aread(limit=65536)  # xapi: it ends when the import has
            except TransportError as exc:
                error = await _blame(task, 2.0)
                if error is not None:
                    raise error from exc
                raise
        if sent[0] != size:
            error = await _blame(task, 2.0)
            raise error or ReadError(f"the server stopped reading after {sent[0]} of {size} bytes")
        return await task.wait(timeout=client._timeout)


# --- downloads ------------------------------------------------------------------------------
class _FileWriter:
    """A download's writes to a file, in a thread of their own beside the receiving loop.

    Each chunk goes to the thread's queue as it came (no copy) and the loop goes on
    receiving while the thread writes: the two overlap, where one worker-thread hop per
    batch made the loop wait for each write. Once more than ``_AHEAD`` bytes wait
    unwritten the loop waits (one hop) until the thread is down to half of it. A write's
    error is raised by the next ``put`` or by ``close``; ``abort`` drops what is queued.
    """

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self._write = write
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._written = threading.Condition()
        self._held = 0
        self._error: BaseException | None = None
        self._dropping = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="aioxend download", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None and not self._dropping:
                try:
                    _write_all(self._write, chunk)
                except BaseException as exc:  # raised in the loop by put or close
                    self._error = exc
            with self._written:
                self._held -= len(chunk)
                self._written.notify()

    def _down_to(self, mark: int) -> None:
        with self._written:
            while self._held > mark:
                self._written.wait()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    async def put(self, chunk: bytes) -> None:
        self._check()
        with self._written:
            self._held += len(chunk)
            full = self._held > _AHEAD
        self._queue.put(chunk)
        if full:
            await anyio.to_thread.run_sync(self._down_to, _AHEAD // 2)

    async def close(self) -> None:
        """Wait until every chunk is written (or dropped); a write's error is raised."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            await anyio.to_thread.run_sync(self._thread.join)
        self._check()

    async def abort(self) -> None:
        """Drop what is still queued and wait for the thread's end (shielded)."""
        self._dropping = True
        with anyio.CancelScope(shield=True):
            await self.close()


class _Sink:
    """Where a download's bytes go: a file (through a ``_FileWriter``) or an async writer
    (each chunk awaited as it comes)."""

    def __init__(self, write: Callable[[bytes], object], is_async: bool) -> None:
        self._write = cast("Callable[[bytes], Awaitable[object]]", write) if is_async else None
        self._file = None if is_async else _FileWriter(write)

    async def put(self, chunk: bytes) -> None:
        if self._write is not None:
            await self._write(chunk)
        elif self._file is not None:
            await self._file.put(chunk)

    async def flush(self) -> None:
        """Every byte put is written (a file's write errors raised here at the latest)."""
        if self._file is not None:
            await self._file.close()

    async def abort(self) -> None:
        if self._file is not None:
            with suppress(Exception):  # the download's own error is the one raised
                await self._file.abort()


def _write_all(write: Callable[[bytes], object], chunk: bytes) -> None:
    """Write a chunk whole: a raw (unbuffered) file may take part of one, and is given
    the rest; one that takes nothing is an error, never a silent gap in the file."""
    while chunk:
        done = write(chunk)
        if not isinstance(done, int) or done >= len(chunk):
            return
        if done <= 0:
            raise LocalProtocolError("the destination took no bytes (a non-blocking file?)")
        chunk = chunk[done:]


@asynccontextmanager
async def _sink(dest: Destination) -> AsyncIterator[_Sink]:
    """A sink for ``dest``; a path is created, and removed again if the download fails."""
    if isinstance(dest, (str, os.PathLike)):
        name = os.fspath(dest)
        file = await anyio.to_thread.run_sync(open, name, "wb")
        try:
            async with _aborting(_Sink(file.write, False)) as sink:
                yield sink
        except BaseException:
            file.close()
            with anyio.CancelScope(shield=True):  # also when the download was cancelled
                await anyio.to_thread.run_sync(_unlink, name)
            raise
        file.close()
        return
    given: object = dest  # checked as what a caller may pass, not as annotated
    if isinstance(given, io.TextIOBase):
        raise LocalProtocolError("the destination is a text file: open it in binary mode ('wb')")
    write = getattr(dest, "write", None)
    if not callable(write):
        raise LocalProtocolError(
            "the destination must be a path, a binary file or an async writer, "
            f"not {type(dest).__name__}"
        )
    # a file's write runs in a thread; an async writer's is awaited
    is_async = not isinstance(dest, io.IOBase) and inspect.iscoroutinefunction(write)
    async with _aborting(_Sink(write, is_async)) as sink:
        yield sink


@asynccontextmanager
async def _aborting(sink: _Sink) -> AsyncIterator[_Sink]:
    """``sink``, its writer stopped before the file is closed: what is queued dropped if
    the download fails, else written."""
    try:
        yield sink
    except BaseException:
        await sink.abort()
        raise
    await sink.flush()


def _unlink(name: str) -> None:
    with suppress(OSError):
        os.unlink(name)


async def _download(
    client: XenAPIClient,
    method: str,
    path: str,
    query: dict[str, str],
    dest: Destination,
    size: Callable[[], Awaitable[int]] | None,
    progress: Progress | None,
) -> int:
    """``GET`` ``path`` under a new task into ``dest``; the bytes written. ``size`` reads
    how many bytes are to come (while the task is made), where the answer does not say."""
    async with _sink(dest) as sink, _task(client, method, _v.void, size) as (task, known):
        total = known if isinstance(known, int) else None
        query = {"session_id": str(client.session_id), "task_id": task.ref, **query}
        request = Request(
            "GET",
            _target(path, query),
            timeouts=_timeouts(client),
            follow_redirects=_REDIRECTS,
            unbounded_body=True,
        )
        done = 0
        transport = client._open_wire().transport
        try:
            async with await transport.send(request) as response:
                if response.status != 200:
                    raise await _status_error(client, task, response)
                length = response.header("content-length")
                expected = int(length) if length and length.isdigit() else total
                async for chunk in response.aiter_bytes():
                    await sink.put(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, expected)
                    # Let go of the chunk before the next read: freed now, its memory is
                    # what the next read's bytes get, where one still held makes glibc
                    # grow and trim the heap for each read (page faults: some 40 % of a
                    # download's CPU time)
                    del chunk
                await sink.flush()
        except TransportError as exc:
            error = await _blame(task, 2.0)
            if error is not None:
                raise error from exc
            raise
        if expected is not None and done != expected:
            error = await _blame(task, 2.0)
            raise error or ReadError(
                f"the server closed the connection after {done} of {expected} bytes"
            )
        await task.wait(timeout=client._timeout)
        return done


# --- redaction and the four operations -------------------------------------------------------
def _redact(exc: BaseException, secret: str | None) -> None:
    """Replace ``secret`` (in any spelling ``aioxend._log.redact`` knows) in the messages
    of ``exc`` and of the errors it chains."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and secret:
        seen.add(id(current))
        current.args = tuple(
            redact(a, (secret,)) if isinstance(a, str) else a for a in current.args
        )
        current = current.__cause__ or current.__context__


@asynccontextmanager
async def _operation(client: XenAPIClient, operation: str) -> AsyncIterator[None]:
    """Errors of one transfer located (operation, URL) and with the session redacted."""
    try:
        yield
    except XendError as exc:
        _redact(exc, client.session_id)
        exc.locate(operation, None, client.url, client.url)
        raise


def _ref_text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise LocalProtocolError(f"{what} must be a reference (a non-empty str), not {value!r}")
    return value


def _format(fmt: object) -> str:
    if fmt not in ("raw", "vhd"):
        raise LocalProtocolError(f"format must be 'raw' or 'vhd', not {fmt!r}")
    return str(fmt)


_COMPRESSION: Final[dict[object, str | None]] = {
    None: None,
    False: None,
    True: "true",
    "gzip": "gzip",
    "zstd": "zstd",
}


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _observed(
    method: Callable[Concatenate[Transfers, _P], Coroutine[Any, Any, _R]],
) -> Callable[Concatenate[Transfers, _P], Coroutine[Any, Any, _R]]:
    """A transfer observed as one call of the client's (its log lines and hooks), named
    after the method, its target the ref an export reads."""

    @functools.wraps(method)
    async def observed(self: Transfers, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        observer = cast("XenAPIClient", self)._observer
        work = method(self, *args, **kwargs)
        if not observer.on():
            return await work
        target = args[0] if method.__name__.startswith("export") and args else None
        return await observer.run(method.__name__, target, work)

    return observed


class Transfers:
    """The transfer methods of ``XenAPIClient`` (see the module docstring)."""

    @_observed
    async def import_vm(
        self,
        source: Source,
        *,
        sr: SRRef | None = None,
        force: bool = False,
        restore: bool = False,
        length: int | None = None,
        progress: Progress | None = None,
    ) -> list[VMRef]:
        """Import an XVA (``PUT /import``); the refs of the VMs it made.

        ``source`` is a path, a binary file (its size from where it stands) or an async
        iterator of bytes, which needs ``length=`` (the bytes it will yield). ``sr`` is
        where the disks go (the pool's default SR if None); ``restore`` keeps the VM's
        uuid (replacing a halted VM that has it), ``force`` ignores what xapi would
        refuse (checksums, a running VM to replace). ``progress(sent, total)``.
        """
        client = cast("XenAPIClient", self)
        async with _operation(client, "import_vm"):
            query = {"sr_id": _ref_text(sr, "sr")} if sr is not None else {}
            if force:
                query["force"] = "true"
            if restore:
                query["restore"] = "true"
            refs: _v.Decoder[list[VMRef]] = _v.list_of(_v.ref(VMRef))
            return await _upload(
                client, "VM.import", "/import", query, source, length, progress, refs
            )

    @_observed
    async def export_vm(
        self,
        ref: VMRef,
        dest: Destination,
        *,
        compress: str | bool | None = None,
        progress: Progress | None = None,
    ) -> int:
        """Export a VM as an XVA (``GET /export``) into ``dest``; the bytes written.

        ``dest`` is a path (created; removed again if the export fails), a binary file
        or an async writer (``async write(bytes)``). ``compress``: ``"gzip"`` (or
        True) or ``"zstd"``, done by the host. ``progress(written, total)``, the total
        ``None`` (xapi does not say the size of an export).
        """
        client = cast("XenAPIClient", self)
        async with _operation(client, "export_vm"):
            query = {"ref": _ref_text(ref, "ref")}
            if compress not in _COMPRESSION:
                raise LocalProtocolError(
                    f"compress must be None, True, 'gzip' or 'zstd', not {compress!r}"
                )
            choice = _COMPRESSION[compress]
            if choice is not None:
                query["use_compression"] = choice
            return await _download(client, "VM.export", "/export", query, dest, None, progress)

    @_observed
    async def import_raw_vdi(
        self,
        source: Source,
        vdi: VDIRef | None = None,
        *,
        sr: SRRef | None = None,
        format: str = "raw",
        length: int | None = None,
        progress: Progress | None = None,
    ) -> VDIRef:
        """Write a disk image into ``vdi`` (``PUT /import_raw_vdi``), or into a new VDI
        of the image's size in ``sr`` (raw images only); the VDI's ref.

        ``format`` is ``"raw"`` or ``"vhd"``; ``source``, ``length`` and ``progress`` as
        for ``import_vm``.
        """
        client = cast("XenAPIClient", self)
        async with _operation(client, "import_raw_vdi"):
            query = {"format": _format(format)}
            if vdi is not None:
                query["vdi"] = _ref_text(vdi, "vdi")
            elif sr is None:
                raise LocalProtocolError("import_raw_vdi needs vdi= or sr=")
            elif format != "raw":
                raise LocalProtocolError("a new VDI (sr=) can be made from a raw image only")
            else:
                query["sr_id"] = _ref_text(sr, "sr")
            # The probe names a format xapi does not know, refused (404) before a VDI is
            # made or written (import_raw_vdi.ml localhost_handler); the redirect
            # comes before that (import_raw_vdi.ml import).
            probe = {"format": "probe"}
            path = "/import_raw_vdi"
            made: _v.Decoder[VDIRef] = _v.ref(VDIRef)
            return await _upload(
                client, "VDI.import", path, query, source, length, progress, made, probe
            )

    @_observed
    async def export_raw_vdi(
        self,
        vdi: VDIRef,
        dest: Destination,
        *,
        format: str = "raw",
        progress: Progress | None = None,
    ) -> int:
        """Read a disk (``GET /export_raw_vdi``) into ``dest``; the bytes written.

        A raw image is exactly the VDI's ``virtual_size``: one that ends short raises
        ``ReadError``. ``dest`` and ``progress`` as for ``export_vm``.
        """
        client = cast("XenAPIClient", self)
        async with _operation(client, "export_raw_vdi"):
            query = {"vdi": _ref_text(vdi, "vdi"), "format": _format(format)}
            size: Callable[[], Awaitable[int]] | None = None
            if format == "raw":

                async def virtual_size() -> int:
                    answer = await client.call("VDI.get_virtual_size", vdi, read=True)
                    return _v.result("VDI.get_virtual_size", _v.integer, answer)

                size = virtual_size

            path = "/export_raw_vdi"
            return await _download(client, "VDI.export_raw_vdi", path, query, dest, size, progress)
