"""Import and export over HTTP beside the RPC, against the emulator: XVA and raw-disk round
trips over both wires and the UNIX socket, the 302 between pool members, progress, the
task's life (made, named, destroyed; cancelled with the transfer), and every bad input
and refusal as an exception of our tree, with the session kept out of sight."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import io
import logging
import os
import shutil
import tarfile
import threading
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import BinaryIO, cast

import anyio
import pytest

from aioxend.emulator.xenapi import XenAPIServer
from aioxend.emulator.xenapi._xva import generated_xva, make_xva
from aioxend.errors import (
    HTTPStatusError,
    LocalProtocolError,
    ProtocolError,
    ReadError,
    ReadTimeout,
    XendError,
)
from aioxend.xenapi import SRRef, VDIRef, VMRef, XenAPIClient, connect, errors


@pytest.fixture(scope="module")
def pool() -> Iterator[XenAPIServer]:
    """A two-host pool on TCP and a UNIX socket (each host has its own local SR)."""
    folder = f"/tmp/xfer{uuid.uuid4().hex[:12]}"
    os.mkdir(folder, 0o700)
    try:
        with XenAPIServer.in_thread(
            tcp="127.0.0.1:0", unix=f"{folder}/xapi.sock", hosts=2, vms=3, seed=3
        ) as server:
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def login(url: str, protocol: str = "jsonrpc", user: str = "root") -> XenAPIClient:
    password = {"root": "xenroot", "reader": "reader"}[user]
    return connect(url, username=user, password=password, protocol=protocol)  # type: ignore[arg-type]


def srs(server: XenAPIServer) -> tuple[SRRef, SRRef]:
    """The master's local SR and the member's."""
    with server.pool.lock:
        by_host = {
            server.pool.get("PBD", record["PBDs"][0])["host"]: ref  # type: ignore[index]
            for ref, record in server.pool.table("SR").items()
        }
    return SRRef(by_host[server.pool.hosts[0]]), SRRef(by_host[server.pool.hosts[1]])


def pending_tasks(server: XenAPIServer) -> list[str]:
    with server.pool.lock:
        return [r for r, t in server.pool.table("task").items() if t["status"] == "pending"]


def task_count(server: XenAPIServer) -> int:
    with server.pool.lock:
        return len(server.pool.table("task"))


async def chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class Digest:
    """An async writer that keeps only a hash and a count."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.size = 0

    async def write(self, data: bytes) -> None:
        self.hash.update(data)
        self.size += len(data)


async def generated_digest(disk: int, name: str) -> tuple[int, str]:
    length, pieces = generated_xva(disk, name=name)
    digest = Digest()
    async for piece in pieces:
        await digest.write(piece)
    return length, digest.hash.hexdigest()


# --- round trips ------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", ["jsonrpc", "xmlrpc"])
async def test_export_then_import_round_trips_a_vm_through_a_file(
    pool: XenAPIServer, protocol: str, tmp_path: Path
) -> None:
    before = task_count(pool)
    async with login(pool.url, protocol) as xapi:
        vm = VMRef(pool.pool.vm("vm2"))
        path = tmp_path / "vm2.xva"
        seen: list[tuple[int, int | None]] = []
        size = await xapi.export_vm(vm, path, progress=lambda d, t: seen.append((d, t)))
        assert size == path.stat().st_size > 1024
        assert seen[-1] == (size, None)
        [copy] = await xapi.import_vm(path)
        record = await xapi.VM.get_record(copy)
        assert record.name_label == "vm2"
        assert copy != vm
        again = tmp_path / "copy.xva"
        assert await xapi.export_vm(copy, again) == size
        assert again.read_bytes() == path.read_bytes()  # an imported VM keeps its XVA
    assert task_count(pool) == before  # every transfer's task destroyed


async def test_a_generated_xva_streams_in_from_an_iterator_and_back_out(
    pool: XenAPIServer,
) -> None:
    disk = 3 * 1024 * 1024 + 5
    length, expected = await generated_digest(disk, "streamed")
    _, pieces = generated_xva(disk, name="streamed")
    async with login(pool.urls[1], "xmlrpc") as xapi:  # the UNIX socket
        sent: list[tuple[int, int | None]] = []
        [vm] = await xapi.import_vm(
            pieces, length=length, progress=lambda d, t: sent.append((d, t))
        )
        assert sent[-1] == (length, length)
        assert [d for d, _ in sent] == sorted(d for d, _ in sent)
        record = await xapi.VM.get_record(vm)
        assert record.name_label == "streamed"
        [vbd] = record.VBDs
        vdi = await xapi.VBD.get_VDI(vbd)
        assert await xapi.VDI.get_virtual_size(vdi) == disk
        digest = Digest()
        assert await xapi.export_vm(vm, digest) == length
        assert digest.hash.hexdigest() == expected


