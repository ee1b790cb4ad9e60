"""mypy --strict on a user's script knows what the generated methods return and take.

The script is checked with mypy's API as program text (``-c``: mypy caches what a file
reported under the file's path, which a temporary file would not keep); its ``reveal_type``
notes and its errors are compared, line by line, with what each line is meant to produce.
Each line of interest ends with a ``# expect: ...`` comment (a revealed type, or an error
code and a fragment of the message).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[3]

G = "aioxend.xenapi._generated"
SCRIPT = textwrap.dedent(
    f"""
    from aioxend import xenapi
    from aioxend.xenapi import VMRef, hostRef


    async def main(ref: VMRef, host: hostRef) -> None:
        async with xenapi.connect("https://pool.example/", username="u", password="p") as xapi:
            reveal_type(xapi)  # expect: aioxend.xenapi._client.XenAPIClient
            await use(xapi, ref, host)


    async def use(xapi: xenapi.XenAPIClient, ref: VMRef, host: hostRef) -> None:
        record = await xapi.VM.get_record(ref)
        reveal_type(record)  # expect: {G}.vm.VMRecord
        reveal_type(record.power_state)  # expect: {G}._enums.vm_power_state.VmPowerState
        reveal_type(record.memory_static_max)  # expect: int
        reveal_type(record.resident_on)  # expect: {G}._refs.hostRef
        records = await xapi.VM.get_all_records()
        reveal_type(records)  # expect: dict[{G}._refs.VMRef, {G}.vm.VMRecord]
        refs = await xapi.VM.get_by_name_label("vm1")
        reveal_type(refs)  # expect: list[{G}._refs.VMRef]
        batch = await xapi.event.from_(["vm"], "", 30.0)
        reveal_type(batch)  # expect: {G}.event.EventBatch
        await xapi.VM.get_record(host)  # expect: arg-type: type "hostRef"; expected "VMRef"
        await xapi.VM.get_record("OpaqueRef:1")  # expect: arg-type: type "str"; expected "VMRef"
        await xapi.VM.start(ref, "yes", False)  # expect: arg-type: type "str"; expected "bool"
        await xapi.VM.set_actions_after_crash(ref, "restart")  # expect: arg-type: "OnCrash
        await xapi.VM.get_record(ref, timeout="soon")  # expect: arg-type: "timeout"
        xapi.VMM  # expect: attr-defined: "XenAPIClient" has no attribute "VMM"
        await xapi.call("VM.get_power_state", ref)
    """
)

EXPECT = re.compile(r"#\s*expect:\s*(.*)$")


def expectations(script: str) -> dict[int, str]:
    """Line number -> the expectation written on that line."""
    found = {}
    for number, line in enumerate(script.splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            found[number] = match.group(1).strip()
    return found


def mypy_output(script: str) -> dict[int, list[str]]:
    """Line number -> mypy's notes and errors on the lines of ``script``."""
    stdout, stderr, _ = api.run(
        [
            "--strict",
            "--no-error-summary",
            "--show-error-codes",
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            "-c",
            script,
        ]
    )
    assert not stderr, stderr
    lines: dict[int, list[str]] = {}
    for line in stdout.splitlines():
        match = re.match(r"<string>:(\d+): (.*)$", line)
        assert match, line
        lines.setdefault(int(match.group(1)), []).append(match.group(2))
    return lines


def test_mypy_reveals_typed_results_and_flags_wrong_arguments() -> None:
    expected = expectations(SCRIPT)
    got = mypy_output(SCRIPT)
    assert set(got) == set(expected), (got, expected)
    for number, expectation in expected.items():
        [message] = got[number]
        if ":" in expectation and not expectation.startswith("aioxend"):
            code, fragment = (part.strip() for part in expectation.split(":", 1))
            assert message.startswith("error:"), message
            assert message.endswith(f"[{code}]"), message
            assert fragment in message, message
        else:
            assert message == f'note: Revealed type is "{expectation}"', message
