"""The XML-RPC listener, driven by the standard library's ServerProxy (UNIX and TCP)."""

from __future__ import annotations

import http.client
import xmlrpc.client
from typing import Any

import pytest

from aioxend.emulator._xmlrpc import _DISPATCH, _DOMAIN, _NODE, _POOL, _SECURITY
from tests.emulator.conftest import Served
from tests.emulator.emulator_support import fault_of, port_of, raw_exchange


def _keys(record: list[Any]) -> list[str]:
    return [item[0] for item in record[1:] if isinstance(item, list)]


def _value(record: list[Any], key: str) -> Any:
    for item in record[1:]:
        if isinstance(item, list) and item and item[0] == key:
            return item[1]
    raise KeyError(key)


@pytest.mark.parametrize("which", ["unix", "tcp"])
def test_both_listeners_answer(served: Served, which: str) -> None:
    proxy = served.unix if which == "unix" else served.tcp
    assert proxy.xend.domains(0) == ["Domain-0", "vm1", "vm2", "vm3"]
    assert fault_of(proxy.xend.domain, "vm9") == (3, "vm9")


def test_record_shape_and_fixup(served: Served) -> None:
    full = served.unix.xend.domain("vm1", 1)
    assert full[0] == "domain"
    keys = _keys(full)
    assert keys[:3] == ["domid", "cpu_weight", "cpu_cap"]
    assert "vcpu_avail" not in keys  # fixup_sxpr
    assert keys.index("maxmem") < keys.index("memory") < keys.index("image")
    assert keys.index("status") < keys.index("state") < keys.index("store_mfn")
    devices = [item[1][0] for item in full[1:] if item[0] == "device"]
    assert "vbd" in devices
    assert "vif" in devices
    assert _value(full, "state") in ("-b----", "r-----")
    assert _value(full, "status") == 2
    brief = served.unix.xend.domain("vm1")
    assert "device" not in _keys(brief)
    assert _value(served.unix.xend.domain(1), "uuid") == _value(brief, "uuid")  # int domid
    uuid = _value(brief, "uuid")
    assert _value(served.unix.xend.domain(uuid), "name") == "vm1"
    hvm = served.unix.xend.domain("vm3", 1)
    assert _value(hvm, "image")[0] == "hvm"


def test_domain0_and_seeding(served: Served) -> None:
    dom0 = served.unix.xend.domain(0)
    assert _value(dom0, "name") == "Domain-0"
    assert _value(dom0, "uuid") == "00000000-0000-0000-0000-000000000000"
    assert [_value(served.unix.xend.domain(f"vm{i}"), "domid") for i in (1, 2, 3)] == [1, 2, 3]


def test_cpu_time_advances(served: Served) -> None:
    import time

    name = next(d.name for d in served.emu.host.domains() if d.status == 2 and d.domid)
    first = _value(served.unix.xend.domain(name), "cpu_time")
    time.sleep(0.05)
    assert _value(served.unix.xend.domain(name), "cpu_time") > first


def test_domains_filters(served: Served) -> None:
    p = served.unix
    p.xend.domain.pause("vm2")
    p.xend.domain.destroy("vm3")
    running = p.xend.domains(0)
    assert "vm2" not in running
    assert "vm3" not in running
    every = p.xend.domains_with_state(True, "all", False)
    names = [_value(r, "name") for r in every]
    assert "vm2" in names
    assert names == sorted(names)
    assert p.xend.domains_with_state(False, "paused", False) == ["vm2"]
    assert p.xend.domains_with_state(False, 1, False) == ["vm2"]
    assert p.xend.domains_with_state(False, "PAUSED", False) == ["vm2"]
    assert fault_of(p.xend.domains_with_state, False, 9, False) == (1, "9")


