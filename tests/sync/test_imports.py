"""What importing the blocking facade loads: nothing of the xend client for Xen-API."""

from __future__ import annotations

import ast
import subprocess
import sys


def loaded_after(code: str) -> set[str]:
    script = f"{code}\nimport sys\nprint(sorted(m for m in sys.modules if m.startswith('aioxend')))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(ast.literal_eval(out.stdout))


def test_the_xenapi_facade_loads_none_of_the_xend_client() -> None:
    loaded = loaded_after("from aioxend.sync import xenapi\nxenapi.connect, xenapi.XenAPIClient")
    assert "aioxend.xenapi._client" in loaded
    assert not loaded & {
        "aioxend.client",
        "aioxend.models",
        "aioxend.sxp",
        "aioxend.protocols._ops",
    }


def test_import_aioxend_sync_loads_no_client_until_a_name_is_read() -> None:
    loaded = loaded_after("import aioxend.sync")
    assert not {m for m in loaded if "client" in m or "_generated" in m}
    assert "aioxend.client" in loaded_after("import aioxend.sync\naioxend.sync.connect")
