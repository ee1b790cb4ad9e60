"""Every operation against the emulator, over {XML-RPC, SXP} x {UNIX, TCP}.

One emulator serves all four listeners for the whole module (it runs in its own thread,
so each test's event loop is free to come and go). Tests that change state make their
own domains, named after the combination, so the combinations never step on each other.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

import aioxend
from aioxend import DomainState
from aioxend.emulator import Emulator
from aioxend.errors import (
    InvalidDomain,
    MethodNotSupported,
    OperationFailed,
    UnsupportedOperation,
)
from aioxend.models import PowerState


@dataclass(frozen=True)
class Urls:
    xmlrpc_unix: str
    xmlrpc_tcp: str
    sxp_unix: str
    sxp_tcp: str


@pytest.fixture(scope="module")
def urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Urls]:
    base = tmp_path_factory.mktemp("emu")
    with Emulator.in_thread(
        domains=3,
        seed=1,
        xmlrpc_unix=str(base / "xmlrpc.sock"),
        xmlrpc_tcp="127.0.0.1:0",
        sxp_unix=str(base / "sxp.sock"),
        sxp_tcp="127.0.0.1:0",
    ) as emu:
        xmlrpc_unix, xmlrpc_tcp, sxp_unix, sxp_tcp = emu.urls
        assert xmlrpc_unix.startswith("httpu://")
        assert sxp_unix.startswith("unix://")
        assert xmlrpc_tcp.startswith("http://")
        assert sxp_tcp.startswith("http://")
        yield Urls(xmlrpc_unix, xmlrpc_tcp, sxp_unix, sxp_tcp)


COMBOS = [(protocol, family) for protocol in ("xmlrpc", "sxp") for family in ("unix", "tcp")]


@dataclass(frozen=True)
class Combo:
    protocol: str
    url: str

    @property
    def tag(self) -> str:
        return f"{self.protocol}-{'u' if self.url.startswith(('httpu', 'unix')) else 't'}"

    @asynccontextmanager
    async def client(self) -> AsyncIterator[aioxend.XendClient]:
        async with aioxend.connect(
            self.url,
            protocol=self.protocol,  # type: ignore[arg-type]
            timeout=20,
        ) as client:
            assert client.protocol == self.protocol
            yield client


@pytest.fixture(params=COMBOS, ids=["-".join(c) for c in COMBOS])
def combo(request: pytest.FixtureRequest, urls: Urls) -> Combo:
    protocol, family = request.param
    return Combo(protocol, getattr(urls, f"{protocol}_{family}"))


def config(name: str, memory: int = 32, vcpus: int = 2) -> str:
    return (
        f"(vm (name {name}) (memory {memory}) (maxmem 64) (vcpus {vcpus})"
        " (on_poweroff destroy) (on_reboot restart) (on_crash preserve)"
        " (image (linux (kernel /boot/vmlinuz-xen) (args 'root=/dev/xvda1 ro')))"
        f" (device (vbd (uname phy:/dev/vg/{name}) (dev xvda) (mode w)))"
        f" (device (vif (mac 00:16:3e:00:00:01) (bridge xenbr0))))"
    )


async def test_reads(combo: Combo) -> None:
    async with combo.client() as client:
        domains = await client.domains()
        names = [d.name for d in domains]
        assert {"Domain-0", "vm1", "vm2", "vm3"} <= set(names)
        assert names == sorted(names, key=str.encode)
        assert set(await client.domain_names()) == set(names)
        assert not any(d.devices for d in domains)
        assert any(d.devices for d in await client.domains(full=True))
        vm1 = await client.domain("vm1")
        assert vm1.name == "vm1"
        assert vm1.domid is not None
        assert vm1.devices
        assert (await client.domain(vm1.domid)).name == "vm1"
        assert vm1.uuid is not None
        assert (await client.domain(vm1.uuid)).name == "vm1"
        assert (await client.domain(str(vm1.uuid), full=False)).devices == ()
        dom0 = await client.domain(0)
        assert dom0.name == "Domain-0"
        node = await client.node_info()
        assert node.nr_cpus is not None
        assert node.nr_cpus >= 1
        assert node.total_memory is not None
        assert node.total_memory > 0
        vcpus = await client.vcpu_info("vm1")
        assert len(vcpus) == vm1.vcpus
        credit = await client.sched_credit_get("vm1")
        assert 1 <= credit.weight <= 65535
        assert isinstance(await client.dmesg(), str)
        assert isinstance(await client.node_log(), str)
        assert isinstance(await client.device_sxprs("vm1", "vbd"), list)


async def test_state_filters_agree(combo: Combo) -> None:
    async with combo.client() as client:
        name = f"{combo.tag}-filter"
        created = await client.create(config(name))
        try:
            await client.pause(name)
            paused = await client.domains("paused")
            assert name in [d.name for d in paused]
            assert name in await client.domain_names("paused")
            running = [d.name for d in await client.domains("running")]
            assert name not in running
            everything = [d.name for d in await client.domains()]
            assert name in everything
        finally:
            await client.destroy(created.name)


async def test_unknown_domain_is_invalid_domain(combo: Combo) -> None:
    async with combo.client() as client:
        calls = [
            client.domain("nosuch"),
            client.pause("nosuch"),
            client.unpause("nosuch"),
            client.shutdown("nosuch"),
            client.set_memory("nosuch", 64),
            client.vcpu_info("nosuch"),
            client.sched_credit_get("nosuch"),
            client.rename("nosuch", "other"),
        ]
        for call in calls:
            with pytest.raises(InvalidDomain) as info:
                await call
            assert info.value.code == 3
            assert "nosuch" in str(info.value)


async def test_refusals_are_operation_failed(combo: Combo) -> None:
    async with combo.client() as client:
        with pytest.raises(OperationFailed, match="Cannot pause privileged domain"):
            await client.pause("Domain-0")
        with pytest.raises(OperationFailed, match="Invalid reason"):
            await client.shutdown("vm2", reason="bogus")  # type: ignore[arg-type]
        with pytest.raises(OperationFailed, match="greater than max vcpus"):
            await client.set_vcpus("vm2", 64)
        with pytest.raises(OperationFailed, match="Cannot pin vcpu"):
            await client.pin_vcpu("vm2", 0, [999])
        with pytest.raises(OperationFailed):
            await client.sched_sedf_get("vm2")  # wrong scheduler
        with pytest.raises(OperationFailed, match="Cannot save privileged domain"):
            await client.save("Domain-0", "/tmp/dom0.save")
        name = f"{combo.tag}-halted"
        await client.new(config(name))
        try:
            # Wrong state: halted. xend's SXP op trips over the missing domid first.
            text = "not started" if combo.protocol == "xmlrpc" else "int()"
            with pytest.raises(OperationFailed, match=text):
                await client.pause(name)
        finally:
            await client.delete(name)


async def test_lifecycle(combo: Combo) -> None:
    name = f"{combo.tag}-life"
    async with combo.client() as client:
        dom = await client.create(config(name))
        assert dom.name == name
        assert dom.domid is not None
        assert DomainState.PAUSED not in dom.state
        await client.pause(name)
        assert DomainState.PAUSED in (await client.domain(name)).state
        await client.unpause(dom.domid)
        assert DomainState.PAUSED not in (await client.domain(name)).state
        await client.set_memory(name, 24)
        await client.set_maxmem(name, 48)
        await client.set_vcpus(name, 1)
        info = await client.domain(name)
        assert (info.memory, info.maxmem, info.online_vcpus) == (24, 48, 1)
        await client.pin_vcpu(name, 0, [0, 1])
        assert (await client.vcpu_info(name))[0].cpumap == (0, 1)
        await client.sched_credit_set(name, weight=512)
        await client.sched_credit_set(name, cap=50)
        credit = await client.sched_credit_get(name)
        assert (credit.weight, credit.cap) == (512, 50)
        ref = await client.device_create(
            name, "(vbd (uname phy:/dev/vg/extra) (dev xvdb) (mode r))"
        )
        assert ref.dev_class == "vbd"
        assert ref.domid == dom.domid
        assert len((await client.domain(name)).devices) == 3
        await client.device_destroy(name, "vbd", "xvdb")
        assert len((await client.domain(name)).devices) == 2
        await client.send_sysrq(name, "s")
        await client.wait_for_devices(name)
        renamed = f"{name}-r"
        await client.rename(name, renamed)
        assert (await client.domain(renamed)).uuid == dom.uuid
        await client.dump(renamed, f"/var/xen/dump/{renamed}.core", live=True)
        await client.reboot(renamed)
        rebooted = await client.domain(renamed)
        assert rebooted.domid != dom.domid
        save = f"/var/lib/xen/save/{renamed}"
        await client.save(renamed, save)
        assert renamed not in await client.domain_names()
        restored = await client.restore(save)
        assert restored.name == renamed
        assert restored.uuid == dom.uuid
        await client.reset(renamed)
        await client.shutdown(renamed, reason="poweroff")
        with pytest.raises(InvalidDomain):
            await client.domain(renamed)


async def test_migrate_and_destroy(combo: Combo) -> None:
    async with combo.client() as client:
        a, b = f"{combo.tag}-mig", f"{combo.tag}-gone"
        await client.create(config(a))
        await client.create(config(b), paused=True)
        assert DomainState.PAUSED in (await client.domain(b)).state
        await client.migrate(a, "otherhost", live=True)
        assert a not in await client.domain_names()
        await client.destroy(b)
        assert b not in await client.domain_names()


async def test_managed_domains(combo: Combo) -> None:
    name = f"{combo.tag}-managed"
    async with combo.client() as client:
        await client.new(config(name))
        assert (await client.domain(name)).domid is None
        assert name in await client.domain_names("halted")
        await client.start(name)
        assert (await client.domain(name)).domid is not None
        if combo.protocol == "xmlrpc":
            await client.suspend(name)
            assert name in await client.domain_names("suspended")
            await client.resume(name, paused=True)
            assert DomainState.PAUSED in (await client.domain(name)).state
        else:
            with pytest.raises(UnsupportedOperation, match="suspend"):
                await client.suspend(name)
        await client.destroy(name)
        assert (await client.domain(name)).domid is None
        await client.delete(name)
        with pytest.raises(InvalidDomain):
            await client.domain(name)


async def test_xmlrpc_only_operations(combo: Combo) -> None:
    name = f"{combo.tag}-extra"
    async with combo.client() as client:
        if combo.protocol == "sxp":
            for call in (
                client.get_pause_flag("vm1"),
                client.shadow_mem_get("vm1"),
                client.pci_info(),
                client.restart_count("vm1"),
                client.block_device_class("vm1", "xvda"),
                client.cpu_pool_list(),
                client.tmem_query_freeable_mb(),
                client.call("xend.node.info"),
            ):
                with pytest.raises(UnsupportedOperation) as info:
                    await call
                assert info.value.protocol == "sxp"
            return
        await client.create(config(name))
        try:
            await client.set_pause_flag(name, True)
            assert await client.get_pause_flag(name) is True
            await client.set_pause_flag(name, False)
            assert await client.get_pause_flag(name) is False
            assert isinstance(await client.shadow_mem_get(name), int)
            assert await client.restart_count(name) is None
            assert await client.block_device_class(name, "xvda") in ("vbd", "tap", "tap2")
            assert isinstance(await client.pci_info(), list)
            await client.send_debug_keys("q")
            await client.send_trigger(name, "nmi")
            assert isinstance(await client.tmem_query_freeable_mb(), int)
            pools = await client.cpu_pool_list()
            assert pools
            assert await client.call("xend.domain.getpauseflag", name) is False
            with pytest.raises(MethodNotSupported):
                await client.call("xend.no.such.method")
        finally:
            await client.destroy(name)


async def test_uuid_and_domid_forms(combo: Combo) -> None:
    async with combo.client() as client:
        vm2 = await client.domain("vm2")
        assert vm2.uuid is not None
        assert isinstance(vm2.uuid, uuid.UUID)
        for ref in (vm2.uuid, str(vm2.uuid), vm2.domid):
            assert ref is not None
            assert (await client.sched_credit_get(ref)).weight == (
                await client.sched_credit_get("vm2")
            ).weight


async def test_remaining_operations(combo: Combo) -> None:
    name = f"{combo.tag}-rest"
    async with combo.client() as client:
        dom = await client.create(config(name))
        try:
            assert await client.device_configure(name, "(vbd (dev xvda) (mode r))", "xvda")
            with pytest.raises(OperationFailed):
                await client.sched_credit2_get(name)  # the emulated host runs credit
            with pytest.raises(OperationFailed):
                await client.sched_credit2_set(name, weight=300)
            with pytest.raises(OperationFailed):
                await client.sched_sedf_set(
                    name, period=100, slice=10, latency=0, extratime=1, weight=0
                )
            if combo.protocol == "xmlrpc":
                with pytest.raises(OperationFailed, match="memory_dynamic_max"):
                    await client.set_memory(name, 4096)  # a bad argument
            else:  # xend's legacy op caps the target at maxmem instead
                await client.set_memory(name, 4096)
                assert (await client.domain(name)).memory == 64
            node = await client.node_info(show_numa=False)
            assert "numa_info" not in node.raw
            assert "cpu_topology" not in node.raw
            assert isinstance(await client.dmesg_clear(), str)
            if combo.protocol == "sxp":
                return
            with pytest.raises(OperationFailed, match="usb disabled"):
                await client.usb_add(name, "host:1234:5678")
            with pytest.raises(OperationFailed):
                await client.usb_del(name, "host:1234:5678")
            await client.ioport_range_enable(name, 0x3F8, 0x3FF)
            await client.ioport_range_disable(name, 0x3F8, 0x3FF)
            await client.shadow_mem_set(name, 4)
            assert await client.shadow_mem_get(name) == 4
            assert await client.shadow_control(name, 0) == 0
            with pytest.raises(InvalidDomain):
                await client.get_pause_flag("nosuch")
            assert isinstance(await client.tmem_list(), str)
            for result in (
                await client.tmem_freeze(),
                await client.tmem_thaw(),
                await client.tmem_flush(pages=10),
                await client.tmem_set_weight(1, 5),
                await client.tmem_set_cap(1, 5),
                await client.tmem_set_compress(1, 1),
                await client.tmem_destroy(1),
                await client.tmem_shared_auth(1, str(dom.uuid), 1),
            ):
                assert result == 0
            with pytest.raises(OperationFailed, match="Invalid uuid"):
                await client.tmem_shared_auth(1, "not-a-uuid", 1)
            pool = f"{combo.tag}-pool"
            uuid_text = await client.cpu_pool_new(f"(pool (name_label {pool}) (ncpu 1))")
            assert uuid.UUID(uuid_text)
            (entry,) = await client.cpu_pool_list([pool])
            assert entry[0] == uuid_text
            with pytest.raises(OperationFailed):
                await client.cpu_pool_start("no-such-pool")
            with pytest.raises(OperationFailed):
                await client.cpu_pool_cpu_add(pool, 0)  # not started
            with pytest.raises(OperationFailed):
                await client.cpu_pool_migrate(name, "no-such-pool")
            await client.cpu_pool_delete(pool)
            assert await client.cpu_pool_list([pool]) == []
            with pytest.raises(OperationFailed):
                await client.cpu_pool_create("(pool (name_label Pool-0))")
            with pytest.raises(OperationFailed):
                await client.cpu_pool_destroy("Pool-0")
            with pytest.raises(OperationFailed):
                await client.cpu_pool_cpu_remove("no-such-pool", 0)
        finally:
            await client.destroy(name)


async def test_same_results_over_both_protocols(urls: Urls) -> None:
    async with (
        aioxend.connect(urls.xmlrpc_unix, protocol="xmlrpc") as xml,
        aioxend.connect(urls.sxp_unix, protocol="sxp") as legacy,
    ):
        for full in (False, True):
            a = await xml.domain("vm2", full=full)
            b = await legacy.domain("vm2", full=full)
            assert (a.name, a.domid, a.uuid, a.memory, a.maxmem, a.vcpus, a.state) == (
                b.name,
                b.domid,
                b.uuid,
                b.memory,
                b.maxmem,
                b.vcpus,
                b.state,
            )
            assert a.devices == b.devices
        assert [d.name for d in await xml.domains("all")] == [
            d.name for d in await legacy.domains("all")
        ]
        assert await xml.domain_names("running") == await legacy.domain_names("running")
        assert await xml.sched_credit_get("vm2") == await legacy.sched_credit_get("vm2")
        node_a, node_b = await xml.node_info(), await legacy.node_info()
        assert (node_a.host, node_a.nr_cpus, node_a.total_memory, node_a.xen_scheduler) == (
            node_b.host,
            node_b.nr_cpus,
            node_b.total_memory,
            node_b.xen_scheduler,
        )
        vcpus_a, vcpus_b = await xml.vcpu_info("vm2"), await legacy.vcpu_info("vm2")
        assert [(v.number, v.online, v.cpumap) for v in vcpus_a] == [
            (v.number, v.online, v.cpumap) for v in vcpus_b
        ]


async def test_each_protocol_on_the_other_ones_port_says_so(urls: Urls) -> None:
    # Either mistake names the URL and what it is not, briefly; no page, no fault code.
    async with aioxend.connect(urls.xmlrpc_tcp, protocol="sxp") as client:
        with pytest.raises(aioxend.ProtocolError) as sxp_on_xml:
            await client.domain("vm1")
    async with aioxend.connect(urls.sxp_tcp, protocol="xmlrpc") as client:
        with pytest.raises(aioxend.ProtocolError) as xml_on_sxp:
            await client.domain("vm1")
    assert f"domain('vm1'): {urls.xmlrpc_tcp} is no xend SXP/HTTP server (HTTP 501" in str(
        sxp_on_xml.value
    )
    assert f"domain('vm1'): {urls.sxp_tcp} is no XML-RPC server" in str(xml_on_sxp.value)
    for message in (str(sxp_on_xml.value), str(xml_on_sxp.value)):
        assert "fault" not in message
        assert "<" not in message
        assert len(message) < 200


async def test_security_introspection_and_pause_state(combo: Combo) -> None:
    # The emulator runs xend's default XSM module, "dummy": its twelve methods answer
    # or refuse as it does; acm's and flask's own methods are unknown to it.
    if combo.protocol == "sxp":
        return
    async with combo.client() as client:
        assert await client.security_get_xstype() == 0
        assert await client.security_get_policy() == ("", 0)
        assert await client.security_list_labels("ACM", "dom") == []
        assert await client.security_get_labeled_resources() == {}
        assert await client.security_get_resource_label("phy:/dev/hda") == []
        assert await client.security_get_domain_label("vm1") == ""
        for refused in (
            client.security_set_resource_label("phy:/dev/hda", "ACM", "p", "blue"),
            client.security_set_policy(1, "<xml/>", 3),
            client.security_reset_policy(),
            client.security_activate_policy(3),
            client.security_rm_bootpolicy(),
            client.security_set_domain_label("vm1", "ACM:p:red"),
        ):
            with pytest.raises(aioxend.Fault, match="not supported under xsm 'dummy'"):
                await refused
        for unknown in (client.security_on(), client.security_getenforce()):
            with pytest.raises(MethodNotSupported):
                await unknown
        methods = await client.list_methods()
        assert "xend.security.get_xstype" in methods
        assert "xend.domain.pause" in methods
        assert isinstance(await client.method_help("xend.domain.pause"), str)
        assert await client.method_signature("xend.domain.pause") is None
        name = f"{combo.tag}-pst"
        await client.create(config(name))
        try:
            assert await client.pause(name, state=True) is PowerState.RUNNING
            assert await client.pause(name, state=True) is PowerState.PAUSED
        finally:
            await client.destroy(name)
