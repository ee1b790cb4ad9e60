"""What the generated Xen-API classes stand on: the ``Caller`` seam and the class base.

A generated class (``aioxend.xenapi._generated.vm.VM``) turns each message of the datamodel
into an async method that calls ``self._caller.call("VM.start", ...)`` and decodes the answer.
The caller is the client: it prepends the session reference, picks the wire (JSON-RPC or
XML-RPC), strips the envelope and raises ``XenAPIError`` for failures. ``read=True`` marks a
call that changes nothing, which the client may send again after logging in anew.

``Namespace`` (generated) holds one ``LazyClass`` per Xen-API class: the class module is
imported on first attribute access and its instance cached on the object, so a client that
only touches ``xapi.VM`` never loads the 66 other tables.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar, Protocol

from aioxend._default import DEFAULT, TimeoutArg

__all__ = ["Caller", "LazyClass", "XenAPIClass"]


class Caller(Protocol):
    """What the generated classes need from a client: one call, envelope stripped."""

    async def call(
        self,
        method: str,
        *params: object,
        timeout: TimeoutArg = DEFAULT,  # noqa: ASYNC109 (the client enforces it)
        read: bool = False,
    ) -> object:
        """Call ``method`` (``"VM.start"``) with the session prepended; return its value."""
        ...


class XenAPIClass:
    """The base of every generated class: it holds the caller its methods go through."""

    __slots__ = ("_caller",)

    xenapi_name: ClassVar[str] = ""
    """The class's name in the datamodel (``"VM"``, ``"host"``)."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    def __repr__(self) -> str:
        return f"<Xen-API class {self.xenapi_name}>"


class LazyClass:
    """A descriptor that imports a generated class module on first use, per instance.

    The instance the descriptor is read from is the caller (the client inherits
    ``Namespace``); the class object made for it is stored in the instance's ``__dict__``,
    which shadows this non-data descriptor from then on.
    """

    __slots__ = ("_attr", "_module")

    def __init__(self, module: str) -> None:
        self._module = module
        self._attr = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._attr = name

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        module = importlib.import_module(self._module)
        value = self._make(getattr(module, self._attr), instance)
        instance.__dict__[self._attr] = value
        return value

    def _make(self, cls: Any, instance: object) -> Any:
        """The class object for ``instance`` (the blocking facade's twin takes more)."""
        return cls(instance)
