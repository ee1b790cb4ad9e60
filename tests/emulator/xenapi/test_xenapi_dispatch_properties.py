"""Any call, well-formed or not, answers a value or a Xen-API error, never a crash.

Hypothesis draws a method of the datamodel (or a made-up one) and parameters of every
shape, with or without a live session; the dispatcher must return or raise ``Failure``,
and whatever it returns must go over both wires.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from aioxend.emulator.xenapi import Failure, Pool, _jsonrpc, _xmlrpc
from aioxend.emulator.xenapi._datamodel import model
from aioxend.emulator.xenapi._dispatch import Dispatcher

METHODS = sorted(f"{cls.name}.{name}" for cls in model().classes.values() for name in cls.messages)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(["OpaqueRef:NULL", "", "vm1", "Halted", "1", "20240420T12:00:00Z"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)

POOL = Pool(vms=2, hosts=2)
SESSION = POOL.login(POOL.master, "root", "xenroot")
VM = POOL.vm("vm1")
XEND = Pool(vms=2, dialect="xend")
XEND_SESSION = XEND.login(XEND.master, "root", "xenroot")


@settings(max_examples=250, deadline=None)
@given(
    st.one_of(st.sampled_from(METHODS), st.text(max_size=12), st.just("Async.VM.start")),
    st.lists(st.one_of(values, st.sampled_from([VM, POOL.master])), max_size=6),
    st.booleans(),
    st.sampled_from(["master", "member", "xend"]),
)
def test_any_call_returns_or_fails_cleanly(
    method: str, params: list[Any], with_session: bool, where: str
) -> None:
    pool = XEND if where == "xend" else POOL
    host = POOL.hosts[1] if where == "member" else pool.master
    dispatcher = Dispatcher(pool, host, lambda v: _xmlrpc.task_result(v, pool.dialect))
    if with_session:
        params = [XEND_SESSION if where == "xend" else SESSION, *params]
    if method.endswith(".logout") or method.endswith("local_logout"):
        return  # would end the shared session
    failed: Failure | None = None
    try:
        value = dispatcher.call(method, params)
    except Failure as failure:
        failed = failure
    if failed is not None:
        assert failed.code
        assert all(isinstance(p, str) for p in failed.params)
        return
    _xmlrpc.encode_success(value, pool.dialect)
    call = _jsonrpc.JsonCall(method, params, 1, True)
    _jsonrpc.encode_success(call, value)