async def test_restore_keeps_the_uuid_and_replaces_a_halted_vm(pool: XenAPIServer) -> None:
    async with login(pool.url) as xapi:
        vm = VMRef(pool.pool.vm("vm2"))  # halted
        uuid_ = await xapi.VM.get_uuid(vm)
        data = io.BytesIO()
        await xapi.export_vm(vm, data)
        data.seek(0)
        [restored] = await xapi.import_vm(data, restore=True)
        assert await xapi.VM.get_uuid(restored) == uuid_
        assert vm not in await xapi.VM.get_all()
        running = VMRef(pool.pool.vm("vm1"))
        data = io.BytesIO()
        await xapi.export_vm(running, data)
        with pytest.raises(errors.VmBadPowerState):
            await xapi.import_vm(io.BytesIO(data.getvalue()), restore=True)
        assert await xapi.import_vm(io.BytesIO(data.getvalue()), restore=True, force=True) == []


async def test_compressed_export_is_gzip(pool: XenAPIServer) -> None:
    import gzip

    async with login(pool.url) as xapi:
        vm = VMRef(pool.pool.vm("vm3"))
        plain, packed = io.BytesIO(), io.BytesIO()
        await xapi.export_vm(vm, plain)
        await xapi.export_vm(vm, packed, compress="gzip")
        assert gzip.decompress(packed.getvalue()) == plain.getvalue()
        with pytest.raises(errors.XenAPIError) as zstd:  # xapi has it; the emulator not
            await xapi.export_vm(vm, io.BytesIO(), compress="zstd")
        assert zstd.value.code == "INTERNAL_ERROR"
        assert isinstance(zstd.value.__cause__, HTTPStatusError)


@pytest.mark.parametrize("protocol", ["jsonrpc", "xmlrpc"])
async def test_raw_disks_round_trip_into_new_and_existing_vdis(
    pool: XenAPIServer, protocol: str, tmp_path: Path
) -> None:
    image = os.urandom(1_000_003)
    local, _ = srs(pool)
    async with login(pool.url, protocol) as xapi:
        vdi = await xapi.import_raw_vdi(chunks(image), sr=local, length=len(image))
        assert await xapi.VDI.get_virtual_size(vdi) == len(image)
        assert await xapi.VDI.get_SR(vdi) == local
        out = tmp_path / "disk.raw"
        seen: list[tuple[int, int | None]] = []
        assert await xapi.export_raw_vdi(
            vdi, out, progress=lambda d, t: seen.append((d, t))
        ) == len(image)
        assert out.read_bytes() == image
        assert seen[-1] == (len(image), len(image))
        smaller = image[:4096]
        assert await xapi.import_raw_vdi(io.BytesIO(smaller), vdi) == vdi
        digest = Digest()
        await xapi.export_raw_vdi(vdi, digest)  # written from byte 0, the rest kept
        overwritten = smaller + image[len(smaller) :]
        assert digest.hash.hexdigest() == hashlib.sha256(overwritten).hexdigest()
        fresh = await xapi.VDI.create(
            {"name_label": "empty", "SR": local, "virtual_size": 10_000, "type": "user"}
        )
        assert await xapi.import_raw_vdi(io.BytesIO(b"abc"), fresh) == fresh
        out = tmp_path / "fresh.raw"
        await xapi.export_raw_vdi(fresh, out)
        assert out.read_bytes() == b"abc" + bytes(10_000 - 3)  # padded to the disk's size
        with pytest.raises(errors.XenAPIError) as small:
            await xapi.import_raw_vdi(io.BytesIO(image + b"x"), vdi)
        assert small.value.code == "VDI_TOO_SMALL"


