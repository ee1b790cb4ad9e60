"""The one lazy-loader helper behind ``aioxend``, ``aioxend.protocols`` and ``aioxend.xenapi``."""

from __future__ import annotations

import ast
import subprocess
import sys
import types

import pytest

from aioxend._lazy import lazy_names


def loaded_after(code: str) -> list[str]:
    """The aioxend modules a fresh interpreter holds after running ``code``."""
    script = f"{code}\nimport sys\nprint(sorted(m for m in sys.modules if m.startswith('aioxend')))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return list(ast.literal_eval(out.stdout))


def test_import_aioxend_loads_only_the_errors_and_the_helper() -> None:
    assert loaded_after("import aioxend") == ["aioxend", "aioxend._lazy", "aioxend.errors"]


@pytest.mark.parametrize(
    ("package", "name", "home"),
    [
        ("aioxend", "XendClient", "aioxend.client"),
        ("aioxend.protocols", "OPS", "aioxend.protocols._ops"),
        ("aioxend.xenapi", "XenAPIClient", "aioxend.xenapi._client"),
        ("aioxend.xenapi", "VMRecord", "aioxend.xenapi._generated.vm"),
    ],
)
def test_a_name_loads_its_home_on_first_read_and_stays(package: str, name: str, home: str) -> None:
    code = (
        f"import {package} as p, sys\n"
        f"assert {home!r} not in sys.modules\n"
        f"v = p.{name}\n"
        f"assert {home!r} in sys.modules and vars(p)[{name!r}] is v\n"
        f"assert {name!r} in dir(p)"
    )
    assert home in loaded_after(code)


@pytest.mark.parametrize("package", ["aioxend", "aioxend.protocols", "aioxend.xenapi"])
def test_an_unknown_name_is_an_attribute_error_naming_the_package(package: str) -> None:
    module = __import__(package, fromlist=["_"])
    with pytest.raises(AttributeError, match=rf"^module '{package}' has no attribute 'nope'$"):
        _ = module.nope


def test_further_homes_are_built_once_on_the_first_miss() -> None:
    package = types.ModuleType("fake_pkg")
    sys.modules["fake_pkg"] = package
    built: list[int] = []

    def more() -> dict[str, str]:
        built.append(1)
        return {"dumps": "json"}

    try:
        getattr_, dir_ = lazy_names("fake_pkg", {"OrderedDict": "collections"}, more)
        assert getattr_("OrderedDict") is __import__("collections").OrderedDict
        assert built == []
        assert getattr_("dumps") is __import__("json").dumps
        with pytest.raises(AttributeError):
            getattr_("loads")
        assert built == [1]
        assert {"OrderedDict", "dumps"} <= set(dir_())
    finally:
        del sys.modules["fake_pkg"]
