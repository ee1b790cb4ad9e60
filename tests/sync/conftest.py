"""What the blocking-facade tests share: no loop thread may outlive a test."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest


def portal_threads() -> list[threading.Thread]:
    """The loop threads of blocking clients still running."""
    return [t for t in threading.enumerate() if t.name.startswith("aioxend-sync")]


@pytest.fixture(autouse=True)
def no_thread_left() -> Iterator[None]:
    yield
    assert portal_threads() == []


def same_error(mine: BaseException, theirs: BaseException) -> None:
    """The blocking client raised what the async one raised: class, message, arguments."""
    assert type(mine) is type(theirs)
    assert str(mine) == str(theirs)
    assert mine.args == theirs.args