# --- the pool member's SR: 302 ------------------------------------------------------------------
async def test_transfers_to_a_members_sr_follow_the_302(pool: XenAPIServer) -> None:
    _, far = srs(pool)
    async with login(pool.url) as xapi:
        image = b"disk on the member" * 5000
        vdi = await xapi.import_raw_vdi(chunks(image, 1000), sr=far, length=len(image))
        assert await xapi.VDI.get_SR(vdi) == far
        out = io.BytesIO()
        await xapi.export_raw_vdi(vdi, out)
        assert out.getvalue() == image
        length, pieces = generated_xva(100_000, name="on the member")
        [vm] = await xapi.import_vm(pieces, sr=far, length=length)
        [vbd] = await xapi.VM.get_VBDs(vm)
        assert await xapi.VDI.get_SR(await xapi.VBD.get_VDI(vbd)) == far
        digest = Digest()
        assert await xapi.export_vm(vm, digest) == length
    assert pending_tasks(pool) == []


# --- cancellation -------------------------------------------------------------------------------
async def test_cancelling_an_upload_cancels_and_destroys_its_task(pool: XenAPIServer) -> None:
    progressed = anyio.Event()

    async def slow() -> AsyncIterator[bytes]:
        _, pieces = generated_xva(64 * 1024 * 1024)
        async for piece in pieces:
            yield piece
            progressed.set()
            await anyio.sleep(0.05)

    before = task_count(pool)
    used = pool.store.used
    async with login(pool.url) as xapi:
        length, _ = generated_xva(64 * 1024 * 1024)
        with anyio.move_on_after(10) as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: xapi.import_vm(slow(), length=length))
                await progressed.wait()
                await anyio.sleep(0.2)
                tg.cancel_scope.cancel()
        assert not scope.cancelled_caught
        assert await xapi.VM.get_by_name_label("generated") == []
        assert len(await xapi.VM.get_all()) > 0  # the client is still healthy
    for _ in range(50):
        if task_count(pool) == before and pool.store.used == used:
            break
        await anyio.sleep(0.05)
    assert task_count(pool) == before
    assert pool.store.used == used  # the partial upload was dropped


async def test_a_task_cancelled_by_someone_else_ends_the_download(pool: XenAPIServer) -> None:
    local, _ = srs(pool)
    async with login(pool.url) as xapi, login(pool.url) as other:
        vdi = await xapi.VDI.create(
            {"name_label": "big", "SR": local, "virtual_size": 8 << 30, "type": "user"}
        )
        cancelled = False

        class Canceller(Digest):
            async def write(self, data: bytes) -> None:
                nonlocal cancelled
                await super().write(data)
                if not cancelled and self.size > 4 << 20:
                    cancelled = True
                    [task] = [
                        t
                        for t in await other.task.get_all()
                        if (await other.task.get_status(t)).value == "pending"
                    ]
                    await other.task.cancel(task)

        with pytest.raises(errors.TaskCancelled):
            await xapi.export_raw_vdi(vdi, Canceller())
    assert pending_tasks(pool) == []


# --- refusals and bad input ---------------------------------------------------------------------
async def test_bad_sources_and_destinations_are_refused_before_anything_is_sent(
    pool: XenAPIServer, tmp_path: Path
) -> None:
    before = task_count(pool)
    async with login(pool.url) as xapi:
        vm = VMRef(pool.pool.vm("vm1"))
        with pytest.raises(LocalProtocolError, match="length="):
            await xapi.import_vm(chunks(b"x"))
        with (tmp_path / "t").open("w") as text, pytest.raises(LocalProtocolError, match="binary"):
            await xapi.import_vm(text)  # type: ignore[arg-type]
        with pytest.raises(LocalProtocolError, match="must be a path"):
            await xapi.import_vm(b"raw bytes")  # type: ignore[arg-type]
        with pytest.raises(LocalProtocolError, match="length must be"):
            await xapi.import_vm(io.BytesIO(b""), length=-1)
        with pytest.raises(LocalProtocolError, match="must be a path"):
            await xapi.export_vm(vm, 42)  # type: ignore[arg-type]
        with pytest.raises(LocalProtocolError, match="compress"):
            await xapi.export_vm(vm, io.BytesIO(), compress="lz4")
        with pytest.raises(LocalProtocolError, match="format"):
            await xapi.export_raw_vdi(VDIRef("x"), io.BytesIO(), format="qcow9")
        with pytest.raises(LocalProtocolError, match="vdi= or sr="):
            await xapi.import_raw_vdi(io.BytesIO(b"x"))
        with pytest.raises(LocalProtocolError, match="reference"):
            await xapi.export_vm(VMRef(""), io.BytesIO())
        with pytest.raises(FileNotFoundError):
            await xapi.import_vm(tmp_path / "missing.xva")
    assert task_count(pool) == before