def test_faults_codes_and_strings(served: Served) -> None:
    p = served.unix
    assert fault_of(p.xend.domain.pause, 0) == (2, "Cannot pause privileged domain 0")
    assert fault_of(p.xend.domain.pause, "Domain-0") == (
        2,
        "Cannot pause privileged domain Domain-0",
    )
    assert fault_of(p.xend.domain.shutdown, "vm1", "nap") == (2, "Invalid reason: nap")
    assert fault_of(p.xend.domain.shutdown, "nope", "halt") == (3, "nope")
    assert fault_of(p.xend.domain.unpause, "42") == (3, "42")
    assert fault_of(p.xend.domain.configure, []) == (2, "Unsupported")
    assert fault_of(p.xend.domain.pause) == (
        1,
        "domain_pause() takes at least 2 arguments (1 given)",
    )
    assert fault_of(p.xend.domain.shutdown) == (1, "<lambda>() takes at least 1 argument (0 given)")
    assert fault_of(p.xend.domain.shutdown, "vm1") == (
        1,
        "shutdown() takes exactly 2 arguments (1 given)",
    )
    assert fault_of(p.xend.domain.setMemoryTarget, "vm1", 999999) == (
        2,
        "memory_dynamic_max must be less than or equal to memory_static_max",
    )
    code, text = fault_of(p.xend.domain.lookup, "vm1")
    assert code == 1
    assert "cannot marshal" in text
    assert p.xend.domain.lookup_nr("nope") is None
    assert fault_of(p.xend.domain.lookup, "nope") == (3, "nope")
    assert fault_of(p.xend.domain.delete_by_dominfo, {}) == (
        1,
        "'dict' object has no attribute 'getName'",
    )
    assert fault_of(p.xend.domain.restore_fd, 5) == (2, "Restore failed")


def test_fault_struct_member_order_is_python2s(served: Served) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port_of(served.emu.urls[1]), timeout=5)
    body = xmlrpc.client.dumps(("nope",), "xend.domain")
    conn.request("POST", "/RPC2", body=body, headers={"Content-Type": "text/xml"})
    resp = conn.getresponse()
    text = resp.read().decode()
    conn.close()
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "text/xml"
    assert text.index("faultCode") < text.index("faultString")


def test_unknown_method_answers_failure_struct(served: Served) -> None:
    assert served.unix.xend.no.such() == {
        "Status": "Failure",
        "ErrorDescription": ["MESSAGE_METHOD_UNKNOWN", "xend.no.such"],
    }
    assert served.tcp.Async.VM.start("x")["ErrorDescription"][1] == "Async.VM.start"


def test_top_level_strings_are_repr_escaped(served: Served) -> None:
    served.emu.host.append_dmesg("tab\there \"dq\" 'sq' caf\u00e9 back\\slash\n")
    text = served.unix.xend.node.dmesg.info()
    assert "tab\\there" in text
    assert "caf\\xc3\\xa9" in text
    assert "back\\\\slash" in text
    assert "\\'sq\\'" in text  # both quote kinds: Python 2 escapes the single ones
    assert "\n" not in text
    assert "\\n" in text
    cleared = served.unix.xend.node.dmesg.clear()
    assert "tab\\there" in cleared
    assert served.unix.xend.node.dmesg.info() == ""
    served.unix.xend.domain.pause("vm1")
    log = served.unix.xend.node.log()
    assert "paused" in log
    assert "\\n" in log
    # nested strings are not escaped
    assert "\n" in dict(served.unix.xend.node.info())["cpu_topology"]


def test_int_beyond_32_bits_is_fault_1(served: Served) -> None:
    served.emu.host.domain("vm1").shadow_memory = 2**33
    assert fault_of(served.unix.xend.domain.shadow_mem_get, "vm1") == (
        1,
        "int exceeds XML-RPC limits",
    )


def test_node_info(served: Served) -> None:
    info = served.unix.xend.node.info()
    keys = [k for k, _ in info]
    assert keys[:5] == ["system", "host", "release", "version", "machine"]
    assert keys[-1] == "xend_config_format"
    assert dict(info)["xend_config_format"] == 4
    assert keys.index("free_cpus") < keys.index("cpu_topology") < keys.index("numa_info")
    assert keys.index("numa_info") < keys.index("xen_major")
    assert "cpu_topology" not in [k for k, _ in served.unix.xend.node.info(0)]
    order = ["nr_cpus", "nr_nodes", "cores_per_socket", "threads_per_core", "cpu_mhz",
             "hw_caps", "virt_caps", "total_memory", "free_memory", "free_cpus",
             "max_free_memory", "max_para_memory", "max_hvm_memory"]  # fmt: skip
    assert [k for k in keys if k in order] == order
    assert keys.index("max_hvm_memory") + 1 == keys.index("cpu_topology")
    free = dict(info)["free_memory"]
    assert dict(info)["max_free_memory"] == free
    assert free - 4 == dict(info)["max_para_memory"] > dict(info)["max_hvm_memory"] > 0
    xen = ["xen_major", "xen_minor", "xen_extra", "xen_caps", "xen_scheduler", "xen_pagesize",
           "platform_params", "xen_changeset", "xen_commandline", "cc_compiler",
           "cc_compile_by", "cc_compile_domain", "cc_compile_date"]  # fmt: skip
    assert [k for k in keys if k in xen] == xen


