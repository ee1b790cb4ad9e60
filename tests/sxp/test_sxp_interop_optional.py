"""sexpdata is an optional extra: ``aioxend.sxp`` works without it, the interop says so."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aioxend.sxp import from_sexpdata, loads, to_sexpdata


def test_without_sexpdata_the_interop_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sexpdata", None)  # import now fails as if not installed
    for call in (lambda: to_sexpdata(["a"]), lambda: from_sexpdata(["a"])):
        with pytest.raises(ModuleNotFoundError, match=r"aioxend\[sexpdata\]") as info:
            call()
        assert info.value.name == "sexpdata"
    assert loads("(domain (name vm1))") == ["domain", ["name", "vm1"]]  # the reader needs none


def test_the_package_imports_without_sexpdata() -> None:
    """No module imports sexpdata at import time (a fresh interpreter, sexpdata blocked)."""
    code = (
        "import sys; sys.modules['sexpdata'] = None\n"
        "import aioxend, aioxend.sxp, aioxend.client, aioxend.protocols, aioxend.cli\n"
        "import aioxend.xenapi, aioxend.emulator\n"
        "print(aioxend.sxp.dumps(aioxend.sxp.loads('(a b)')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "(a b)\n"
