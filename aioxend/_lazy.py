"""Public names that load on first use (PEP 562), for the packages that keep imports cheap.

``aioxend``, ``aioxend.protocols`` and ``aioxend.xenapi`` each map a public name to the
module that defines it; ``lazy_names`` gives them the module-level ``__getattr__`` and
``__dir__`` that import that module when the name is first read and keep the value in the
package, so the next read is a plain global.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping

__all__ = ["lazy_names"]


def lazy_names(
    package: str,
    homes: Mapping[str, str],
    more: Callable[[], Mapping[str, str]] | None = None,
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose ``homes`` map names to modules.

    A home is absolute (``"aioxend.client"``) or relative to the package (``"._base"``).
    ``more`` gives further homes, built on the first name ``homes`` lacks (the Xen-API
    package's hundreds of generated types, whose table loads only then).
    """
    extra: list[Mapping[str, str]] = []

    def home_of(name: str) -> str | None:
        home = homes.get(name)
        if home is None and more is not None:
            if not extra:
                extra.append(more())
            home = extra[0].get(name)
        return home

    def __getattr__(name: str) -> object:
        home = home_of(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        names = set(vars(sys.modules[package])) | set(homes)
        if more is not None:
            home_of("")  # loads the further homes
            names.update(extra[0])
        return sorted(names)

    return __getattr__, __dir__
