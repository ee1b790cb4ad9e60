"""xapi's datamodel and error list, read lazily from the package data.

``aioxend/xenapi/data/xenapi.json`` is the datamodel as xapi generates it
(``ocaml/idl/json_backend/gen_json.ml``); ``errors.json`` lists every error code with its
parameter names. Both load on first use and are indexed once: per class its fields (type,
default, qualifier) and messages (parameters without the session, implicit or not), and
every enum's values. The emulator serves whatever this describes, so a class gains its
getters, setters and records by being in the file, not by code here.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = ["ClassModel", "Field", "Message", "Model", "error_params", "model"]


@dataclass(frozen=True)
class Field:
    """One field of a class: its type string (``VM ref set``...) and default text."""

    name: str
    type: str
    default: str | None
    qualifier: str


@dataclass(frozen=True)
class Message:
    """One message: ``params`` are (name, type) pairs, the session excluded."""

    name: str
    params: tuple[tuple[str, str], ...]
    session: bool
    implicit: bool
    result: str
    roles: tuple[str, ...]
    removed: bool


@dataclass(frozen=True)
class ClassModel:
    """A class of the datamodel: fields and messages by name."""

    name: str
    fields: dict[str, Field]
    messages: dict[str, Message]


@dataclass(frozen=True)
class Model:
    """The whole datamodel: classes by name (case as xapi spells them), enums by name."""

    classes: dict[str, ClassModel]
    enums: dict[str, tuple[str, ...]]


def _read(name: str) -> Any:
    path = resources.files("aioxend").joinpath("xenapi", "data", name)
    return json.loads(path.read_text(encoding="utf-8"))


def _message(raw: dict[str, Any]) -> Message:
    params = [(p["name"], p["type"]) for p in raw["params"]]
    session = bool(params) and params[0][1] == "session ref" and params[0][0] == "session_id"
    return Message(
        name=raw["name"],
        params=tuple(params[1:] if session else params),
        session=session,
        implicit=bool(raw.get("implicit")),
        result=raw["result"][0],
        roles=tuple(raw.get("roles", ())),
        removed=raw["lifecycle"]["state"] == "Removed_s",
    )


@functools.cache
def model() -> Model:
    """The datamodel, parsed on the first call and shared afterwards."""
    classes: dict[str, ClassModel] = {}
    enums: dict[str, tuple[str, ...]] = {}
    for raw in _read("xenapi.json"):
        fields = {
            f["name"]: Field(f["name"], f["type"], f.get("default"), f["qualifier"])
            for f in raw["fields"]
        }
        messages = {m["name"]: _message(m) for m in raw["messages"]}
        classes[raw["name"]] = ClassModel(raw["name"], fields, messages)
        for enum in raw.get("enums", ()):
            enums[enum["name"]] = tuple(v["name"] for v in enum["values"])
    return Model(classes, enums)


@functools.cache
def _errors() -> dict[str, list[str]]:
    return {code: list(entry["params"] or ()) for code, entry in _read("errors.json").items()}


def error_params(code: str) -> list[str] | None:
    """The parameter names of an error code, or None if xapi has no such code."""
    return _errors().get(code)
