"""What the Xen-API client loads: none of the legacy xend machinery (the operation table,
the models, SXP), so its first connect pays only for what it uses. Run in a fresh
interpreter, since this test session has loaded everything already."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LEGACY = ("aioxend.models", "aioxend.sxp", "aioxend.protocols._ops", "aioxend.protocols._base")

SCRIPT = """
import sys
import anyio
from aioxend.xenapi import XenAPIClient
from tests.xenapi._mock import FakeXapi

async def main() -> None:
    fake = FakeXapi()
    xapi = XenAPIClient(
        "https://pool.example/", protocol=PROTOCOL, transport=fake.transport,
        username="root", password="xenroot",
    )
    async with xapi:
        records = await xapi.VM.get_all_records()
        assert len(records) == 3, records
        await xapi.call("VM.get_power_state", next(iter(records)))

anyio.run(main)
print(" ".join(sorted(name for name in sys.modules if name.startswith(LEGACY))))
"""


@pytest.mark.parametrize("protocol", ["jsonrpc", "xmlrpc", "auto"])
def test_a_client_and_its_first_calls_load_no_legacy_module(protocol: str) -> None:
    script = f"PROTOCOL = {protocol!r}\nLEGACY = {LEGACY!r}\n{SCRIPT}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


def test_the_legacy_names_still_load_on_first_use() -> None:
    """``from aioxend.protocols import X`` and attribute access keep working, lazily."""
    import aioxend.protocols as protocols
    from aioxend.protocols import OPS, XmlRpcBackend

    assert protocols.OPS is OPS
    assert protocols.XmlRpcBackend is XmlRpcBackend
    assert set(protocols.__all__) <= set(dir(protocols))
    with pytest.raises(AttributeError, match="no_such_name"):
        protocols.no_such_name  # noqa: B018
