"""The layering rules (docs/development.md, "Layers"), checked by reading every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "aioxend"

# For each layer: the aioxend modules it may import, and third-party I/O it must not.
ALLOWED = {
    "xmlrpc": {"aioxend.errors", "aioxend.xmlrpc"},
    "sxp": {"aioxend.errors", "aioxend.sxp"},
    # aioxend._log (loggers, redaction, the per-call tally) is a leaf: see below.
    "transport": {"aioxend.errors", "aioxend.transport", "aioxend._log"},
}
IO_MODULES = {"asyncio", "anyio", "aiohttp", "socket", "ssl", "trio", "h11", "selectors"}


def imports_of(path: Path) -> set[str]:
    """Every absolute module name a file imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def layer_files(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_it_may(layer: str) -> None:
    files = layer_files(layer)
    assert files, f"aioxend/{layer} has no modules"
    allowed = ALLOWED[layer]
    for path in files:
        for name in imports_of(path):
            if name.startswith("aioxend"):
                assert any(name == a or name.startswith(a + ".") for a in allowed), (
                    f"{path.relative_to(PACKAGE)} imports {name}"
                )


@pytest.mark.parametrize("layer", ["xmlrpc", "sxp"])
def test_codecs_do_no_io(layer: str) -> None:
    for path in layer_files(layer):
        top = {name.split(".")[0] for name in imports_of(path)}
        assert not top & IO_MODULES, f"{path.relative_to(PACKAGE)} imports {top & IO_MODULES}"


def test_transport_knows_no_codec() -> None:
    for path in layer_files("transport"):
        for name in imports_of(path):
            assert not name.startswith(("aioxend.xmlrpc", "aioxend.sxp", "xmlrpc", "sexpdata")), (
                f"{path.relative_to(PACKAGE)} imports {name}"
            )


def test_no_aiohttp_outside_the_emulator() -> None:
    """The client has one HTTP stack, ours; aiohttp serves only the emulator."""
    emulator = PACKAGE / "emulator"
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.is_relative_to(emulator):
            continue
        top = {name.split(".")[0] for name in imports_of(path)}
        assert "aiohttp" not in top, f"{path.relative_to(PACKAGE)} imports aiohttp"


def test_neither_import_nor_a_call_loads_aiohttp(tmp_path: Path) -> None:
    """In a fresh process: ``import aioxend`` and a client call leave aiohttp unloaded."""
    import subprocess
    import sys

    script = """
import sys, anyio, aioxend
from aioxend.transport import MockConnector
assert "aiohttp" not in sys.modules, "import aioxend loaded aiohttp"
ANSWER = (b"<?xml version='1.0'?><methodResponse><params><param><value><string>up"
          b"</string></value></param></params></methodResponse>")
def respond(data):
    return b"HTTP/1.1 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n%s" % (len(ANSWER), ANSWER)
async def main():
    async with aioxend.connect("http://xen1:8006/", protocol="xmlrpc",
                               connector=MockConnector(respond)) as client:
        assert await client.call("xend.ping") == "up"
anyio.run(main)
assert "aiohttp" not in sys.modules, "a client call loaded aiohttp"
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def test_log_module_is_a_leaf() -> None:
    """Every layer may log, so ``aioxend._log`` imports nothing of the package."""
    names = imports_of(PACKAGE / "_log.py")
    assert not {name for name in names if name.startswith("aioxend")}
