"""The committed generated code is what the generator writes, and it loads lazily."""

from __future__ import annotations

import filecmp
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


def load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_xenapi", ROOT / "tools" / "gen_xenapi.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_xenapi"] = module
    spec.loader.exec_module(module)
    return module


GEN = load_generator()
NAMES = st.sampled_from(["VM", "host", "VM_metrics", "sr_stat", "PIF"])


def render(t: Any) -> str:
    """A type as the datamodel spells it."""
    if t.kind in ("ref", "record"):
        return f"{t.name} {t.kind}"
    if t.kind == "enum":
        return f"enum {t.name}"
    if t.kind in ("set", "option"):
        return f"{render(t.args[0])} {t.kind}"
    if t.kind == "map":
        return f"({render(t.args[0])} -> {render(t.args[1])}) map"
    return str(t.kind)


TYPES = st.recursive(
    st.sampled_from(["string", "int", "float", "bool", "datetime"]).map(GEN.Type)
    | NAMES.map(lambda n: GEN.Type("ref", n))
    | NAMES.map(lambda n: GEN.Type("record", n))
    | st.sampled_from(["vm_power_state", "cls"]).map(lambda n: GEN.Type("enum", n)),
    lambda inner: (
        st.builds(lambda t: GEN.Type("set", args=(t,)), inner)
        | st.builds(lambda t: GEN.Type("option", args=(t,)), inner)
        | st.builds(lambda k, v: GEN.Type("map", args=(k, v)), inner, inner)
    ),
    max_leaves=6,
)


@given(TYPES)
def test_type_strings_parse_back(t: Any) -> None:
    assert GEN.parse_type(render(t)) == t


@pytest.mark.parametrize(
    "text", ["", "strng", "(string -> string map", "(string string) map", "enum"]
)
def test_malformed_type_strings_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="type"):
        GEN.parse_type(text)


def test_every_datamodel_type_parses() -> None:
    model = json.loads((ROOT / "aioxend/xenapi/data/xenapi.json").read_text("utf-8"))
    for cls in model:
        for f in cls["fields"]:
            GEN.parse_type(f["type"])
        for m in cls["messages"]:
            GEN.parse_type(m["result"][0])
            for p in m["params"]:
                GEN.parse_type(p["type"])
