"""Xen-API errors on demand: the next N calls (of one method, or any) fail with a code.

The transport faults of ``aioxend.emulator._faults`` break HTTP; these answer a
well-formed Xen-API error instead (``INTERNAL_ERROR``, ``SESSION_INVALID``,
``HOST_IS_SLAVE``...) without running the call, for tests of a client's error paths.
A code xapi knows must come with as many parameters as ``errors.json`` names; unknown
codes are allowed.
Locked, so a test thread may add them while the server runs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from aioxend.emulator.xenapi._datamodel import error_params
from aioxend.emulator.xenapi._failure import Failure

__all__ = ["ErrorInjector", "parse_error_spec"]


@dataclass
class _Rule:
    count: int
    failure: Failure
    method: str | None
    fired: int = field(default=0)


def _check(code: str, params: tuple[object, ...] | list[str]) -> None:
    names = error_params(code)
    if names is not None and len(names) != len(params):
        raise ValueError(f"{code} takes {len(names)} parameters {names}, not {len(params)}")


def parse_error_spec(spec: str) -> tuple[int, str, list[str], str | None]:
    """``CODE[,PARAM...][:METHOD][@COUNT]`` (the ``--xenapi-error`` flag) into count,
    code, parameters and method; ``COUNT`` defaults to 1."""
    count = 1
    if "@" in spec:
        spec, _, count_text = spec.rpartition("@")
        if not count_text.isdigit():
            raise ValueError(f"bad error count {count_text!r}")
        count = int(count_text)
    error, _, method = spec.partition(":")
    code, *params = error.split(",")
    if not code:
        raise ValueError("an error needs a code, e.g. INTERNAL_ERROR,boom:VM.start@2")
    _check(code, params)
    return count, code, params, method or None


class ErrorInjector:
    """Pending injected errors, consumed in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []

    def add(self, count: int, code: str, *params: object, method: str | None = None) -> None:
        """Make the next ``count`` calls (of ``method``, or any) fail with ``code``."""
        if count < 0:
            raise ValueError(f"count must not be negative, not {count}")
        _check(code, params)
        with self._lock:
            self._rules.append(_Rule(count, Failure(code, *params), method))

    def take(self, method: str) -> Failure | None:
        """The error to answer ``method`` with now, if one is pending."""
        with self._lock:
            for rule in self._rules:
                if rule.fired < rule.count and rule.method in (None, method):
                    rule.fired += 1
                    return rule.failure
        return None

    def clear(self) -> None:
        """Drop every pending error."""
        with self._lock:
            self._rules.clear()