def test_node_topology_text_is_xends(served: Served) -> None:
    # XendNode.format_cpu_to_core_socket_node; format_numa_info's NameError gives "none"
    info = dict(served.unix.xend.node.info(1))
    rows = info["cpu_topology"].split("\n")
    assert rows[:3] == ["", "cpu:    core    socket     node", "  0:       0        0        0"]
    assert rows[-1] == "  7:       3        0        0"
    assert len(rows) == 2 + served.emu.host.nr_cpus
    assert info["numa_info"] == "none"
    assert "numa_info" not in dict(served.unix.xend.node.info(False))


def test_image_notes_are_strings(served: Served) -> None:
    # XendConfig.notes_sxp: str() of every note, also for a domain created with int notes
    image = _value(served.unix.xend.domain("vm1"), "image")
    notes = dict(next(item for item in image[1:] if item[0] == "notes")[1:])
    assert notes["SUSPEND_CANCEL"] == "1"
    assert all(isinstance(v, str) for v in notes.values())
    served.unix.xend.domain.create(
        ["vm", ["name", "noted"], ["memory", 64], ["image", ["linux", ["notes", ["PAE", 1]]]]]
    )
    image = _value(served.unix.xend.domain("noted"), "image")
    assert ["notes", ["PAE", "1"]] in image


def test_lifecycle_state_machine(served: Served) -> None:
    p, host = served.unix, served.emu.host
    assert p.xend.domain.pause("vm1", True) == 2
    assert host.domain("vm1").state_string == "--p---"
    assert _value(p.xend.domain("vm1"), "status") == 1
    assert p.xend.domain.pause("vm1") is None  # pausing a paused domain is fine
    p.xend.domain.unpause("vm1")
    assert host.domain("vm1").state_string in ("r-----", "-b----")
    host.domain("vm1").on_reboot = "restart"
    old = _value(p.xend.domain("vm1"), "domid")
    p.xend.domain.shutdown("vm1", "reboot")
    assert _value(p.xend.domain("vm1"), "domid") > old
    assert p.xend.domain.getRestartCount("vm1") == "1"
    host.domain("vm1").on_crash = "preserve"
    p.xend.domain.shutdown("vm1", "crash")
    assert host.domain("vm1").state_string == "----c-"
    assert _value(p.xend.domain("vm1"), "status") == 5
    p.xend.domain.destroy("vm1")
    assert fault_of(p.xend.domain, "vm1") == (3, "vm1")
    host.domain("vm2").on_poweroff = "preserve"
    p.xend.domain.shutdown("vm2", "poweroff")
    assert host.domain("vm2").state_string == "---s--"
    assert fault_of(p.xend.domain.shutdown, "vm2", "halt") == (2, "Domain cannot be shutdown")
    assert fault_of(p.xend.domain.shutdown, 0, "halt") == (2, "Domain 0 cannot be shutdown")
    p.xend.domain.reset("vm3")
    assert p.xend.domain.getRestartCount("vm3") == "1"
    assert fault_of(p.xend.domain.destroy, 0) == (2, "Cannot destroy privileged domain 0")


