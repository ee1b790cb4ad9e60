"""Records filled from the datamodel: every field present, each with its default.

xapi answers ``get_record`` with every field of the class (``ocaml/idl/datamodel.ml``
``get_record`` is generated over all fields), so a new object here starts from the
datamodel default of each field (or the type's empty value when the datamodel has
none) and the caller overrides what it knows. Fields the datamodel does not list are
kept as given: a test may add one to see a client keep unknown fields.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TypeVar

from aioxend.emulator.xenapi._datamodel import ClassModel, model
from aioxend.emulator.xenapi._types import coerce, parse_default, parse_type, zero

__all__ = ["coerce_fields", "new_record", "plain_copy"]

_T = TypeVar("_T")


def new_record(
    cls: ClassModel, null_ref: str, overrides: Mapping[str, object] | None = None
) -> dict[str, object]:
    """A full record of ``cls``: datamodel defaults, then ``overrides``."""
    # defaults nest no deeper than one set or map of scalars: one level of copying
    record = {
        k: v.copy() if isinstance(v, (dict, list)) else v
        for k, v in _defaults(cls.name, null_ref).items()
    }
    if overrides:
        record.update(overrides)
    return record


@functools.cache
def _defaults(cls_name: str, null_ref: str) -> dict[str, object]:
    enums = model().enums
    record: dict[str, object] = {}
    for field in model().classes[cls_name].fields.values():
        kind = parse_type(field.type)
        if field.default is None:
            record[field.name] = zero(kind, enums, null_ref)
        else:
            record[field.name] = parse_default(kind, field.default, null_ref)
    return record


def plain_copy(value: _T) -> _T:
    """A copy of a record or value made of dicts and lists (``copy.deepcopy``, without
    its memo: records hold no cycles and nothing but plain values)."""
    if isinstance(value, dict):
        return {k: plain_copy(v) for k, v in value.items()}  # type: ignore[return-value]
    if isinstance(value, list):
        return [plain_copy(v) for v in value]  # type: ignore[return-value]
    return value


def coerce_fields(cls: ClassModel, values: Mapping[str, object]) -> dict[str, object]:
    """A record sent by a client (``create``), each known field converted to its type."""
    out: dict[str, object] = {}
    for name, value in values.items():
        field = cls.fields.get(name)
        out[name] = value if field is None else coerce(parse_type(field.type), value, name)
    return out
