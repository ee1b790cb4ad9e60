"""``check_request``'s regex fast path refuses exactly what its rule-by-rule path refuses."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aioxend.errors import LocalProtocolError
from aioxend.transport import Request
from aioxend.transport._common import _check_slowly, check_request

TRICKY = st.text(st.sampled_from(list(" \t\r\n\0aZ9-:/é€\x7f\x01")), max_size=5)
NAMES = st.one_of(TRICKY, st.sampled_from(["Host", "Content-Length", "transfer-encoding"]))


def refused(check: object, request: Request) -> bool:
    try:
        check(request)  # type: ignore[operator]
    except LocalProtocolError:
        return True
    return False


@given(
    method=st.one_of(TRICKY, st.just("POST")),
    target=st.one_of(TRICKY, st.just("/RPC2")),
    headers=st.lists(st.tuples(NAMES, st.one_of(TRICKY, st.just("1"))), max_size=3),
    body=st.sampled_from([b"", b"x"]),
)
def test_fast_and_slow_checks_agree(
    method: str, target: str, headers: list[tuple[str, str]], body: bytes
) -> None:
    request = Request(method, target, headers, body)
    assert refused(check_request, request) == refused(_check_slowly, request)


def test_valid_request_passes() -> None:
    check_request(Request("POST", "/RPC2", [("Content-Type", "text/xml")], b"<x/>"))
