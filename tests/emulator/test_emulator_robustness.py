"""Any call, any arguments: the XML-RPC side always answers with a well-formed document."""

from __future__ import annotations

import xmlrpc.client

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aioxend.emulator import Host
from aioxend.emulator._xmlrpc import XmlRpcDispatcher

_DISPATCHER = XmlRpcDispatcher(Host(domains=4, seed=11))
_NAMES = sorted(_DISPATCHER.methods)

# only what can arrive: a request holding control characters is not XML, so never parses
_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**31), 2**31 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["vm1", "vm2", "Domain-0", "0", "1", "all", "halt", "xvda", "vbd", ""])
    | _text
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_NAMES) | _text, st.lists(_values, max_size=5))
def test_every_call_gets_a_well_formed_answer(method: str, params: list[object]) -> None:
    document = _DISPATCHER.answer(method, tuple(params))
    faults: list[xmlrpc.client.Fault] = []
    try:
        xmlrpc.client.loads(document)
    except xmlrpc.client.Fault as fault:
        faults.append(fault)
    for caught in faults:
        assert caught.faultCode in (1, 2, 3)
        assert isinstance(caught.faultString, (str, list))
