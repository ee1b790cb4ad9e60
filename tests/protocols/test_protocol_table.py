"""The operation table and the client agree: one method per operation, one wire form each."""

from __future__ import annotations

import inspect

import pytest

from aioxend import XendClient
from aioxend.protocols import OPS

PUBLIC = {
    name
    for name, member in inspect.getmembers(XendClient, inspect.iscoroutinefunction)
    if not name.startswith("_")
}


def test_every_operation_has_a_method_and_back() -> None:
    assert set(OPS) - PUBLIC == set()
    assert PUBLIC - set(OPS) == {"aclose", "call"}


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_method_takes_a_timeout(name: str) -> None:
    parameters = inspect.signature(getattr(XendClient, name)).parameters
    assert parameters["timeout"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize("name", sorted(OPS))
def test_wire_forms_are_consistent(name: str) -> None:
    op = OPS[name]
    assert op.method.startswith(("xend.", "system."))
    assert len(set(op.xml_args + op.optional)) == len(op.xml_args + op.optional)
    if op.sxp is not None:
        args = {arg for _, arg, _ in op.sxp.fields}
        # A legacy field carries an argument the XML-RPC form has too.
        assert args <= set(op.xml_args), args - set(op.xml_args)
        if op.sxp.verb == "GET":
            assert op.read or op.sxp.special
        assert (op.sxp.where == "domain") == op.has_dom or op.sxp.special
