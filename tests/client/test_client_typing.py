"""mypy --strict on a user's script: the fixed values of the legacy client are Literal types.

Shutdown reasons, state filters and ``protocol`` take only the values xend knows, and
``call()`` of both clients returns the XML-RPC value alias, not ``object``. Checked as the generated
Xen-API types are (``tests/xenapi/typing``): mypy's notes and errors, line by line.
"""

from __future__ import annotations

import textwrap

from tests.xenapi.typing.test_user_script import expectations, mypy_output

SCRIPT = textwrap.dedent(
    """
    import aioxend
    from aioxend import xenapi


    async def use(xend: aioxend.XendClient) -> None:
        await xend.shutdown("vm1", reason="halt")
        await xend.shutdown("vm1", reason="halted")  # expect: arg-type: "reason"
        await xend.domains("paused")
        await xend.domains(2)
        await xend.domains("stopped")  # expect: arg-type: "domains"
        await xend.domain_names("sleeping")  # expect: arg-type: "domain_names"
        aioxend.connect(protocol="sxp")
        aioxend.connect(protocol="jsonrpc")  # expect: arg-type: "protocol"
        value = await xend.call("xend.node.info")
        reveal_type(value)  # expect: VALUE
        if isinstance(value, list):
            reveal_type(value)  # expect: list[VALUE]


    async def use_xenapi(xapi: xenapi.XenAPIClient) -> None:
        reveal_type(await xapi.call("VM.get_all"))  # expect: VALUE
    """
)
SCALARS = "bool | int | float | str | bytes | datetime.datetime"
INNER = f"{SCALARS} | list[...] | dict[str, ...] | None"
VALUE = f"{SCALARS} | list[{INNER}] | dict[str, {INNER}] | None"


def test_fixed_values_are_literals_and_call_returns_the_value_alias() -> None:
    expected = expectations(SCRIPT)
    got = mypy_output(SCRIPT)
    assert set(got) == set(expected), (got, expected)
    for number, expectation in expected.items():
        [message] = got[number]
        if expectation.startswith("arg-type:"):
            fragment = expectation.split(":", 1)[1].strip()
            assert message.startswith("error:"), message
            assert message.endswith("[arg-type]"), message
            assert fragment in message, message
        else:
            revealed = expectation.replace("VALUE", VALUE)
            assert message == f'note: Revealed type is "{revealed}"', message
