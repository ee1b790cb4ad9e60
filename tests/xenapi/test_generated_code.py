"""The committed generated code is what the generator writes, and it loads lazily."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "aioxend" / "xenapi" / "_generated"


def test_regenerating_gives_what_is_committed(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_xenapi.py"), str(tmp_path)],
        check=True,
        capture_output=True,
    )
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.py"))
    committed = sorted(str(p.relative_to(COMMITTED)) for p in COMMITTED.rglob("*.py"))
    assert written == committed
    _, mismatch, errors = filecmp.cmpfiles(tmp_path, COMMITTED, written, shallow=False)
    assert (mismatch, errors) == ([], []), "run python tools/gen_xenapi.py and commit the result"


def loaded_after(code: str) -> set[str]:
    """The aioxend modules a fresh interpreter has loaded after running ``code``."""
    script = f"{code}\nimport sys\nprint(' '.join(m for m in sys.modules if 'aioxend' in m))"
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    return set(out.split())


def test_import_aioxend_loads_no_generated_module() -> None:
    assert not {m for m in loaded_after("import aioxend") if "_generated" in m}


def test_the_typed_layer_loads_nothing_of_the_legacy_client() -> None:
    loaded = loaded_after("import aioxend.xenapi._generated, aioxend.xenapi.errors")
    assert not loaded & {"aioxend.client", "aioxend.sxp", "aioxend.protocols", "aioxend.models"}


def test_the_namespace_loads_a_class_module_on_first_use_only() -> None:
    before = loaded_after("import aioxend.xenapi._generated")
    assert not {m for m in before if m.startswith("aioxend.xenapi._generated.")}
    code = (
        "from aioxend.xenapi._generated import Namespace\n"
        "class C(Namespace):\n"
        "    async def call(self, *a, **k): return None\n"
        "C().VM_metrics\n"
    )
    after = {m for m in loaded_after(code) if m.startswith("aioxend.xenapi._generated.")}
    prefix = "aioxend.xenapi._generated."
    modules = {"vm_metrics", "_enums", "_enums.domain_type", "_refs"}
    assert after == {prefix + m for m in modules}


def test_errors_json_is_read_only_when_an_error_is_built() -> None:
    code = (
        "import aioxend.xenapi.errors as e\n"
        "assert e._all_names.cache_info().currsize == 0\n"
        "str(e.from_description('VM.start', ['VM_BAD_POWER_STATE', 'r', 'halted', 'running']))\n"
        "assert e._all_names.cache_info().currsize == 1\n"
    )
    loaded_after(code)
