"""The emulator's XVA reading (the first tar member, ``ova.xml``) on any input: a size or
a ``Failure``, a list of objects or a ``Failure``, never another exception; what
``make_xva`` writes reads back."""

from __future__ import annotations

import io
import tarfile

from hypothesis import given
from hypothesis import strategies as st

from aioxend.emulator.xenapi._failure import Failure
from aioxend.emulator.xenapi._xva import BLOCK, make_xva, ova_size, read_ova, tail

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40)
snapshots = st.dictionaries(names, names | st.booleans(), max_size=5)
objects = st.lists(
    st.fixed_dictionaries(
        {"class": st.sampled_from(["VM", "VDI", "VBD"]), "id": names, "snapshot": snapshots}
    ),
    max_size=4,
)


@given(st.binary(min_size=BLOCK, max_size=BLOCK))
def test_any_first_block_gives_a_size_or_a_failure(block: bytes) -> None:
    try:
        size = ova_size(block)
    except Failure as failure:
        code = failure.code
    else:
        code = "" if size >= 0 else "negative"
    assert code in ("", "IMPORT_ERROR", "IMPORT_ERROR_UNEXPECTED_FILE")


@given(st.binary(max_size=2000) | st.text(max_size=300).map(str.encode))
def test_any_ova_text_gives_objects_or_a_failure(text: bytes) -> None:
    try:
        found: object = read_ova(text)
    except Failure as failure:
        found = failure.code
    assert found == "IMPORT_ERROR" or (
        isinstance(found, list) and all(isinstance(o, dict) for o in found)
    )


@given(objects, st.none() | st.integers(0, 5000))
def test_what_make_xva_writes_reads_back(made: list[dict[str, object]], disk: int | None) -> None:
    head = make_xva(made, disk)
    size = ova_size(head[:BLOCK])
    assert read_ova(head[BLOCK : BLOCK + size]) == made
    whole = head + (bytes(disk) + tail(disk) if disk is not None else b"")
    with tarfile.open(fileobj=io.BytesIO(whole)) as tar:
        members = tar.getmembers()
    assert members[0].name == "ova.xml"
    if disk is not None:
        assert (members[1].name, members[1].size) == ("Ref:1/00000000", disk)
