"""mypy --strict on a user's script sees the blocking methods typed as the async ones.

As ``tests/xenapi/typing``: the script is checked as program text and each line ending
in ``# expect: ...`` must produce that revealed type or that error (code: fragment).
"""

from __future__ import annotations

import textwrap

from tests.xenapi.typing.test_user_script import expectations, mypy_output

G = "aioxend.xenapi._generated"
S = "aioxend.sync._generated"
E = "aioxend.xenapi._events"
SCRIPT = textwrap.dedent(
    f"""
    import aioxend.sync
    from aioxend.sync import xenapi
    from aioxend.xenapi import VMRef, hostRef


    def legacy() -> None:
        with aioxend.sync.connect("http://xen1:8006/", protocol="xmlrpc", timeout=5) as xend:
            reveal_type(xend)  # expect: {S}.xend.XendClient
            reveal_type(xend.domains())  # expect: list[aioxend.models.DomainInfo]
            reveal_type(xend.pause("vm1"))  # expect: None
            reveal_type(xend.pause("vm1", state=True))  # expect: aioxend.models.PowerState
            reveal_type(xend.node_info())  # expect: aioxend.models.NodeInfo
            reveal_type(xend.url)  # expect: str
            reveal_type(next(xend.watch(interval=0.5)))  # expect: aioxend.events.Event
            xend.domain("vm1", timeout="soon")  # expect: arg-type: "timeout"
            xend.set_memory("vm1", "1G")  # expect: arg-type: type "str"; expected "int"
            xend.pauze("vm1")  # expect: attr-defined: has no attribute "pauze"
        aioxend.sync.connect(protocol="soap")  # expect: arg-type: "protocol"
        aioxend.sync.connect(urll="x")  # expect: call-arg: Unexpected keyword argument "urll"


    def xen_api(ref: VMRef, host: hostRef) -> None:
        with xenapi.connect("https://pool.example/", username="u", password="p") as xapi:
            reveal_type(xapi)  # expect: {S}.xenapi.XenAPIClient
            record = xapi.VM.get_record(ref)
            reveal_type(record)  # expect: {G}.vm.VMRecord
            reveal_type(record.power_state)  # expect: {G}._enums.vm_power_state.VmPowerState
            records = xapi.VM.get_all_records()
            reveal_type(records)  # expect: dict[{G}._refs.VMRef, {G}.vm.VMRecord]
            reveal_type(xapi.event.from_(["vm"], "", 30.0))  # expect: {G}.event.EventBatch
            reveal_type(xapi.session_id)  # expect: str | None
            events = xapi.events(["vm"])
            reveal_type(next(events))  # expect: aioxend.events.Event | {E}.Resync
            reveal_type(events.source.token)  # expect: str
            task = xapi.Async.VM.clone(ref, "copy")
            reveal_type(task)  # expect: aioxend.sync._task.Task[{G}._refs.VMRef]
            reveal_type(task.wait(timeout=60))  # expect: {G}._refs.VMRef
            xapi.VM.get_record(host)  # expect: arg-type: type "hostRef"; expected "VMRef"
            xapi.VM.start(ref, "yes", False)  # expect: arg-type: type "str"; expected "bool"
            xapi.VMM  # expect: attr-defined: "XenAPIClient" has no attribute "VMM"
        reveal_type(xenapi.connect().VM.get_record(ref))  # expect: {G}.vm.VMRecord
        xenapi.connect(passwd="p")  # expect: call-arg: Unexpected keyword argument "passwd"
    """
)


def test_mypy_sees_the_async_types_on_the_blocking_clients() -> None:
    expected = expectations(SCRIPT)
    got = mypy_output(SCRIPT)
    assert set(got) == set(expected), (got, expected)
    for number, expectation in expected.items():
        [message] = got[number]
        if ":" in expectation and not expectation.startswith(("aioxend", "dict", "list")):
            code, fragment = (part.strip() for part in expectation.split(":", 1))
            assert message.startswith("error:"), message
            assert message.endswith(f"[{code}]"), message
            assert fragment in message, message
        else:
            assert message == f'note: Revealed type is "{expectation}"', message
