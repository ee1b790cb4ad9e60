"""The legacy SXP/HTTP listener, driven by raw http.client requests (UNIX and TCP)."""

from __future__ import annotations

import pytest

from aioxend.sxp import loads
from tests.emulator.conftest import Served
from tests.emulator.emulator_support import Reply, SxpClient, raw_exchange

NO_CACHE = {("Pragma", "no-cache"), ("Cache-control", "no-cache"), ("Expires", "-1")}


def _names(reply: Reply) -> set[str]:
    return {k for k, _ in reply.headers}


def _check_headers(reply: Reply) -> None:
    assert set(reply.headers) >= NO_CACHE
    for name in _names(reply):
        assert name == name.capitalize()
    assert reply.header("Content-length") == str(len(reply.body))


@pytest.mark.parametrize("which", ["unix", "tcp"])
def test_root_and_listing(served: Served, which: str) -> None:
    client = served.sxp if which == "unix" else served.sxp_tcp
    reply = client.get("/xend/")
    assert (reply.status, reply.text) == (200, "(ls  node domain vnet)''")
    assert reply.header("Content-type") == "application/sxp"
    _check_headers(reply)
    assert client.get("/").text == "(ls )''"


def test_not_found_and_rpc2(served: Served) -> None:
    reply = served.sxp.request("POST", "/RPC2", body=b"<?xml version='1.0'?><methodCall/>")
    assert (reply.status, reply.reason, reply.text) == (404, "Not found", "Not found: RPC2")
    assert reply.header("Content-type") == "text/plain"
    _check_headers(reply)
    assert served.sxp.get("/xend/bogus").text == "Not found: bogus"
    assert served.sxp.get("/xend/domain/vm1/extra").text == "Not found: extra"
    missing = served.sxp.get("/xend/domain/vm9")
    assert (missing.status, missing.text) == (404, "<Fault 3: 'vm9'>")
    assert missing.header("Content-type") == "text/plain"
    assert served.sxp.post("/xend/domain/vm9", op="pause").text == "<Fault 3: 'vm9'>"
    assert served.sxp.get("/xend/vnet/7").text == "No such vnet 7"


def test_node_dmesg_log(served: Served) -> None:
    node = loads(served.sxp.get("/xend/node").body)
    assert isinstance(node, list)
    assert node[0] == "node"
    assert node[1] == ["system", "Linux"]
    assert node[-1] == ["xend_config_format", "4"]
    dmesg = served.sxp.get("/xend/node/dmesg")
    assert dmesg.header("Content-type") == "text/plain"
    assert dmesg.text.startswith(" Xen 4.4.0\n")
    cleared = served.sxp.post("/xend/node/dmesg", op="clear")
    assert (cleared.status, cleared.body) == (200, b"")
    assert served.sxp.get("/xend/node/dmesg").body == b""
    served.sxp.post("/xend/domain/vm1", op="pause")
    log = served.sxp.get("/xend/node/log")
    assert log.header("Content-type") == "text/plain"
    assert "paused" in log.text
    assert served.sxp.post("/xend/node", op="shutdown").text == "0"
    assert served.sxp.post("/xend/node", op="reboot").text == "0"


def test_domain_listing_variants(served: Served) -> None:
    served.sxp.post("/xend/domain/vm2", op="pause")
    assert served.sxp.get("/xend/domain").text == "(Domain-0 vm1 vm3)"
    assert served.sxp.get("/xend/domain?state=paused").text == "(vm2)"
    assert served.sxp.get("/xend/domain?state=all").text == "(Domain-0 vm1 vm2 vm3)"
    detail = loads(served.sxp.get("/xend/domain?detail=1").body)
    assert isinstance(detail, list)
    assert [d[0] for d in detail] == ["domain"] * 3
    assert any(item[0] == "device" for item in detail[1][1:])
    listed = loads(served.sxp.post("/xend/domain", op="list").body)
    assert isinstance(listed, list)
    assert len(listed) == 3


