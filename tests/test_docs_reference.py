"""The API reference (docs/reference/) renders every public name of every public module.

``mkdocs build --strict`` (``nox -s docs``) fails on a reference that does not resolve;
this test fails on the opposite drift: a name added to a public ``__all__`` that no
``::: target`` directive of the reference renders. A directive renders the object it
names; one that names a module renders the names of that module's ``__all__``. The
generated Xen-API pages come from ``tools/docs_hooks.py``, read here as the build reads
them.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DIRECTIVE = re.compile(r"^:::\s+(\S+)\s*$", re.MULTILINE)
# Every module whose __all__ is a public contract, and so is documented name by name.
PUBLIC_MODULES = [
    "aioxend",
    "aioxend.client",
    "aioxend.errors",
    "aioxend.events",
    "aioxend.watch",
    "aioxend.xenapi",
    "aioxend.xenapi.errors",
    "aioxend.sxp",
    "aioxend.xmlrpc",
    "aioxend.transport",
    "aioxend.protocols",
    "aioxend.emulator",
    "aioxend.emulator.xenapi",
]
OPTIONAL_PUBLIC_MODULES = ["aioxend.sync", "aioxend.sync.xenapi", "aioxend.hooks"]
NOT_DOCUMENTED = {"__version__"}


def _hook_pages() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "tools" / "docs_hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pages: dict[str, str] = module.pages()
    return pages


def _reference_text() -> str:
    pages = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").rglob("*.md"))]
    return "\n".join([*pages, *_hook_pages().values()])


def _resolve(target: str) -> Any:
    """The object a directive names: the longest importable module, then attributes."""
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            value = getattr(value, attr)
        return value
    raise AssertionError(f"::: {target} names nothing importable")


def _public(module_name: str) -> dict[str, Any]:
    module = importlib.import_module(module_name)
    names = [n for n in getattr(module, "__all__", []) if n not in NOT_DOCUMENTED]
    public = {f"{module_name}.{n}": getattr(module, n) for n in names}
    if module_name == "aioxend.xenapi":  # the generated types, loaded on first use
        from aioxend.xenapi._generated import PUBLIC

        public.update({f"aioxend.xenapi.{n}": getattr(module, n) for n in PUBLIC})
    return public


def _documented() -> tuple[list[Any], set[str]]:
    """What the reference renders: the objects, and the bare names of rendered values."""
    objects: list[Any] = []
    names: set[str] = set()
    for target in DIRECTIVE.findall(_reference_text()):
        value = _resolve(target)
        if isinstance(value, types.ModuleType):
            exported = getattr(value, "__all__", [])
            objects += [getattr(value, n) for n in exported]
            names |= set(exported)
        else:
            objects.append(value)
            names.add(target.rpartition(".")[2])
    return objects, names


def _is_documented(qualified: str, value: Any, objects: list[Any], names: set[str]) -> bool:
    if isinstance(value, (type, types.FunctionType)) or callable(value):
        return any(value is o for o in objects)
    return qualified.rpartition(".")[2] in names and any(value is o for o in objects)


def test_every_public_name_is_in_the_reference() -> None:
    objects, names = _documented()
    modules = PUBLIC_MODULES + [
        m
        for m in OPTIONAL_PUBLIC_MODULES
        if importlib.util.find_spec(m.split(".")[0]) and _exists(m)
    ]
    missing = [
        qualified
        for module in modules
        for qualified, value in _public(module).items()
        if not _is_documented(qualified, value, objects, names)
    ]
    assert not missing, "add these to a page of docs/reference/:\n" + "\n".join(missing)


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def test_every_directive_resolves_and_the_check_can_fail() -> None:
    """Each ``:::`` target imports; a name left out of the reference is reported."""
    objects, names = _documented()
    assert len(objects) > 100
    assert not _is_documented("aioxend.nothing", object(), objects, names)
    assert _is_documented("aioxend.connect", _resolve("aioxend.client.connect"), objects, names)


MARK = re.compile(r"^<!-- --8<-- \[(start|end):([\w-]+)\] -->$", re.MULTILINE)
INCLUDE = re.compile(r'^--8<-- "README\.md:([\w-]+)"$', re.MULTILINE)


def test_readme_sections_the_guide_includes_are_whole() -> None:
    """Each marked README section opens and closes once, and the guide includes each one.

    The guide pages include README's sections (``--8<-- "README.md:name"``) rather than
    copy them; a marker lost in a merge would cut a page short or run it on to the end.
    """
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    marks = MARK.findall(readme)
    starts = [name for kind, name in marks if kind == "start"]
    assert len(starts) == len(set(starts)), starts
    assert marks == [(kind, name) for name in starts for kind in ("start", "end")], marks
    pages = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").rglob("*.md"))
    included = INCLUDE.findall(pages)
    assert sorted(set(included)) == sorted(starts), (sorted(set(included)), sorted(starts))
