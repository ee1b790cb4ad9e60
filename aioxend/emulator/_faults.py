"""Fault injection: make the emulator misbehave on purpose, per method or for all.

A rule names a kind of misbehaviour, the requests it applies to (``method``: an XML-RPC
method name such as ``xend.domain.pause``, or for the SXP listener an op name such as
``pause``, ``GET``/``POST``, or a path such as ``/xend/domain/vm1``; None for every
request), a probability drawn from a seeded RNG, an optional delay and an optional
budget of firings. The listeners ask ``FaultInjector.pick`` once per request.

Kinds, and whether the operation itself still runs:

========== ======================================================= =========
kind       what the client sees                                    op runs?
========== ======================================================= =========
latency    the answer is delayed by ``delay`` seconds (adds up)    yes
drop_before the connection closes before any response byte         no
drop_mid   status line, headers and part of the body, then close   yes
truncate   Content-Length says more than is sent, then close       yes
malformed  200 with a garbage XML (or SXP) body                    yes
http500    ``500 Internal Server Error``, no xend body              no
trickle    the whole answer, one byte every ``delay`` seconds      yes
stall      no answer at all until the client gives up               no
========== ======================================================= =========

Every method takes the injector's lock, so rules may be added or cleared from any
thread while the emulator serves from its own.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["FAULT_KINDS", "FaultInjector", "FaultRule", "parse_fault_spec"]

FAULT_KINDS = (
    "latency",
    "drop_before",
    "drop_mid",
    "truncate",
    "malformed",
    "http500",
    "trickle",
    "stall",
)


@dataclass
class FaultRule:
    """One fault rule; ``fired`` counts how many requests it has hit so far."""

    kind: str
    method: str | None = None
    rate: float = 1.0
    delay: float = 0.0
    count: int | None = None
    fired: int = 0

    def matches(self, keys: Iterable[str]) -> bool:
        """True if the rule applies to a request known by any of ``keys``."""
        if self.count is not None and self.fired >= self.count:
            return False
        return self.method is None or self.method in keys


@dataclass(frozen=True)
class Picked:
    """What to do to one request: total added latency and at most one other fault."""

    latency: float = 0.0
    kind: str | None = None
    delay: float = 0.0


class FaultInjector:
    """The set of fault rules of one emulator (``Emulator.faults``)."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._rules: list[FaultRule] = []

    def add(
        self,
        kind: str,
        method: str | None = None,
        *,
        rate: float = 1.0,
        delay: float = 0.0,
        count: int | None = None,
    ) -> FaultRule:
        """Add a rule and return it. ``delay`` is the latency, or the trickle interval."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be within 0..1, not {rate!r}")
        if delay < 0:
            raise ValueError(f"fault delay must not be negative, not {delay!r}")
        if count is not None and count < 0:
            raise ValueError(f"fault count must not be negative, not {count!r}")
        if kind == "trickle" and delay == 0.0:
            delay = 0.002
        rule = FaultRule(kind, method, rate, delay, count)
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        """Remove one rule (no error if it is already gone)."""
        with self._lock:
            if rule in self._rules:
                self._rules.remove(rule)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[FaultRule]:
        """A snapshot of the rules, in the order they are tried."""
        with self._lock:
            return list(self._rules)

    def pick(self, keys: Iterable[str]) -> Picked:
        """Decide the faults for one request known by ``keys`` (method, op, path...)."""
        names = set(keys)
        latency = 0.0
        with self._lock:
            for rule in self._rules:
                if (
                    rule.kind == "latency"
                    and rule.matches(names)
                    and self._rng.random() < rule.rate
                ):
                    rule.fired += 1
                    latency += rule.delay
            for rule in self._rules:
                if (
                    rule.kind != "latency"
                    and rule.matches(names)
                    and self._rng.random() < rule.rate
                ):
                    rule.fired += 1
                    return Picked(latency, rule.kind, rule.delay)
        return Picked(latency)


def parse_fault_spec(spec: str) -> tuple[str, str | None, float]:
    """Parse ``KIND[:METHOD][@RATE]`` (the ``--fault`` flag) into its parts."""
    rate = 1.0
    if "@" in spec:
        spec, _, rate_text = spec.rpartition("@")
        try:
            rate = float(rate_text)
        except ValueError:
            raise ValueError(f"bad fault rate {rate_text!r}") from None
    kind, _, method = spec.partition(":")
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"fault rate must be within 0..1, not {rate}")
    return kind, method or None, rate