def test_domain_record(served: Served) -> None:
    reply = served.sxp.get("/xend/domain/vm1?detail=1")
    assert reply.text.endswith("''")
    assert reply.text.startswith("(domain (domid 1) (cpu_weight 256) (cpu_cap 0)")
    record = loads(reply.body)
    assert isinstance(record, list)
    avail = [item for item in record if isinstance(item, list) and item[0] == "vcpu_avail"]
    vcpus = served.emu.host.domain("vm1").vcpus
    assert avail == [["vcpu_avail", str((1 << vcpus) - 1)]]
    assert f"(vcpu_avail '{(1 << vcpus) - 1}')" in reply.text  # a quoted Python 2 long
    assert "(bootloader '')" in reply.text
    by_id = loads(served.sxp.get("/xend/domain/1").body)
    assert isinstance(by_id, list)
    assert ["name", "vm1"] in by_id
    vcpu = loads(served.sxp.get("/xend/domain/vm1?op=vcpuinfo").body)
    assert isinstance(vcpu, list)
    assert vcpu[:3] == ["domain", ["domid", "1"], ["name", "vm1"]]
    posted = loads(served.sxp.post("/xend/domain/vm1", op="vcpuinfo").body)
    assert isinstance(posted, list)
    assert posted[:4] == vcpu[:4]
    assert len(posted) == len(vcpu)


