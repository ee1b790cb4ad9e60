"""Records filled from the datamodel: every field present, each with its default.

xapi answers ``get_record`` with every field of the class (``ocaml/idl/datamodel.ml``
``get_record`` is generated over all fields), so a new object here starts from the
datamodel default of each field (or the type's empty value when the datamodel has
none) and the caller overrides what it knows. Fields the datamodel does not list are
kept as given: a test may add one to see a client keep unknown fields.
"""

from __future__ import annotations

from collections.abc import Mapping

from aioxend.emulator.xenapi._datamodel import ClassModel, model
from aioxend.emulator.xenapi._types import coerce, parse_default, parse_type, zero

__all__ = ["coerce_fields", "new_record"]


def new_record(
    cls: ClassModel, null_ref: str, overrides: Mapping[str, object] | None = None
) -> dict[str, object]:
    """A full record of ``cls``: datamodel defaults, then ``overrides``."""
    enums = model().enums
    record: dict[str, object] = {}
    for field in cls.fields.values():
        kind = parse_type(field.type)
        if field.default is None:
            record[field.name] = zero(kind, enums, null_ref)
        else:
            record[field.name] = parse_default(kind, field.default, null_ref)
    if overrides:
        record.update(overrides)
    return record


def coerce_fields(cls: ClassModel, values: Mapping[str, object]) -> dict[str, object]:
    """A record sent by a client (``create``), each known field converted to its type."""
    out: dict[str, object] = {}
    for name, value in values.items():
        field = cls.fields.get(name)
        out[name] = value if field is None else coerce(parse_type(field.type), value, name)
    return out