async def test_a_short_iterator_fails_and_cleans_up(pool: XenAPIServer) -> None:
    before = task_count(pool)
    async with login(pool.url) as xapi:
        length, pieces = generated_xva(200_000)
        with pytest.raises(LocalProtocolError, match="ended after"):
            await xapi.import_vm(pieces, length=length + 10)
    assert task_count(pool) == before


async def test_what_the_server_refuses_is_the_tasks_error(
    pool: XenAPIServer, tmp_path: Path
) -> None:
    async with login(pool.url) as xapi:
        with pytest.raises(errors.XenAPIError) as bad:
            await xapi.import_vm(io.BytesIO(b"not an xva" * 100))
        assert bad.value.code == "IMPORT_ERROR_UNEXPECTED_FILE"
        gone = tmp_path / "gone.xva"
        with pytest.raises(errors.HandleInvalid) as missing:
            await xapi.export_vm(VMRef("OpaqueRef:none"), gone)
        assert not gone.exists()  # the file a failed export began is removed
        assert isinstance(missing.value.__cause__, HTTPStatusError)
        assert missing.value.__cause__.status == 404
        not_a_header = io.BytesIO()
        with tarfile.open(fileobj=not_a_header, mode="w") as tar:
            info = tarfile.TarInfo("ova.xml")
            info.size = 5
            tar.addfile(info, io.BytesIO(b"<a/>\n"))
        with pytest.raises(errors.XenAPIError) as junk:
            await xapi.import_vm(io.BytesIO(not_a_header.getvalue()))
        assert junk.value.code == "IMPORT_ERROR"
    async with login(pool.url, user="reader") as reader:
        with pytest.raises(errors.RbacPermissionDenied):
            await reader.import_vm(io.BytesIO(make_xva([])))


async def test_a_full_store_cuts_the_upload_and_says_sr_full(tmp_path: Path) -> None:
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", transfer_limit=2_000_000) as server:
        async with login(server.url) as xapi:
            length, pieces = generated_xva(16 * 1024 * 1024)
            with pytest.raises(errors.XenAPIError) as full:
                await xapi.import_vm(pieces, length=length)
            assert full.value.code == "SR_FULL"
            assert full.value.params[1] == "2000000"
        assert server.store.used == 0
    folder = server.store._folder
    assert folder is None


async def test_the_session_never_shows_in_errors(pool: XenAPIServer) -> None:
    async with login(pool.url) as xapi:
        session = xapi.session_id
        assert session is not None
        for attempt in (
            xapi.export_vm(VMRef("OpaqueRef:none"), io.BytesIO()),
            xapi.export_raw_vdi(VDIRef("OpaqueRef:none"), io.BytesIO(), format="vhd"),
        ):
            with pytest.raises(XendError) as caught:
                await attempt
            error: BaseException | None = caught.value
            while error is not None:
                assert session not in str(error)
                assert session not in repr(error)
                assert urllib.parse.quote(session, safe="") not in str(error)
                error = error.__cause__ or error.__context__


async def test_xend_has_no_transfer_handlers() -> None:
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", dialect="xend") as server:
        async with connect(server.url, username="root", password="xenroot") as xapi:
            vm = VMRef(server.pool.vm("vm1"))
            with pytest.raises(HTTPStatusError) as missing:
                await xapi.export_vm(vm, io.BytesIO())
            assert missing.value.status == 404