def test_status_codes(served: Served) -> None:
    s = served.sxp
    bad = s.post("/xend/domain/vm1")
    assert (bad.status, bad.reason, bad.text) == (406, "Invalid request", "''")
    twice = s.request("POST", "/xend/domain/vm1", body=b"op=pause&op=unpause",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert twice.status == 406
    unknown = s.post("/xend/domain/vm1", op="fly")
    assert (unknown.status, unknown.reason) == (501, "Operation not implemented: fly")
    assert unknown.text == "Operation not implemented: fly''"
    assert unknown.header("Content-type") == "application/sxp"
    failed = s.post("/xend/domain/0", op="pause")
    assert (failed.status, failed.reason) == (500, "Request failed: pause")
    assert failed.text == "(xend.err 'Cannot pause privileged domain 0')"
    method = s.request("PUT", "/xend/domain/vm1", body=b"")
    assert (method.status, method.text) == (501, "Request method not supported (PUT)")
    assert method.header("Accept") == "GET,HEAD,POST"
    head = s.request("HEAD", "/xend/domain/vm1")
    assert (head.status, head.body, head.header("Content-length")) == (200, b"", None)
    post_dir = s.post("/xend/", op="x")
    assert (post_dir.status, post_dir.text) == (200, "POST")


def test_request_body_limit(served: Served) -> None:
    small = b"op=pause&pad=" + b"x" * (10000 - 13)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    reply = served.sxp.request("POST", "/xend/domain/vm1", body=small, headers=form)
    assert reply.status == 200
    big = b"op=unpause&pad=" + b"x" * 10000
    head = (
        b"POST /xend/domain/vm1 HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: " + str(len(big)).encode() + b"\r\n\r\n"
    )
    answer = raw_exchange(path=served.sxp_path, data=head + big)
    assert answer.startswith(b"HTTP/1.1 413 Request entity too large\r\n")
    assert served.emu.host.domain("vm1").status == 1  # the unpause never ran


def test_accepted_commands_and_locations(served: Served) -> None:
    s, host = served.sxp, served.emu.host
    reply = s.post("/xend/domain/vm1", op="rename", name="web")
    assert (reply.status, reply.body) == (202, b"")
    assert reply.header("Location") == "http://localhost:8080/xend/domain/vm1/.."
    assert host.domain("web").domid == 1
    missing = s.post("/xend/domain/web", op="rename")
    assert (missing.status, missing.text) == (500, "(xend.err \"'name'\")")
    host.domain("web").on_reboot = "restart"
    assert s.post("/xend/domain/web", op="shutdown", reason="reboot").status == 202
    assert host.domain("web").restart_count == 1
    bad = s.post("/xend/domain/web", op="shutdown", reason="nap")
    assert (bad.status, bad.text) == (500, "(xend.err 'Invalid reason: nap')")
    assert s.post("/xend/domain/web", op="sysrq", key="115").status == 202
    assert host.domain("web").sysrq_keys == ["s"]
    nonnumeric = s.post("/xend/domain/web", op="sysrq", key="s")
    assert nonnumeric.status == 500
    assert "invalid literal for int()" in nonnumeric.text
    assert s.post("/xend/domain/web", op="wait_for_devices").status == 202
    assert s.post("/xend/domain/web", op="reset").status == 202
    assert s.post("/xend/domain/web", op="destroy").status == 202
    assert s.get("/xend/domain/web").status == 404
    tcp = served.sxp_tcp.post("/xend/domain/vm3", op="wait_for_devices")
    assert tcp.header("Location") == f"http://127.0.0.1:{served.sxp_tcp.port}/xend/domain/vm3/.."


def test_managed_lifecycle_and_create(served: Served) -> None:
    s, host = served.sxp, served.emu.host
    config = (
        "(vm (name fresh) (memory 256) (vcpus 1)"
        " (device (vbd (uname phy:/dev/x) (dev xvda) (mode w))))"
    )
    made = s.post("/xend/domain/", op="create", config=config)
    assert (made.status, made.reason) == (201, "created")
    assert made.header("Location") == "http://localhost:8080/xend/domain//fresh"
    record = loads(made.body)
    assert isinstance(record, list)
    assert ["state", "--p---"] in record
    assert host.domain("fresh").status == 1
    broken = s.post("/xend/domain/", op="create", config="(vm (name x")
    assert broken.status == 500
    assert broken.text.startswith("(xend.err 'Invalid configuration ")
    dup = s.post("/xend/domain/", op="create", config=config)
    assert dup.text.startswith("(xend.err \"Error creating domain: VM name 'fresh' already")
    nocfg = s.post("/xend/domain/", op="create")
    assert nocfg.text == (
        "(xend.err \"Configuration error 'NoneType' object has no attribute '__getitem__'\")"
    )
    new = s.post("/xend/domain/", op="new", config="(vm (name kept) (memory 128))")
    assert (new.status, new.body) == (200, b"")
    assert s.get("/xend/domain?state=halted").text == "(kept)"
    started = s.post("/xend/domain/kept", op="start", paused="1")
    assert started.status == 202
    assert host.domain("kept").status == 2  # xend's bug: start is never paused
    assert s.post("/xend/domain/kept", op="delete").status == 500
    assert s.post("/xend/domain/kept", op="destroy").status == 202
    assert s.post("/xend/domain/kept", op="delete").status == 202
    assert s.get("/xend/domain/kept").status == 404


def test_threaded_operations(served: Served) -> None:
    s, host = served.sxp, served.emu.host
    saved = s.post("/xend/domain/vm1", op="save", file="/srv/vm1.save")
    assert (saved.status, saved.body) == (202, b"")
    assert s.get("/xend/domain/vm1").status == 404
    restored = s.post("/xend/domain/", op="restore", file="/srv/vm1.save")
    assert (restored.status, restored.body) == (201, b"")
    assert restored.header("Location") == "http://localhost:8080/xend/domain//vm1"
    assert host.domain("vm1").status == 2
    failed = s.post("/xend/domain/", op="restore", file="/nope")
    assert failed.status == 200
    assert failed.text == (
        '(xend.err "can\'t read guest state file /nope: No such file or directory")'
    )
    # save without its file field: xend's thread died of a KeyError, nothing was written
    assert (
        raw_exchange(
            path=served.sxp_path,
            data=b"POST /xend/domain/vm1 HTTP/1.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 7\r\n\r\nop=save",
        )
        == b""
    )
    dump = s.post("/xend/domain/vm1", op="dump", file="/tmp/core", live="0", crash="0")
    assert (dump.status, dump.text) == (202, "(xend.err 'Missing parameter: reset')")
    dump = s.post("/xend/domain/vm1", op="dump", file="/tmp/core", live="0", crash="0", reset="0")
    assert (dump.status, dump.body) == (202, b"")
    assert ("vm1", "/tmp/core") in host.core_dumps
    moved = s.post("/xend/domain/vm3", op="migrate", destination="dst", live="1", port="0",
                   node="-1", ssl="0", change_home_server="0")  # fmt: skip
    assert (moved.status, moved.body) == (200, b"")
    assert host.migrations[-1] == ("vm3", "dst", 8002, True)
    nomig = s.post("/xend/domain/vm2", op="migrate", destination="dst")
    assert (nomig.status, nomig.text) == (200, "(xend.err 'Missing parameter: live')")
    assert s.post("/xend/domain/vm2", op="do_set_pauseflag").status == 202
    assert host.domain("vm2").paused_by_admin is True
    assert (
        raw_exchange(
            path=served.sxp_path,
            data=b"POST /xend/domain/vm2 HTTP/1.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 19\r\n\r\nop=do_get_pauseflag",
        )
        == b""
    )
    usb = s.post("/xend/domain/vm2", op="usb_add")
    assert usb.status == 202
    assert usb.text == (
        '(xend.err "Can\'t add usb device to a guest with usb disabled in configure file")'
    )


def test_settings_devices_scheduler(served: Served) -> None:
    s, host = served.sxp, served.emu.host
    assert s.post("/xend/domain/vm1", op="maxmem_set", memory="4096").text == "0"
    assert s.post("/xend/domain/vm1", op="mem_target_set", target="9999").body == b""
    assert host.domain("vm1").memory == 4096  # capped at maxmem
    assert s.post("/xend/domain/vm1", op="set_vcpus", vcpus="1").status == 200
    assert host.domain("vm1").online_vcpus == 1
    missing = s.post("/xend/domain/vm1", op="set_vcpus")
    assert (missing.status, missing.text) == (500, "(xend.err 'Missing parameter: vcpus')")
    badint = s.post("/xend/domain/vm1", op="set_vcpus", vcpus="two")
    assert badint.text == "(xend.err \"invalid literal for int() with base 10: 'two'\")"
    assert s.post("/xend/domain/vm1", op="pincpu", vcpu="0", cpumap="1,2").text == "0"
    assert host.domain("vm1").cpus[0] == [1, 2]
    credit = s.post("/xend/domain/vm1", op="domain_sched_credit_get")
    assert credit.text == "\"{'cap': 0, 'weight': 256}\""
    assert s.post("/xend/domain/vm1", op="domain_sched_credit_set", weight="512",
                  cap="0").text == "0"  # fmt: skip
    assert host.domain("vm1").cpu_weight == 512
    out = s.post("/xend/domain/vm1", op="domain_sched_credit_set", weight="0", cap="0")
    assert out.text == (
        "(xend.err 'Cpu weight out of range, valid values are within range from 1 to 65535')"
    )
    assert s.post("/xend/domain/vm1", op="cpu_sedf_get").text == (
        "(xend.err \"(22, 'Invalid argument')\")"
    )
    host.scheduler = "credit2"
    assert s.post("/xend/domain/vm1", op="domain_sched_credit2_set", weight="9").text == "0"
    assert s.post("/xend/domain/vm1", op="domain_sched_credit2_get").text == "\"{'weight': 9}\""
    host.scheduler = "sedf"
    assert s.post("/xend/domain/vm1", op="cpu_sedf_set", period="1", slice="2", latency="3",
                  extratime="4", weight="5").text == "0"  # fmt: skip
    assert s.post("/xend/domain/vm1", op="cpu_sedf_get").text == (
        "(sedf (domid 1) (period 1) (slice 2) (latency 3) (extratime 4) (weight 5))"
    )
    made = s.post("/xend/domain/vm1", op="device_create",
                  config="(vbd (uname phy:/dev/vg/b) (dev xvdb) (mode w))")  # fmt: skip
    assert made.text == "(vbd (dom 1 id 51728))"
    devs = loads(s.post("/xend/domain/vm1", op="devices", type="vbd").body)
    assert isinstance(devs, list)
    assert [d[0] for d in devs] == ["51712", "51728"]
    configured = s.post("/xend/domain/vm3", op="device_configure",
                        config="(vbd (uname file:/x.iso) (dev hdc:cdrom) (mode r))",
                        dev="hdc")  # fmt: skip
    assert configured.text == "True"
    partial = s.post("/xend/domain/vm1", op="device_destroy", type="vbd", dev="xvdb")
    assert partial.text == "(xend.err 'Missing parameter: force')"
    gone = s.post("/xend/domain/vm1", op="device_destroy", type="vbd", dev="xvdb", force="0",
                  rm_cfg="1")  # fmt: skip
    assert (gone.status, gone.body) == (200, b"")
    bad_sxpr = s.post("/xend/domain/vm1", op="device_create", config="(vbd")
    assert bad_sxpr.text == "(xend.err 'Coercion error')"
    assert s.post("/xend/domain/vm1", op="configure", config="(vm)").text == (
        "(xend.err 'domain_configure() takes exactly 2 arguments (3 given)')"
    )
    assert s.post("/xend/domain/vm1", op="vif_limit_set").text == (
        "(xend.err \"XendDomain instance has no attribute 'domain_vif_limit_set'\")"
    )


def test_vnets(served: Served) -> None:
    s = served.sxp
    assert s.get("/xend/vnet").text == "()"
    made = s.post("/xend/vnet", op="create", config="(vnet (id 5) (bridge vnet5))")
    assert made.status == 200
    assert s.get("/xend/vnet").text == "(5)"
    assert (
        s.get("/xend/vnet/5").text == "(vnet (id 5) (bridge vnet5) (vnetif vnif5) (security none))"
    )
    assert s.post("/xend/vnet/5", op="delete").status == 200
    assert s.get("/xend/vnet/5").status == 404


def test_html_negotiation(served: Served) -> None:
    browser = {"User-Agent": "Mozilla/5.0", "Accept": "text/html"}
    html = served.sxp.get("/xend/", headers=browser)
    assert html.text.startswith("<html><head></head><body>")
    assert html.header("Content-type") is None
    sxp_accept = served.sxp.get("/xend/", headers={**browser, "Accept": "application/sxp"})
    assert sxp_accept.text == "(ls  node domain vnet)''"
    only_agent = served.sxp.get("/xend/", headers={"User-Agent": "curl"})
    assert only_agent.text.startswith("(ls")
    err = served.sxp.request("POST", "/xend/domain/0", body=b"op=pause",
                             headers={**browser, "Content-Type":
                                      "application/x-www-form-urlencoded"})  # fmt: skip
    assert err.status == 500
    assert "<p>Cannot pause privileged domain 0</p>" in err.text


def test_html_domain_page_is_srvdomain_form(served: Served) -> None:
    browser = {"User-Agent": "Mozilla/5.0", "Accept": "text/html"}
    page = served.sxp.get("/xend/domain/vm1", headers=browser).text
    forms = page.split('<form method="post" action="')[1:]
    assert len(forms) == 6
    bodies = [f.split(">", 1)[1] for f in forms]
    button = '<input type="submit" name="op" value="{}">'.format
    assert bodies[0] == button("unpause") + button("pause") + "</form>"
    assert bodies[3].startswith(button("shutdown") + '<input type="radio" name="reason" '
                                'value="poweroff" checked>Poweroff')  # fmt: skip
    assert bodies[4] == "<br>" + button("save") + ' To file: <input type="text" name="file"></form>'
    assert '<input type="checkbox" name="live" value="1">Live</form></body></html>' in bodies[5]


def test_keep_alive_multipart_and_libvirt_requests(served: Served) -> None:
    request = (
        b"GET /xend/node/ HTTP/1.1\r\nHost: localhost:8000\r\nAccept-Encoding: identity\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
    )
    answer = raw_exchange(path=served.sxp_path, data=request)  # closed after one answer
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"(node (system Linux)" in answer
    twice = request.replace(b"Host:", b"Connection: keep-alive\r\nHost:") * 2
    answer = raw_exchange(path=served.sxp_path, data=twice[: len(twice) // 2] + request)
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert b"Connection: keep-alive" in answer
    body = b'--XyZ\r\nContent-Disposition: form-data; name="op"\r\n\r\npause\r\n--XyZ--\r\n'
    multi = served.sxp.request(
        "POST", "/xend/domain/vm1", body=body,
        headers={"Content-Type": "multipart/form-data; boundary=XyZ"},
    )  # fmt: skip
    assert multi.status == 200
    assert served.emu.host.domain("vm1").status == 1
    libvirt = (
        b"POST /xend/domain/vm1 HTTP/1.1\r\nHost: localhost:8000\r\n"
        b"Accept-Encoding: identity\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 10\r\n\r\nop=unpause"
    )
    assert raw_exchange(path=served.sxp_path, data=libvirt).startswith(b"HTTP/1.1 200 OK")
    assert served.emu.host.domain("vm1").status == 2
    bad = raw_exchange(path=served.sxp_path, data=b"NONSENSE\r\n\r\n")
    assert bad.startswith(b"HTTP/1.1 400 Bad request")


def test_sxp_client_on_tcp(served: Served) -> None:
    client = SxpClient(port=served.sxp_tcp.port)
    assert client.get("/xend/domain").text == "(Domain-0 vm1 vm2 vm3)"
