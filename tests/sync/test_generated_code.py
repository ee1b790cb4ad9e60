"""The committed blocking twins are what tools/gen_sync.py writes from the async classes."""

from __future__ import annotations

import filecmp
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from aioxend.client import XendClient as AsyncXendClient
from aioxend.sync import XendClient
from aioxend.sync._generated.xenapi import XenAPIClient
from aioxend.xenapi._client import XenAPIClient as AsyncXenAPIClient
from aioxend.xenapi._generated import CLASSES

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "aioxend" / "sync" / "_generated"


def test_regenerating_gives_what_is_committed(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_sync.py"), str(tmp_path)],
        check=True,
        capture_output=True,
    )
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.py"))
    committed = sorted(str(p.relative_to(COMMITTED)) for p in COMMITTED.rglob("*.py"))
    assert written == committed
    _, mismatch, errors = filecmp.cmpfiles(tmp_path, COMMITTED, written, shallow=False)
    assert (mismatch, errors) == ([], []), "run python tools/gen_sync.py and commit the result"


def public(cls: type) -> set[str]:
    """Public members, with the attributes a class only annotates (``session_id``)."""
    names = set(dir(cls)).union(*(vars(k).get("__annotations__", {}) for k in cls.__mro__))
    return {name for name in names if not name.startswith("_")}


@pytest.mark.parametrize(
    ("twin", "target"), [(XendClient, AsyncXendClient), (XenAPIClient, AsyncXenAPIClient)]
)
def test_every_public_member_of_the_async_client_has_a_blocking_twin(
    twin: type, target: type
) -> None:
    # The async client's instance attributes (``XendClient.url``) are properties of the twin.
    # tools/gen_sync.py NOT_MIRRORED: the cache's views would be read across threads.
    left_out = {"aclose", "cache"}
    assert public(target) - left_out <= public(twin)
    assert public(twin) - public(target) <= {"close", "closed", "url"}
    for name in public(target) - left_out:
        member = inspect.getattr_static(target, name, None)
        if inspect.iscoroutinefunction(member):  # same parameters, same (unevaluated) types
            assert inspect.signature(getattr(twin, name)) == inspect.signature(member)


@pytest.mark.parametrize("name", CLASSES)
def test_every_xenapi_class_and_message_has_a_blocking_twin(name: str) -> None:
    part = inspect.getattr_static(XenAPIClient, name)
    module = __import__(part._module, fromlist=["_"])
    twin = getattr(module, name)
    target = inspect.getattr_static(AsyncXenAPIClient, name)
    target_cls = getattr(__import__(target._module, fromlist=["_"]), name)
    assert public(twin) == public(target_cls) - {"xenapi_name"}
    for message in public(twin):
        assert inspect.signature(getattr(twin, message)) == inspect.signature(
            getattr(target_cls, message)
        )
