"""mypy --strict on a user's script knows the cache's views: ``cache.VM`` is a
``CacheView[VMRef, VMRecord]``, derived from the generated ``Views`` (one per class with
``get_all_records``), so a wrong reference type or a class it has no view of is an error."""

from __future__ import annotations

import textwrap

from tests.xenapi.typing.test_user_script import expectations, mypy_output

G = "aioxend.xenapi._generated"
REF, RECORD = f"{G}._refs.VMRef", f"{G}.vm.VMRecord"
SCRIPT = textwrap.dedent(
    f"""
    from aioxend import xenapi
    from aioxend.xenapi import VMRef, hostRef


    async def use(xapi: xenapi.XenAPIClient, ref: VMRef, host: hostRef) -> None:
        cache = await xapi.cache(["VM", "host"])
        reveal_type(cache)  # expect: aioxend.xenapi._cache.Cache
        reveal_type(cache.VM)  # expect: aioxend.xenapi._cache_view.CacheView[{REF}, {RECORD}]
        reveal_type(cache.VM[ref])  # expect: {G}.vm.VMRecord
        reveal_type(cache.host[host].resident_VMs)  # expect: list[{G}._refs.VMRef]
        reveal_type(cache.VM.by_uuid("u"))  # expect: {G}._refs.VMRef
        reveal_type(cache.VM.where(power_state="Running"))  # expect: dict[{REF}, {RECORD}]
        reveal_type(await cache.changed())  # expect: tuple[aioxend.xenapi._cache.Change, ...]
        cache.VM[host]  # expect: index: Invalid index type "hostRef"
        cache.session  # expect: attr-defined: "Cache" has no attribute "session"
        await cache.aclose()
    """
)


def test_mypy_types_the_views() -> None:
    expected = expectations(SCRIPT)
    got = mypy_output(SCRIPT)
    assert set(got) == set(expected), (got, expected)
    for number, expectation in expected.items():
        [message] = got[number]
        if ":" in expectation and not expectation.startswith(("aioxend", "list", "dict", "tuple")):
            code, fragment = (part.strip() for part in expectation.split(":", 1))
            assert message.startswith("error:"), message
            assert message.endswith(f"[{code}]"), message
            assert fragment in message, message
        else:
            assert message == f'note: Revealed type is "{expectation}"', message