def test_create_is_paused_and_new_start_delete(served: Served) -> None:
    p, host = served.unix, served.emu.host
    config = ["vm", ["name", "fresh"], ["memory", 256], ["vcpus", 2],
              ["device", ["vbd", ["uname", "phy:/dev/vg/fresh"], ["dev", "xvda"], ["mode", "w"]]],
              ["device", ["vif", ["mac", "00:16:3e:00:00:01"]]]]  # fmt: skip
    rec = p.xend.domain.create(config)
    assert _value(rec, "state") == "--p---"
    assert _value(rec, "status") == 1
    assert "device" in _keys(rec)
    assert "vcpu_avail" not in _keys(rec)
    assert fault_of(p.xend.domain.create, config) == (
        2,
        f"VM name 'fresh' already exists as domain {_value(rec, 'domid')}",
    )
    assert fault_of(p.xend.domain.create, ["vm", ["memory", 64]]) == (2, "Missing VM Name")
    assert fault_of(p.xend.domain.create, ["vm", ["name", "bad name"]]) == (2, "Invalid VM Name")
    assert p.xend.domain.new(["vm", ["name", "managed"], ["memory", 128]]) is None
    assert host.domain("managed").status == 0
    assert "managed" in p.xend.domains_with_state(False, "halted", False)
    assert "managed" not in p.xend.domains(0)
    assert "domid" not in _keys(p.xend.domain("managed"))
    p.xend.domain.start("managed")  # default start_paused=True
    assert host.domain("managed").state_string == "--p---"
    assert fault_of(p.xend.domain.start, "managed") == (2, "Domain is already running")
    assert fault_of(p.xend.domain.delete, "managed") == (2, "Domain is not halted.")
    p.xend.domain.destroy("managed")
    assert host.domain("managed").status == 0  # managed: halted, not gone
    p.xend.domain.start("managed", False)
    assert host.domain("managed").status == 2
    p.xend.domain.destroy("managed")
    p.xend.domain.delete("managed")
    assert fault_of(p.xend.domain, "managed") == (3, "managed")
    assert fault_of(p.xend.domain.delete, "ghost") == (2, "<Fault 3: 'ghost'>")
    code, _ = fault_of(p.xend.domain.create_from_dict, {"name_label": "fromdict"})
    assert code == 1
    assert host.domain("fromdict").status == 1


def test_save_restore_suspend_resume_migrate_dump(served: Served) -> None:
    p, host = served.unix, served.emu.host
    p.xend.domain.save("vm1", "/var/lib/xen/save/vm1.chk")
    assert fault_of(p.xend.domain, "vm1") == (3, "vm1")
    assert "/var/lib/xen/save/vm1.chk" in host.saved
    rec = p.xend.domain.restore("/var/lib/xen/save/vm1.chk")
    assert _value(rec, "name") == "vm1"
    assert _value(rec, "status") == 2
    assert fault_of(p.xend.domain.restore, "/nope") == (
        2,
        "can't read guest state file /nope: No such file or directory",
    )
    assert fault_of(p.xend.domain.restore, "/var/lib/xen/save/vm1.chk")[0] == 2
    p.xend.domain.save("vm1", "/tmp/cp", True)
    assert host.domain("vm1").status == 2
    p.xend.domain.pause("vm1")
    assert fault_of(p.xend.domain.save, "vm1", "/tmp/x") == (2, "Domain is not running")
    assert fault_of(p.xend.domain.save, 0, "/tmp/x") == (2, "Cannot save privileged domain 0")
    # suspend/resume: managed domains only (vm2 is managed by seeding)
    assert host.domain("vm2").managed
    assert not host.domain("vm3").managed
    assert fault_of(p.xend.domain.suspend, "vm3") == (
        2,
        "Domain is not managed by Xend lifecycle support.",
    )
    p.xend.domain.suspend("vm2")
    assert host.domain("vm2").status == 3
    assert p.xend.domains_with_state(False, "suspended", False) == ["vm2"]
    p.xend.domain.resume("vm2", True)
    assert host.domain("vm2").status == 1
    assert fault_of(p.xend.domain.resume, "vm2")[1].startswith("Error occurred when resuming")
    p.xend.domain.unpause("vm2")
    p.xend.domain.dump("vm2", "/tmp/core", False, False, False)
    assert ("vm2", "/tmp/core") in host.core_dumps
    assert fault_of(p.xend.domain.dump, 0) == (2, "Cannot dump core for privileged domain 0")
    assert fault_of(p.xend.domain.migrate, "vm3", "h", False, 0, -1, None, True) == (
        2,
        "Domain is not a managed domain",
    )
    p.xend.domain.migrate("vm3", "dst.example")
    assert host.migrations[-1] == ("vm3", "dst.example", 8002, False)
    assert fault_of(p.xend.domain, "vm3") == (3, "vm3")


