"""Every example runs to completion against the emulator it starts itself, exit status 0.

Each runs as its users would run it, ``python examples/<name>.py``, in a subprocess with
a time limit, so a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: What each example must print, beyond exiting 0: proof that it did its job.
EXPECTED = {
    "list_domains.py": ["Domain-0", "CPUs"],
    "pause_resume.py": ["after pause", "after unpause", "as expected"],
    "create_from_config.py": ["created example-guest", "(domain", "destroyed example-guest"],
    "watch_states.py": ["appeared", "->", "transitions seen"],
    "fleet_status.py": ["8 hosts answered, 2 failed", "FAILED"],
    "legacy_sxp.py": ["over sxp", "after op=pause", "InvalidDomain", "not available"],
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
