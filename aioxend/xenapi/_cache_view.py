"""One class's part of the object cache: a read-only mapping of references to records.

``CacheView`` is what ``cache.VM`` is: a ``Mapping[VMRef, VMRecord]`` (``[ref]``, ``in``,
``len``, iteration, ``items()``, ``==`` against a ``get_all_records`` answer), plus
``by_uuid`` (an index kept with the records) and ``where(field=value, ...)``, whose field
names and values are checked against the record type, so a misspelt field or a value its
field can never hold (``power_state="running"``) is an error instead of an empty answer.

Only the cache writes a view (``_put``, ``_drop``, ``_replace``); every read first asks the
cache whether it is still live (``Cache._check``), so a failed update loop is raised on the
next access instead of serving stale records silently.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any, Generic, Protocol, TypeVar

from aioxend.xenapi._values import OpenEnum

__all__ = ["CacheView"]

K = TypeVar("K", bound=str)
R = TypeVar("R")

Check = Callable[[object], object]
"""Checks a query value for one field: returns the value to compare with, or raises."""


class _Owner(Protocol):
    def _check(self) -> None: ...


class CacheView(Mapping[K, R], Generic[K, R]):
    """The cached records of one class, by reference (``cache.VM``), kept current.

    Read-only: the cache applies the server's events to it. ``by_uuid`` gives the
    reference of a UUID (as ``VM.get_by_uuid`` does); ``where`` the records whose fields
    equal the values given (or satisfy a predicate given as a callable).
    """

    __slots__ = ("_by_uuid", "_checks", "_cls", "_owner", "_record_type", "_records")

    def __init__(self, owner: _Owner, cls: str, record_type: type[R]) -> None:
        self._owner = owner
        self._cls = cls
        self._record_type = record_type
        self._records: dict[K, R] = {}
        self._by_uuid: dict[str, K] = {}
        self._checks: dict[str, Check] | None = None  # where()'s, made on its first use

    @property
    def cls(self) -> str:
        """The class, as xapi spells it (``"VM"``)."""
        return self._cls

    # --- reads ---------------------------------------------------------------------------
    def __getitem__(self, ref: K) -> R:
        self._owner._check()
        return self._records[ref]

    def __iter__(self) -> Iterator[K]:
        self._owner._check()
        return iter(list(self._records))  # a copy: the loop may change the view meanwhile

    def __len__(self) -> int:
        self._owner._check()
        return len(self._records)

    def __contains__(self, ref: object) -> bool:
        self._owner._check()
        return ref in self._records

    def keys(self) -> KeysView[K]:
        """The references, as they are now (a copy)."""
        self._owner._check()
        return dict(self._records).keys()

    def items(self) -> ItemsView[K, R]:
        """The (reference, record) pairs, as they are now (a copy)."""
        self._owner._check()
        return dict(self._records).items()

    def values(self) -> ValuesView[R]:
        """The records, as they are now (a copy)."""
        self._owner._check()
        return dict(self._records).values()

    def __repr__(self) -> str:
        return f"<CacheView {self._cls}: {len(self._records)} records>"

    def by_uuid(self, uuid: str) -> K:
        """The reference of the object whose ``uuid`` is ``uuid``; ``KeyError`` if none."""
        self._owner._check()
        if not isinstance(uuid, str):
            raise TypeError(f"a UUID is a string, not {type(uuid).__name__}")
        try:
            return self._by_uuid[uuid]
        except KeyError:
            raise KeyError(f"no {self._cls} with uuid {uuid!r} in the cache") from None

    def where(self, **fields: object) -> dict[K, R]:
        """The records whose fields match: ``where(power_state=VmPowerState.RUNNING)``.

        Each value is compared for equality (an enum field also takes its value as a
        string, ``"Running"``), or called with the field's value if it is callable
        (``where(memory_target=lambda m: m > 2**30)``). An unknown field is a
        ``TypeError``, a value the field cannot hold a ``ValueError``/``TypeError``.
        """
        self._owner._check()
        checks = self._checks
        if checks is None:
            checks = self._checks = _checks(self._record_type)
        tests: list[tuple[str, Callable[[object], bool]]] = []
        for name, value in fields.items():
            if name not in checks:
                raise TypeError(_unknown_field(self._cls, name, checks))
            if callable(value):
                tests.append((name, _truth(value)))
            else:
                wanted = checks[name](value)
                tests.append((name, wanted.__eq__))
        return {
            ref: record
            for ref, record in self._records.items()
            if all(test(getattr(record, name)) for name, test in tests)
        }

    # --- writes (the cache's) -------------------------------------------------------------
    def _put(self, ref: K, record: R) -> R | None:
        """Store ``record``; the record it replaces, if any."""
        old = self._records.get(ref)
        self._records[ref] = record
        uuid = getattr(record, "uuid", "")
        if old is not None:
            old_uuid = getattr(old, "uuid", "")
            if old_uuid != uuid and self._by_uuid.get(old_uuid) == ref:
                del self._by_uuid[old_uuid]
        if uuid:
            self._by_uuid[uuid] = ref
        return old

    def _drop(self, ref: K) -> R | None:
        """Forget ``ref``; its record, if it was there."""
        old = self._records.pop(ref, None)
        if old is not None:
            uuid = getattr(old, "uuid", "")
            if self._by_uuid.get(uuid) == ref:
                del self._by_uuid[uuid]
        return old

    def _snapshot(self) -> dict[K, R]:
        """The records as they are, without the liveness check (for a resync's diff)."""
        return dict(self._records)


def _truth(predicate: Callable[[Any], object]) -> Callable[[object], bool]:
    return lambda value: bool(predicate(value))


def _unknown_field(cls: str, name: str, checks: Mapping[str, Check]) -> str:
    close = difflib.get_close_matches(name, list(checks), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"a {cls} record has no field {name!r}{hint}"


def _checks(record_type: type[Any]) -> dict[str, Check]:
    """For each field of a record type, the check of a query value (made once per type)."""
    hints = typing.get_type_hints(record_type)
    return {
        f.name: _check_for(f.name, hints[f.name])
        for f in dataclasses.fields(record_type)
        if f.name != "extra"
    }


def _check_for(name: str, hint: Any) -> Check:
    """The check of a query value for a field typed ``hint``."""
    kinds = _runtime_kinds(hint)
    enum = next((k for k in kinds if isinstance(k, type) and issubclass(k, OpenEnum)), None)
    if enum is not None:
        return _enum_check(name, enum)
    label = " or ".join(sorted({getattr(k, "__name__", str(k)) for k in kinds}))

    def check(value: object) -> object:
        if not _is_instance(value, kinds):
            raise TypeError(f"field {name!r} holds {label}, not {type(value).__name__}")
        return value

    return check


def _enum_check(name: str, enum: type[OpenEnum]) -> Check:
    members = {m.value: m for m in enum}

    def check(value: object) -> object:
        member = members.get(value) if isinstance(value, str) else None
        if member is None and isinstance(value, enum):
            return value  # an open member (a value this datamodel lacks) the server sent
        if member is None:
            allowed = ", ".join(sorted(members))
            raise ValueError(f"field {name!r} holds one of {allowed}; not {value!r}")
        return member

    return check


def _runtime_kinds(hint: Any) -> tuple[Any, ...]:
    """The run-time types a value of ``hint`` may be (a NewType as its ``str``)."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return tuple(k for arg in typing.get_args(hint) for k in _runtime_kinds(arg))
    if origin is not None:
        return (origin,)
    if hint is None or hint is type(None):
        return (type(None),)
    supertype = getattr(hint, "__supertype__", None)
    if supertype is not None:
        return _runtime_kinds(supertype)
    return (hint,)


def _is_instance(value: object, kinds: tuple[Any, ...]) -> bool:
    return any(_is_kind(value, kind) for kind in kinds)


def _is_kind(value: object, kind: Any) -> bool:
    if kind is bool:
        return type(value) is bool
    if isinstance(value, bool):
        return False  # a bool is no int or float here
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(kind, type) and isinstance(value, kind)
