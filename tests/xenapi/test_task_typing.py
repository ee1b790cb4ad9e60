"""mypy --strict on a user's script knows what ``xapi.Async`` methods, their ``Task`` and
the event stream give (the same check as ``typing/test_user_script.py``)."""

from __future__ import annotations

import textwrap

from tests.xenapi.typing.test_user_script import expectations, mypy_output

G = "aioxend.xenapi._generated"
E = "aioxend.xenapi._events"
SCRIPT = textwrap.dedent(
    f"""
    from aioxend import xenapi
    from aioxend.xenapi import VMRef, hostRef


    async def use(xapi: xenapi.XenAPIClient, ref: VMRef, host: hostRef) -> None:
        task = await xapi.Async.VM.clone(ref, "copy")
        reveal_type(task)  # expect: aioxend.xenapi._task.Task[{G}._refs.VMRef]
        reveal_type(await task)  # expect: {G}._refs.VMRef
        reveal_type(await task.wait(timeout=5.0))  # expect: {G}._refs.VMRef
        reveal_type(task.progress)  # expect: float
        stop = await xapi.Async.VM.clean_shutdown(ref)
        reveal_type(stop)  # expect: aioxend.xenapi._task.Task[None]
        await xapi.Async.VM.clean_shutdown(host)  # expect: arg-type: type "hostRef"; expected
        xapi.Async.VM.get_record  # expect: attr-defined: has no attribute "get_record"
        async for item in xapi.events(["vm"], timeout=30.0):
            reveal_type(item)  # expect: aioxend.events.Event | {E}.Resync
    """
)


def parts(expectation: str) -> list[str]:
    """What mypy's message on a line must contain: the revealed type, or the error's
    code and a fragment of its text."""
    if ":" in expectation and not expectation.startswith("aioxend"):
        code, fragment = (part.strip() for part in expectation.split(":", 1))
        return ["error:", f"[{code}]", fragment]
    return [f'note: Revealed type is "{expectation}"']


def test_mypy_reveals_task_and_event_types() -> None:
    expected = expectations(SCRIPT)
    got = mypy_output(SCRIPT)
    assert set(got) == set(expected), (got, expected)
    for number, expectation in expected.items():
        [message] = got[number]
        assert all(part in message for part in parts(expectation)), (message, expectation)