def test_settings_stick(served: Served) -> None:
    p, host = served.unix, served.emu.host
    p.xend.domain.maxmem_set("vm1", 4096)
    p.xend.domain.setMemoryTarget("vm1", 3000)
    rec = p.xend.domain("vm1")
    assert (_value(rec, "maxmem"), _value(rec, "memory")) == (4096, 3000)
    assert fault_of(p.xend.domain.maxmem_set, "vm1", 100)[0] == 2
    vcpus = host.domain("vm1").vcpus
    p.xend.domain.setVCpuCount("vm1", 1)
    assert _value(p.xend.domain("vm1"), "online_vcpus") == 1
    assert fault_of(p.xend.domain.setVCpuCount, "vm1", 0) == (2, "Zero or less VCPUs is invalid")
    assert fault_of(p.xend.domain.setVCpuCount, "vm1", vcpus + 1) == (
        2,
        "Cannot set vcpus greater than max vcpus on running domain",
    )
    p.xend.domain.setName("vm1", "renamed")
    assert host.domain("renamed").domid == 1
    assert fault_of(p.xend.domain.setName, "renamed", "vm2") == (
        2,
        "VM name 'vm2' already exists as domain 2",
    )
    assert p.xend.domain.sched_credit_get("renamed") == {"weight": 256, "cap": 0}
    assert p.xend.domain.sched_credit_set("renamed", 512, 50) == 0
    assert p.xend.domain.sched_credit_get("renamed") == {"weight": 512, "cap": 50}
    assert _value(p.xend.domain("renamed"), "cpu_weight") == 512
    assert fault_of(p.xend.domain.sched_credit_set, "renamed", 0) == (
        2,
        "Cpu weight out of range, valid values are within range from 1 to 65535",
    )
    assert fault_of(p.xend.domain.sched_credit_set, "renamed", None, 10**4) == (
        2,
        f"Cpu cap out of range, valid range is from 0 to {vcpus * 100} for specified number "
        "of vcpus",
    )
    assert fault_of(p.xend.domain.sched_credit2_get, "renamed") == (2, "(22, 'Invalid argument')")
    host.scheduler = "credit2"
    assert p.xend.domain.sched_credit2_set("renamed", 300) == 0
    assert p.xend.domain.sched_credit2_get("renamed") == {"weight": 300}
    assert fault_of(p.xend.domain.sched_credit2_set, "renamed", 70000) == (
        2,
        "weight is out of range",
    )
    host.scheduler = "sedf"
    assert p.xend.domain.cpu_sedf_set("renamed", 1, 2, 3, 4, 5) == 0
    assert p.xend.domain.cpu_sedf_get("renamed")[2:] == [
        ["period", 1], ["slice", 2], ["latency", 3], ["extratime", 4], ["weight", 5],
    ]  # fmt: skip
    assert p.xend.domain.pincpu("renamed", 0, "2,3") == 0
    vcpu0 = p.xend.domain.getVCPUInfo("renamed")[4]
    assert vcpu0[0] == "vcpu"
    assert vcpu0[-1] == ["cpumap", [2, 3]]
    assert p.xend.domain.pincpu("renamed", "all", "1") == 0
    p.xend.domain.setpauseflag("renamed", True)
    assert p.xend.domain.getpauseflag("renamed") is True
    assert p.xend.domain.getpauseflag("nope") is None
    assert p.xend.domain.shadow_mem_set("vm3", 16) == 16
    assert p.xend.domain.shadow_mem_get("vm3") == 16
    assert p.xend.domain.shadow_control("vm3", 0) == 0
    assert fault_of(p.xend.domain.shadow_mem_get, "nope") == (3, "nope")
    assert p.xend.domain.ioport_range_enable("vm3", 0x3F8, 0x3FF) == 0
    assert p.xend.domain.ioport_range_disable("vm3", 0x3F8, 0x3FF) == 0


def test_vcpu_info_shape(served: Served) -> None:
    info = served.unix.xend.domain.getVCPUInfo("vm1")
    assert info[:4] == [
        "domain",
        ["domid", 1],
        ["name", "vm1"],
        ["vcpu_count", served.emu.host.domain("vm1").vcpus],
    ]
    vcpu = info[4]
    assert [item[0] for item in vcpu[1:]] == [
        "number", "online", "blocked", "running", "cpu_time", "cpu", "cpumap",
    ]  # fmt: skip
    assert isinstance(_value(vcpu, "cpu_time"), float)


