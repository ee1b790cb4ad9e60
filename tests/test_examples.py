"""Every example runs to completion against the emulator it starts itself, exit status 0.

Each runs as its users would run it, ``python examples/<name>.py``, in a subprocess with
a time limit, so a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from aioxend.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

#: What each example must print, beyond exiting 0: proof that it did its job.
EXPECTED = {
    "list_domains.py": ["Domain-0", "CPUs"],
    "pause_resume.py": ["after pause", "after unpause", "as expected"],
    "create_from_config.py": ["created example-guest", "(domain", "destroyed example-guest"],
    "watch_states.py": ["appeared", "->", "transitions seen"],
    "fleet_status.py": ["8 hosts answered, 2 failed", "FAILED"],
    "legacy_sxp.py": ["over sxp", "op=mem_target_set", "InvalidDomain", "not available"],
    "pool_failover.py": ["failover after a master crash", "failover after a master hang"],
    "xenapi_inventory.py": ["over jsonrpc", "host host1", "vm1", "Running", "4 VMs, 1 running"],
    "metrics.py": ["calls by operation", "xend    pause", "VM.get_power_state", "calls, 2 errors"],
}


def test_every_example_is_listed() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_against_its_own_emulator(name: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for needle in EXPECTED[name]:
        assert needle in proc.stdout, proc.stdout


def test_readme_quick_start_runs_against_an_emulator() -> None:
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"## Quick start\n(?:<!--.*?-->\n)?\n```python\n(.*?)```", readme, re.DOTALL)
    assert found is not None
    with Emulator.in_thread(domains=2, xmlrpc_tcp="127.0.0.1:0") as emu:
        proc = subprocess.run(
            [sys.executable, "-c", found.group(1)],
            env={**os.environ, "XM_SERVER": emu.urls[0]},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert emu.host.domain("vm1").state_string == "--p---"
    assert "('vm1', '--p---')" in proc.stdout
