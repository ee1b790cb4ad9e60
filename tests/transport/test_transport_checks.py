"""``check_request``'s regex fast path refuses exactly what its rule-by-rule path refuses,
and the raw transport's kept request heads give the bytes a fresh encoding gives."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aioxend.errors import LocalProtocolError
from aioxend.transport import RawTransport, Request
from aioxend.transport._common import _check_slowly, check_request, request_headers
from aioxend.transport._http11 import encode_request
from aioxend.transport._raw import _asks_close

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


def fresh_wire(request: Request, host: str) -> tuple[bytes, bool]:
    """What ``RawTransport._wire`` must give: check, add headers and encode, every time."""
    check_request(request)
    headers = request_headers(request, host)
    return encode_request(request.method, request.target, headers, request.body), _asks_close(
        headers
    )


@given(
    method=st.sampled_from(["POST", "GET", "HEAD", "PUT"]),
    headers=st.lists(
        st.tuples(
            st.sampled_from(["Content-Type", "Connection", "Host", "Content-Length", "X-A"]),
            st.sampled_from(["text/xml", "close", "keep-alive", "0", "1", "h"]),
        ),
        max_size=3,
    ),
    as_tuple=st.booleans(),
    bodies=st.lists(st.sampled_from([b"", b"x", b"<methodCall/>" * 3]), min_size=1, max_size=4),
)
def test_raw_request_bytes_are_kept_only_where_they_repeat(
    method: str, headers: list[tuple[str, str]], as_tuple: bool, bodies: list[bytes]
) -> None:
    transport = RawTransport("http://h:1")
    given_headers = tuple(headers) if as_tuple else headers
    for body in bodies:
        request = Request(method, "/RPC2", given_headers, body)
        try:
            expected = fresh_wire(request, "h:1")
        except LocalProtocolError:
            with pytest.raises(LocalProtocolError):
                transport._wire(request)
            continue
        assert transport._wire(request) == expected