def test_devices_attach_and_detach(served: Served) -> None:
    p = served.unix
    made = p.xend.domain.device_create(
        "vm1", ["vbd", ["uname", "phy:/dev/vg/data"], ["dev", "xvdb"], ["mode", "w"]]
    )
    assert made == ["vbd", ["dom", 1, "id", 51728]]
    assert fault_of(
        p.xend.domain.device_create,
        "vm1",
        ["vbd", ["uname", "phy:/dev/vg/data"], ["dev", "xvdb"], ["mode", "w"]],
    ) == (2, "Device 51728 is already connected.")
    assert p.xend.domain.getBlockDeviceClass("vm1", "xvdb") == "vbd"
    assert p.xend.domain.getBlockDeviceClass("vm1", 51712) == "vbd"
    assert p.xend.domain.getBlockDeviceClass("vm1", "xvdz") is None
    fronts = p.xend.domain.getDeviceSxprs("vm1", "vbd")
    assert [f[0] for f in fronts] == [51712, 51728]
    assert ["virtual-device", "51728"] in fronts[1][1]
    nic = p.xend.domain.device_create("vm1", ["vif", ["bridge", "xenbr1"]])
    assert nic == ["vif", ["dom", 1, "id", 1]]
    assert fault_of(p.xend.domain.device_create, "vm1", ["vif", ["mac", "zz"]]) == (
        2,
        "Cannot create a new virtual network interface - MAC address is not valid!",
    )
    assert fault_of(p.xend.domain.device_create, "vm1", ["floppy"]) == (
        2,
        "XendConfig: floppy not a valid device type",
    )
    assert (
        p.xend.domain.device_configure(
            "vm3", ["vbd", ["uname", "file:/srv/new.iso"], ["dev", "hdc:cdrom"], ["mode", "r"]]
        )
        is True
    )
    assert "file:/srv/new.iso" in str(p.xend.domain("vm3", 1))
    p.xend.domain.destroyDevice("vm1", "vbd", "xvdb")
    assert [f[0] for f in p.xend.domain.getDeviceSxprs("vm1", "vbd")] == [51712]
    assert fault_of(p.xend.domain.destroyDevice, "vm1", "vbd", 51728) == (
        2,
        "Device 51728 not connected",
    )
    p.xend.domain.waitForDevices("vm1")
    # PCI passthrough: listed by pciinfo until assigned
    devs = p.xend.node.pciinfo()
    assert devs[0] == ["dev", ["domain", "0x0000"], ["bus", "0x03"], ["slot", "0x00"],
                       ["func", "0x0"]]  # fmt: skip
    pci = ["pci", ["dev", ["domain", "0x0000"], ["bus", "0x03"], ["slot", "0x00"],
                   ["func", "0x0"]]]  # fmt: skip
    p.xend.domain.device_create("vm1", pci)
    assert len(p.xend.node.pciinfo()) == len(devs) - 1
    assert fault_of(p.xend.domain.device_create, "vm2", pci)[1].startswith("failed to assign")


def test_sysrq_triggers_debug_keys_usb(served: Served) -> None:
    p, host = served.unix, served.emu.host
    p.xend.domain.send_sysrq("vm1", "s")
    p.xend.domain.send_sysrq("vm1", 98)
    assert host.domain("vm1").sysrq_keys == ["s", "b"]
    assert fault_of(p.xend.domain.send_sysrq, "vm1", "ab") == (
        1,
        "ab is not convertible to a character",
    )
    assert p.xend.domain.send_trigger("vm1", "nmi") == 0
    assert p.xend.domain.send_trigger("vm1", "s3resume") is None
    assert fault_of(p.xend.domain.send_trigger, "vm1", "poke") == (2, "Invalid trigger: poke")
    assert p.xend.node.send_debug_keys("q") == 0
    assert "'q' pressed" in p.xend.node.dmesg.info()
    assert fault_of(p.xend.domain.usb_add, "vm1", "host:1234:5678") == (
        2,
        "Can't add usb device to a guest with usb disabled in configure file",
    )
    p.xend.domain.usb_add("vm3", "host:1234:5678")
    assert host.domain("vm3").usb == ["host:1234:5678"]
    p.xend.domain.usb_del("vm3", "host:1234:5678")
    assert host.domain("vm3").usb == []


