"""The emulated host's layout: each group of xend operations lives in its own module."""

from __future__ import annotations

from pathlib import Path

import pytest

import aioxend.emulator
from aioxend.emulator import Host

_WHERE = {
    "domain_pause": "_lifecycle",
    "shutdown": "_lifecycle",
    "domain_save": "_lifecycle",
    "device_create": "_devices",
    "getDeviceSxprs": "_devices",
    "setMemoryTarget": "_settings",
    "domain_send_trigger": "_settings",
    "domain_sched_credit_set": "_sched",
    "node_info": "_node",
    "tmem_list": "_node",
    "pool_create": "_pools",
    "lookup_nr": "_hoststate",
}


@pytest.mark.parametrize(("method", "module"), sorted(_WHERE.items()))
def test_operations_live_with_their_kind(method: str, module: str) -> None:
    assert getattr(Host, method).__module__ == f"aioxend.emulator.{module}"


def test_no_host_module_is_a_catch_all() -> None:
    package = Path(aioxend.emulator.__file__).parent
    names = {*_WHERE.values(), "_host", "_records", "_args"}
    sizes = {n: len((package / f"{n}.py").read_text().splitlines()) for n in names}
    assert max(sizes.values()) < 450, sizes
