"""Server URLs: every scheme xm knew, the default, and a clear ValueError for the rest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aioxend.transport import Endpoint, default_url, open_transport, parse_url
from aioxend.transport._url import DEFAULT_URL


def test_httpu_is_xm_unix_socket_with_rpc2() -> None:
    ep = parse_url("httpu:///var/run/xend/xmlrpc.sock")
    assert ep == Endpoint(
        url="httpu:///var/run/xend/xmlrpc.sock",
        scheme="httpu",
        socket_path="/var/run/xend/xmlrpc.sock",
        path="/RPC2",
    )
    assert ep.host_header == "localhost"
    assert ep.display == "UNIX socket /var/run/xend/xmlrpc.sock"


def test_unix_scheme_uses_root_path() -> None:
    ep = parse_url("unix:///var/lib/xend/xend-socket")
    assert (ep.scheme, ep.socket_path, ep.path) == ("unix", "/var/lib/xend/xend-socket", "/")


def test_percent_encoded_socket_path_is_decoded() -> None:
    assert parse_url("httpu:///tmp/a%20b/x_y.sock").socket_path == "/tmp/a b/x_y.sock"


@pytest.mark.parametrize(
    ("url", "host", "port", "path", "header"),
    [
        ("http://localhost:8006/", "localhost", 8006, "/", "localhost:8006"),
        ("http://localhost:8006", "localhost", 8006, "/", "localhost:8006"),
        ("http://xen1/RPC2", "xen1", 80, "/RPC2", "xen1"),
        ("https://xen1.example:443/x", "xen1.example", 443, "/x", "xen1.example"),
        ("https://xen1.example:8006/", "xen1.example", 8006, "/", "xen1.example:8006"),
        ("http://[::1]:8000/xend/", "::1", 8000, "/xend/", "[::1]:8000"),
        ("HTTP://Host:8000/", "host", 8000, "/", "host:8000"),
    ],
)
def test_tcp_urls(url: str, host: str, port: int, path: str, header: str) -> None:
    ep = parse_url(url)
    assert (ep.host, ep.port, ep.path, ep.host_header) == (host, port, path, header)
    assert ep.socket_path is None
    assert ep.user is None


@pytest.mark.parametrize(
    ("url", "user", "host", "port", "path"),
    [
        ("ssh://xen1", None, "xen1", None, "/RPC2"),
        ("ssh://root@xen1", "root", "xen1", None, "/RPC2"),
        ("ssh://root@xen1:2222/RPC3", "root", "xen1", 2222, "/RPC3"),
        ("ssh://xen1/", None, "xen1", None, "/RPC2"),
    ],
)
def test_ssh_urls(url: str, user: str | None, host: str, port: int | None, path: str) -> None:
    ep = parse_url(url)
    assert (ep.scheme, ep.user, ep.host, ep.port, ep.path) == ("ssh", user, host, port, path)
    assert ep.host_header == "localhost"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "empty"),
        ("ftp://x/", "scheme 'ftp'"),
        ("/var/run/xend/xmlrpc.sock", "no scheme"),
        ("httpu://host/var/run/x.sock", "takes no host"),
        ("httpu://", "no socket path"),
        ("httpu:///", "no socket path"),
        ("unix://relative/x", "takes no host"),
        ("http://:8006/", "no host"),
        ("http://localhost:99999/", "port"),
        ("http://localhost:abc/", "port"),
        ("http://localhost:0/", "port 0"),
        ("http://localhost:8006/?a=b", "query"),
        ("http://localhost:8006/#frag", "fragment"),
        ("httpu:///x.sock?x", "query"),
        ("http://user@localhost/", "authentication"),
        ("ssh://root:pw@xen1/", "password"),
        ("ssh://-oProxyCommand=x/", "'-'"),
        ("http://local host/", "whitespace"),
        ("httpu:///tmp/a\nb", "control"),
    ],
)
def test_bad_urls_fail_at_construction(url: str, words: str) -> None:
    with pytest.raises(ValueError, match="bad xend URL") as info:
        parse_url(url)
    assert words in str(info.value)
    with pytest.raises(ValueError, match="bad xend URL"):
        open_transport(url)


def test_default_is_xm_server_env_or_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XM_SERVER", raising=False)
    assert default_url() == DEFAULT_URL == "httpu:///var/run/xend/xmlrpc.sock"
    assert parse_url().socket_path == "/var/run/xend/xmlrpc.sock"
    monkeypatch.setenv("XM_SERVER", "http://xen1:8006/")
    assert parse_url(None).host == "xen1"
    monkeypatch.setenv("XM_SERVER", "")
    assert parse_url().url == DEFAULT_URL
    monkeypatch.setenv("XM_SERVER", "gopher://x/")
    with pytest.raises(ValueError, match="gopher"):
        parse_url()


def test_non_string_url_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse_url(b"httpu:///x")  # type: ignore[arg-type]


def test_open_transport_checks_its_options() -> None:
    from aioxend.transport import RawTransport

    assert isinstance(open_transport("http://h:1/"), RawTransport)
    assert isinstance(open_transport("ssh://h"), RawTransport)
    with pytest.raises(ValueError, match="ssh_command"):
        open_transport("http://h:1/", ssh_command=["x"])
    with pytest.raises(ValueError, match="empty"):
        open_transport("ssh://h", ssh_command="")


def test_verify_false_conflicts_are_usage_errors() -> None:
    import ssl

    context = ssl.create_default_context()
    with pytest.raises(ValueError, match=r"verify=False.*ssl_context="):
        open_transport("https://h:1/", verify=False, ssl_context=context)
    with pytest.raises(ValueError, match=r"verify=False.*https://.*'http://h:1/'"):
        open_transport("http://h:1/", verify=False)
    with pytest.raises(ValueError, match=r"verify=False.*httpu:///x"):
        open_transport("httpu:///x", verify=False)
    open_transport("https://h:1/", verify=False)  # the one place it applies


def test_ssh_connections_are_bounded_by_default() -> None:
    from aioxend.transport import RawTransport
    from aioxend.transport._raw import SSH_CONNECTIONS

    ssh = open_transport("ssh://h")
    assert isinstance(ssh, RawTransport)
    assert ssh.limits.max_connections == SSH_CONNECTIONS == 4
    tcp = open_transport("http://h:1/")
    assert isinstance(tcp, RawTransport)
    assert tcp.limits.max_connections == 100


@given(st.text(max_size=60))
def test_any_text_parses_or_raises_value_error(text: str) -> None:
    try:
        ep = parse_url(text)
    except ValueError:
        return
    assert ep.scheme in ("httpu", "unix", "http", "https", "ssh")
    assert ep.path.startswith("/")
    assert (ep.socket_path is None) == (ep.scheme not in ("httpu", "unix"))


@given(
    st.lists(
        st.text(st.characters(categories=["L", "N"], include_characters="._-"), min_size=1),
        min_size=1,
        max_size=5,
    )
)
def test_socket_paths_round_trip(parts: list[str]) -> None:
    path = "/" + "/".join(parts)
    from urllib.parse import quote

    ep = parse_url("httpu://" + quote(path))
    assert ep.socket_path == path