def test_tmem_security_pools_introspection(served: Served) -> None:
    p = served.unix
    assert p.xend.node.tmem_set_weight(1, 5) == 0
    assert p.xend.node.tmem_freeze(1) == 0
    assert "C=CI:1" in p.xend.node.tmem_list(-1, 0)
    assert p.xend.node.tmem_thaw(-1) == 0
    assert p.xend.node.tmem_flush(1, 10) == 0
    assert p.xend.node.tmem_set_cap(1, 2) == 0
    assert p.xend.node.tmem_set_compress(1, 1) == 0
    assert p.xend.node.tmem_query_freeable_mb() == 0
    assert p.xend.node.tmem_shared_auth(1, "00000000-0000-0000-0000-000000000001", 1) == 0
    assert p.xend.node.tmem_destroy(1) == 0
    assert p.xend.security.get_xstype() == 0
    assert p.xend.security.list_labels("ACM", "dom") == []
    assert p.xend.security.get_labeled_resources() == {}
    assert p.xend.security.get_domain_label("vm1") == ""
    assert fault_of(p.xend.security.set_policy, 1, "<x/>", 0, True) == (
        2,
        "Command not supported under xsm 'dummy' module.",
    )
    pools = p.xend.cpu_pool.list([])
    assert dict(pools[0][1:])["name_label"] == "Pool-0"
    p.xend.cpu_pool.cpu_remove("Pool-0", 7)
    p.xend.cpu_pool.create(["pool", ["name_label", "p1"], ["ncpu", 1]])
    entry = p.xend.cpu_pool.list(["p1"])[0]
    assert dict(entry[1:])["host_CPU_numbers"] == [7]
    assert fault_of(p.xend.cpu_pool.start, "p1") == (2, ["POOL_BAD_STATE", "activated"])
    assert fault_of(p.xend.cpu_pool.start, "zz") == (2, "unknown pool zz")
    p.xend.cpu_pool.migrate("vm1", "p1")
    assert dict(p.xend.cpu_pool.list(["p1"])[0][1:])["started_VM_names"] == ["vm1"]
    p.xend.cpu_pool.migrate("vm1", "Pool-0")
    p.xend.cpu_pool.destroy("p1")
    p.xend.cpu_pool.delete("p1")
    uuid = p.xend.cpu_pool.new(["pool", ["name_label", "p2"]])
    assert isinstance(uuid, str)
    assert len(uuid) == 36
    p.xend.cpu_pool.start("p2")
    p.xend.cpu_pool.cpu_remove("Pool-0", 6)
    p.xend.cpu_pool.cpu_add("p2", 6)
    assert dict(p.xend.cpu_pool.list(["p2"])[0][1:])["host_CPU_numbers"] == [6, 7]
    names = p.system.listMethods()
    assert names == sorted(names)
    assert "xend.domain.pause" in names
    assert "system.listMethods" in names
    assert p.system.methodSignature("xend.domain") == "signatures not supported"
    assert "pause" in p.system.methodHelp("xend.domain.pause").lower()
    assert p.system.methodHelp("no.such") == ""


def test_every_listed_method_is_registered(served: Served) -> None:
    names = set(served.unix.system.listMethods())
    expected = {f"xend.domain.{m}" for m in [*_DISPATCH, *_DOMAIN]}
    expected |= {f"xend.node.{m}" for m in _NODE} | {f"xend.cpu_pool.{m}" for m in _POOL}
    expected |= {f"xend.security.{m}" for m in _SECURITY}
    expected |= {"xend.domain", "xend.domains", "xend.domains_with_state", "xend.node.log",
                 "xend.domain.create", "xend.domain.restore", "xend.node.dmesg.info",
                 "xend.node.dmesg.clear"}  # fmt: skip
    assert expected <= names
    for name in sorted(names):  # every registered method answers, fault or value
        method: Any = served.unix
        for part in name.split("."):
            method = getattr(method, part)
        codes = []
        try:
            method()
        except xmlrpc.client.Fault as fault:
            codes.append(fault.faultCode)
        assert set(codes) <= {1, 2, 3}


def test_http_level_behaviour(served: Served) -> None:
    port = port_of(served.emu.urls[1])
    reply = raw_exchange(port=port, data=b"GET /RPC2 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 501 Unsupported method ('GET')")
    assert b"Error code 501" in reply
    assert raw_exchange(path=served.xmlrpc_path, data=b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == b""
    garbage = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    assert raw_exchange(port=port, data=garbage) == b""
    # any path works, keep-alive serves several calls on one connection
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for path in ("/RPC2", "/", "/anything"):
        conn.request("POST", path, body=xmlrpc.client.dumps((0,), "xend.domains"))
        assert xmlrpc.client.loads(conn.getresponse().read())[0][0] == [
            "Domain-0", "vm1", "vm2", "vm3",
        ]  # fmt: skip
    conn.close()
    # None goes both ways
    assert served.unix.xend.domain.waitForDevices("vm1") is None