def test_the_emulator_refuses_chunked_uploads_as_xapi_does(pool: XenAPIServer) -> None:
    """import.ml: 403 and IMPORT_ERROR_CANNOT_HANDLE_CHUNKED on the task; import_raw_vdi.ml:
    404 and INTERNAL_ERROR [Cannot handle encoding: chunked]."""
    import XenAPI  # type: ignore[import-untyped]

    sdk = XenAPI.Session(pool.url)
    sdk.xenapi.login_with_password("root", "xenroot", "1.0", "chunked-test")
    try:
        session = sdk._session
        local, _ = srs(pool)
        port = urllib.parse.urlsplit(pool.url).port
        for path, extra, status, code in (
            ("/import", "", 403, "IMPORT_ERROR_CANNOT_HANDLE_CHUNKED"),
            ("/import_raw_vdi", f"&sr_id={local}", 404, "INTERNAL_ERROR"),
        ):
            task = sdk.xenapi.task.create("chunked", "")
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request(
                "PUT",
                f"{path}?session_id={session}&task_id={task}{extra}",
                body=iter([b"abc", b"def"]),
                encode_chunked=True,
            )
            assert conn.getresponse().status == status
            conn.close()
            record = sdk.xenapi.task.get_record(task)
            assert record["status"] == "failure"
            assert record["error_info"][0] == code
            sdk.xenapi.task.destroy(task)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/export?session_id=OpaqueRef:wrong&ref=x")
        assert conn.getresponse().status == 401
        conn.close()
    finally:
        sdk.xenapi.session.logout()


def test_transfers_run_on_trio(pool: XenAPIServer, tmp_path: Path) -> None:
    import trio

    before = task_count(pool)
    local, far = srs(pool)

    async def main() -> None:
        async with login(pool.url) as xapi:
            vm = VMRef(pool.pool.vm("vm3"))
            size = await xapi.export_vm(vm, tmp_path / "vm3.xva")
            [copy] = await xapi.import_vm(tmp_path / "vm3.xva")
            assert await xapi.VM.get_name_label(copy) == "vm3"
            assert await xapi.export_vm(copy, Digest()) == size
            image = b"trio" * 25_000
            vdi = await xapi.import_raw_vdi(chunks(image), sr=far, length=len(image))
            out = io.BytesIO()
            await xapi.export_raw_vdi(vdi, out)
            assert out.getvalue() == image
            length, pieces = generated_xva(32 * 1024 * 1024, name="trio-cancelled")

            async def slow() -> AsyncIterator[bytes]:
                async for piece in pieces:
                    yield piece
                    await trio.sleep(0.05)

            with trio.move_on_after(0.5) as scope:
                await xapi.import_vm(slow(), length=length, sr=local)
            assert scope.cancelled_caught
            assert await xapi.VM.get_by_name_label("trio-cancelled") == []

    trio.run(main)
    assert task_count(pool) == before


async def test_a_raw_export_short_of_the_disks_size_is_a_read_error(
    pool: XenAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    local, _ = srs(pool)
    async with login(pool.url) as xapi:
        vdi = await xapi.VDI.create(
            {"name_label": "short", "SR": local, "virtual_size": 100_000, "type": "user"}
        )
        real = xapi.call

        async def larger(method: str, *params: object, **options: object) -> object:
            answer = await real(method, *params, **options)  # type: ignore[arg-type]
            return 100_001 if method == "VDI.get_virtual_size" else answer

        monkeypatch.setattr(xapi, "call", larger)
        with pytest.raises(ReadError, match="after 100000 of 100001 bytes"):
            await xapi.export_raw_vdi(vdi, io.BytesIO())
    assert pending_tasks(pool) == []


class _Dribble(io.RawIOBase):
    """A raw file that takes at most ``most`` bytes per write (as a pipe or a socket may),
    or, with ``most=0``, nothing at all."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        piece = bytes(b)[: self.most]  # type: ignore[call-overload]
        self.data += piece
        return len(piece)


async def test_a_raw_file_that_takes_part_of_each_write_gets_every_byte(
    pool: XenAPIServer,
) -> None:
    image = os.urandom(3 * 1024 * 1024 + 5)
    local, _ = srs(pool)
    async with login(pool.url) as xapi:
        vdi = await xapi.import_raw_vdi(io.BytesIO(image), sr=local)
        dribble = _Dribble(100_000)
        assert await xapi.export_raw_vdi(vdi, cast("BinaryIO", dribble)) == len(image)
        assert bytes(dribble.data) == image
        with pytest.raises(LocalProtocolError, match="took no bytes"):
            await xapi.export_raw_vdi(vdi, cast("BinaryIO", _Dribble(0)))
    assert pending_tasks(pool) == []


def writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "aioxend download"]


class _Held(io.RawIOBase):
    """A raw file whose first write waits (5 s at most) until ``release`` is set."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.release = threading.Event()
        self.waited: bool | None = None

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        if self.waited is None:
            self.waited = self.release.wait(5)
        piece = bytes(b)  # type: ignore[call-overload]
        self.data += piece
        return len(piece)


async def test_a_download_goes_on_receiving_while_its_file_writes(
    pool: XenAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aioxend.xenapi import _transfer

    monkeypatch.setattr(_transfer, "_AHEAD", 64 << 20)  # room for the whole body
    image = os.urandom(4 * 1024 * 1024)
    local, _ = srs(pool)
    held = _Held()

    def progress(done: int, total: int | None) -> None:
        if done == len(image):
            held.release.set()

    async with login(pool.url) as xapi:
        vdi = await xapi.import_raw_vdi(io.BytesIO(image), sr=local)
        got = await xapi.export_raw_vdi(vdi, cast("BinaryIO", held), progress=progress)
    assert held.waited is True  # all of it came while the first write was held
    assert got == len(image)
    assert bytes(held.data) == image
    assert writer_threads() == []


class _Failing(io.RawIOBase):
    """A raw file that fails its second write, as a full disk does."""

    def __init__(self) -> None:
        self.writes = 0

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        self.writes += 1
        if self.writes == 2:
            raise OSError(28, "No space left on device")
        return len(b)  # type: ignore[arg-type]


async def test_a_write_that_fails_ends_the_download_with_its_error(
    pool: XenAPIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local, _ = srs(pool)
    async with login(pool.url) as xapi:
        vdi = await xapi.VDI.create(
            {"name_label": "full", "SR": local, "virtual_size": 64 << 20, "type": "user"}
        )
        with pytest.raises(OSError, match="No space left"):
            await xapi.export_raw_vdi(vdi, cast("BinaryIO", _Failing()))
        opened: list[_Failing] = []

        def failing_open(name: str, mode: str) -> _Failing:
            opened.append(_Failing())
            return opened[-1]

        from aioxend.xenapi import _transfer

        out = tmp_path / "full.raw"
        monkeypatch.setattr(_transfer, "open", failing_open, raising=False)
        with pytest.raises(OSError, match="No space left"):
            await xapi.export_raw_vdi(vdi, out)
        assert opened[0].closed
        await xapi.VDI.destroy(vdi)
    assert writer_threads() == []
    assert pending_tasks(pool) == []


async def test_a_download_that_stalls_times_out_and_cleans_up(
    pool: XenAPIServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from aioxend.emulator.xenapi import _transfer as served

    async def stalled(count: int) -> AsyncIterator[bytes]:
        yield bytes(65536)  # some bytes, then nothing more, the connection left open
        await asyncio.sleep(30)

    monkeypatch.setattr(served, "_zeros", stalled)
    local, _ = srs(pool)
    async with connect(pool.url, username="root", password="xenroot", timeout=0.5) as xapi:
        vdi = await xapi.VDI.create(
            {"name_label": "stalls", "SR": local, "virtual_size": 1 << 20, "type": "user"}
        )
        out = tmp_path / "stalled.raw"
        with anyio.fail_after(10), pytest.raises(ReadTimeout, match="reading body"):
            await xapi.export_raw_vdi(vdi, out)
        assert not out.exists()
    assert pending_tasks(pool) == []


def test_the_emulator_checks_the_task_it_is_given(pool: XenAPIServer) -> None:
    import XenAPI

    sdk = XenAPI.Session(pool.url)
    sdk.xenapi.login_with_password("root", "xenroot", "1.0", "task-test")
    try:
        vm = pool.pool.vm("vm1")
        port = urllib.parse.urlsplit(pool.url).port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", f"/export?session_id={sdk._session}&task_id=OpaqueRef:no&ref={vm}")
        assert conn.getresponse().status == 404
        conn.close()
        task = sdk.xenapi.task.create("export", "")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", f"/export?session_id={sdk._session}&task_id={task}&ref={vm}")
        answer = conn.getresponse()
        assert answer.status == 200
        assert answer.getheader("task-id") == task
        assert answer.getheader("content-length") is None  # it ends with the connection
        body = answer.read()
        conn.close()
        assert body[257:262] == b"ustar"  # a tar archive, ova.xml first
        record = sdk.xenapi.task.get_record(task)
        assert (record["status"], record["progress"]) == ("success", 1.0)
        sdk.xenapi.task.destroy(task)
    finally:
        sdk.xenapi.session.logout()


async def test_a_cancelled_download_removes_its_file_and_its_task(
    pool: XenAPIServer, tmp_path: Path
) -> None:
    local, _ = srs(pool)
    before = task_count(pool)
    async with login(pool.url) as xapi:
        vdi = await xapi.VDI.create(
            {"name_label": "huge", "SR": local, "virtual_size": 64 << 30, "type": "user"}
        )
        path = tmp_path / "huge.raw"
        with anyio.move_on_after(0.5) as scope:
            await xapi.export_raw_vdi(vdi, path)
        assert scope.cancelled_caught
        assert not path.exists()
        assert writer_threads() == []  # stopped before the file was closed
        await xapi.VDI.destroy(vdi)
    assert task_count(pool) == before


async def test_the_302_is_followed_over_tls_with_the_clients_trust(tmp_path: Path) -> None:
    import ssl

    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "127.0.0.2")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with XenAPIServer.in_thread(
        tcp="127.0.0.1:0", hosts=2, tls_cert=str(cert_file), tls_key=str(key_file)
    ) as server:
        _, far = srs(server)
        assert server.url.startswith("https://")
        async with connect(
            server.url, username="root", password="xenroot", ssl_context=context
        ) as xapi:
            image = os.urandom(300_000)
            vdi = await xapi.import_raw_vdi(io.BytesIO(image), sr=far)
            assert await xapi.VDI.get_SR(vdi) == far
            out = io.BytesIO()
            assert await xapi.export_raw_vdi(vdi, out) == len(image)
            assert out.getvalue() == image


# --- observed as calls: log lines and hooks -----------------------------------------------------
async def test_a_transfer_is_one_observed_call_with_its_bytes(pool: XenAPIServer) -> None:
    from aioxend.hooks import CallEvent, Hooks
    from tests._logcapture import collecting

    image = os.urandom(200_000)
    local, _ = srs(pool)
    events: list[CallEvent] = []
    hooks = Hooks(on_response=events.append)
    async with connect(pool.url, username="root", password="xenroot", hooks=hooks) as xapi:
        with collecting(logging.DEBUG) as log:
            vdi = await xapi.import_raw_vdi(io.BytesIO(image), sr=local)
            assert await xapi.export_raw_vdi(vdi, Digest()) == len(image)
        session = str(xapi.session_id)
    done = {event.operation: event for event in events}
    assert done["import_raw_vdi"].bytes_sent >= len(image)
    assert done["export_raw_vdi"].bytes_received >= len(image)
    assert done["export_raw_vdi"].target == vdi
    lines = "\n".join(log.lines)
    assert f"export_raw_vdi {vdi} <- 200" in lines
    assert "import_raw_vdi <- 200" in lines
    assert session not in lines


async def test_the_size_read_beside_the_tasks_creation_fails_as_itself(
    pool: XenAPIServer, tmp_path: Path
) -> None:
    # A raw export reads the disk's size while it makes its task: a refused read, or a
    # size that is no integer (a ProtocolError naming the method), is the export's error
    # (not an exception group), and the task made beside it is destroyed.
    record = {"name_label": "sized", "SR": srs(pool)[0], "virtual_size": 4096, "type": "user"}
    async with login(pool.url) as xapi:
        vdi = await xapi.VDI.create(record)
        before = task_count(pool)
        pool.fail_next(1, "HANDLE_INVALID", "VDI", vdi, method="VDI.get_virtual_size")
        path = tmp_path / "sized.raw"
        with pytest.raises(errors.HandleInvalid):
            await xapi.export_raw_vdi(vdi, path)
        assert not path.exists()
        assert task_count(pool) == before
        pool.fail_next(1, "INTERNAL_ERROR", "no task today", method="task.create")
        sink = Digest()
        with pytest.raises(errors.XenAPIError) as refused:
            await xapi.export_raw_vdi(vdi, sink)
        assert refused.value.code == "INTERNAL_ERROR"
        assert sink.size == 0
        assert task_count(pool) == before
        pool.pool.objects["VDI"][vdi]["virtual_size"] = "lots"
        with pytest.raises(ProtocolError, match=r"VDI\.get_virtual_size returned a bad"):
            await xapi.export_raw_vdi(vdi, path)
        assert not path.exists()
        assert task_count(pool) == before
        pool.pool.objects["VDI"][vdi]["virtual_size"] = 4096
        assert await xapi.export_raw_vdi(vdi, Digest()) == 4096  # both answered: it runs
        assert task_count(pool) == before
        await xapi.VDI.destroy(vdi)
