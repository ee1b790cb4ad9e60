"""The legacy S-expression-over-HTTP listener (``/xend/``), as xend 4.4 served it.

Strategy: xend's SXP server was hand-written HTTP (``xen.web.http``), and clients meet
its quirks on the wire, so this is a small hand-written HTTP/1.1 server too, on asyncio
streams, following the same steps: read the request line and up to 500 header lines,
refuse a body over 10,000 bytes with 413 and drop the connection, merge query and form
arguments, walk the resource tree (``findResource``), render, then send the status line
and the headers with ``str.capitalize()``d names, in Python 2 dict order, plus the
no-cache headers. The resources are ports of ``SrvRoot``, ``SrvNode``, ``SrvDmesg``,
``SrvXendLog``, ``SrvDomainDir``, ``SrvDomain`` and ``SrvVnetDir``; operations are
``op_<name>`` methods dispatched by ``perform`` (406 without exactly one ``op``, 501 for
an unknown one, 500 with ``(xend.err '...')`` when one raises). A handler that writes
its output and returns ``''`` gets the 4.1+ trailing ``''``. Threaded operations (save,
dump, migrate, restore, pause flags, usb) keep the status already set, send an empty body
on success, ``(xend.err ...)`` on an xend error and nothing at all (the connection is
dropped) on any other error. The SXP/HTML choice follows ``useSxp``. Values are printed
with ``_show`` (a port of xend's printer), configs are parsed with ``aioxend.sxp``.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import socket
from collections.abc import Callable
from urllib.parse import parse_qs, quote, unquote

from aioxend.emulator._errors import ArgError, XendError, XendFault
from aioxend.emulator._faults import FaultInjector
from aioxend.emulator._host import Host
from aioxend.emulator._limits import Gate
from aioxend.emulator._py2 import arity_error, dict_order
from aioxend.emulator._records import Domain
from aioxend.emulator._show import MIME_TYPE, show
from aioxend.emulator._wire import RAW_KINDS, trickle, write_faulty
from aioxend.errors import ProtocolError
from aioxend.sxp import loads_all

__all__ = ["SxpServer"]

MAX_CONTENT_LENGTH = 10000
MAX_HEADERS = 500
STATUS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No content",
    304: "Not modified",
    400: "Bad request",
    404: "Not found",
    406: "Not acceptable",
    413: "Request entity too large",
    500: "Internal server error",
    501: "Not implemented",
    503: "Service unavailable",
    505: "HTTP version not supported",
}
_MALFORMED_SXP = b"(domain (domid 1) (name 'unterminated"


class _Drop(Exception):
    """Close the connection without another byte (xend's thread died)."""


class _BadRequest(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Request:
    """One request and the response being built for it (``xen.web.http.HttpRequest``)."""

    def __init__(self, server: SxpServer) -> None:
        self.server = server
        self.method = ""
        self.path = "/"
        self.version = "HTTP/1.1"
        self.headers: dict[str, str] = {}
        self.args: dict[str, list[str]] = {}
        self.close_connection = True
        self.code = 200
        self.status = "OK"
        self.response_headers: dict[str, str] = {}
        self.output: list[str] = []
        self.prepath: list[str] = []
        self.postpath: list[str] = []
        self.set_header("Pragma", "no-cache")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("Expires", "-1")

    # -- request side --------------------------------------------------------------
    def header(self, name: str) -> str | None:
        """A request header, case-insensitively."""
        return self.headers.get(name.lower())

    def use_sxp(self) -> bool:
        """xend's ``useSxp``: no User-Agent, no Accept, or Accept naming application/sxp."""
        agent = self.header("user-agent")
        accept = self.header("accept")
        return not agent or not accept or MIME_TYPE in accept

    def set_close(self, mode: str | None) -> None:
        """``setCloseConnection``: ``close`` or ``keep-alive``."""
        if not mode:
            return
        mode = mode.lower()
        if mode == "close":
            self.close_connection = True
        elif mode == "keep-alive":
            self.close_connection = False

    # -- response side -------------------------------------------------------------
    def set_code(self, code: int, status: str | None = None) -> None:
        """``setResponseCode``."""
        self.code = code
        self.status = status or STATUS.get(code, "unknown")

    def set_header(self, name: str, value: str) -> None:
        """``setHeader``: names are kept lower-case and capitalised when sent."""
        key = name.lower()
        self.response_headers[key] = str(value)
        if key == "connection":
            self.set_close(str(value))

    def write(self, text: str) -> None:
        """Append to the body."""
        self.output.append(text)

    def pre_path_url(self) -> str:
        """``prePathURL``: the URL of the resource reached so far."""
        host = (self.header("host") or socket.gethostname()).split(":")[0]
        port = self.server.port
        proto = "https" if self.server.tls else "http"
        if port != (443 if self.server.tls else 80):
            host += f":{port}"
        return f"{proto}://{host}/{quote('/'.join(self.prepath))}"

    def print_path(self) -> None:
        """``printPath``: the HTML breadcrumb."""
        self.write('<h1><a href="/">/</a>')
        path = "/"
        for part in (p for p in self.prepath if p):
            path += part + "/"
            self.write(f' <a href="{path}">{part}</a>/')
        self.write("</h1>")

    def result(self, value: object) -> None:
        """``resultVal``: print a handler's return value (None writes nothing)."""
        if value is None:
            return
        if self.use_sxp():
            self.set_header("Content-Type", MIME_TYPE)
            self.write(show(value))
        else:
            self.write("<html><head></head><body>")
            self.print_path()
            if isinstance(value, list):
                self.write("<code><pre>")
                self.write(show(value))
                self.write("</pre></code>")
            else:
                self.write(str(value))
            self.write("</body></html>")

    def result_err(self, err: BaseException) -> None:
        """``resultErr``: an xend error as ``(xend.err ...)`` (others drop the request)."""
        if not isinstance(err, (ArgError, ProtocolError, XendError)):
            raise _Drop from err
        if self.use_sxp():
            self.set_header("Content-Type", MIME_TYPE)
            self.write(show(["xend.err", str(err)]))
        else:
            self.set_header("Content-Type", "text/plain")
            self.write("Error : " + str(err))

    def head_and_body(self) -> tuple[list[tuple[str, str]], bytes]:
        """The headers to send (capitalised, Python 2 order) and the body."""
        body = "".join(self.output).encode("utf-8", "surrogateescape")
        send_body = not (self.method == "HEAD" or self.code in (204, 304))
        if not self.close_connection:
            self.set_header("Connection", "keep-alive")
        if send_body:
            self.set_header("Content-Length", str(len(body)))
        headers = [
            (key.capitalize(), self.response_headers[key])
            for key in dict_order(self.response_headers)
        ]
        return headers, body if send_body else b""


class _Thread:
    """``ThreadRequest``: finish the request by running ``fn`` (result discarded)."""

    def __init__(self, fn: Callable[[], object]) -> None:
        self.fn = fn


# -- form arguments (xen.xend.Args.FormFn) ---------------------------------------------
def _coerce(kind: str, value: str) -> object:
    try:
        if kind == "int":
            return int(value)
        if kind == "str":
            return str(value)
        if kind == "bool":
            return value in ("yes", "on", "1", "true")
        if kind == "sxpr":
            try:
                values = loads_all(value)
            except ProtocolError:
                raise ArgError("Coercion error") from None
            if len(values) != 1:
                raise ArgError("Too many values") if values else ArgError("Coercion error")
            return values[0]
    except ArgError:
        raise
    except ValueError as exc:
        raise ArgError(str(exc)) from None
    raise ArgError(f"invalid type:{kind}")


def form_call(
    fn: Callable[..., object],
    spec: list[tuple[str, str]],
    args: dict[str, list[str]],
    extra: dict[str, object] | None = None,
) -> object:
    """``FormFn(fn, spec)(args, extra)``: coerce, insist on every spec'd parameter, call."""
    kinds = dict(spec)
    given: dict[str, object] = {}
    for key, values in args.items():
        if key in kinds and values:
            given[key] = _coerce(kinds[key], values[0])
    call: list[object] = []
    for name, _kind in spec:
        if name in given:
            call.append(given[name])
        elif extra and name in extra:
            call.append(extra[name])
        else:
            raise ArgError(f"Missing parameter: {name}")
    return fn(*call)


def _first(req: Request, key: str) -> str:
    """``req.args[key][0]``: KeyError (whose str is the quoted key) when absent."""
    values = req.args.get(key)
    if not values:
        raise KeyError(key)
    return values[0]


def _py2_key_error(exc: KeyError) -> str:
    key = exc.args[0] if exc.args else ""
    return repr(key) if isinstance(key, str) else str(key)


# -- resources (xen.web.resource, xen.web.SrvDir) --------------------------------------
class Resource:
    """A node of the URL tree; ``render`` dispatches on the HTTP method."""

    is_leaf = False

    def __init__(self, host: Host) -> None:
        self.host = host
        self.children: dict[str, Resource] = {}

    def get_child(self, name: str, req: Request) -> Resource | None:
        """The child named ``name``, or None."""
        return None

    def path_resource(self, name: str, req: Request) -> Resource | None:
        """``getPathResource``: explicit children first."""
        return self.children.get(name) or self.get_child(name, req)

    def render(self, req: Request) -> object:
        """``render``: ``render_<METHOD>`` or the 501 of ``unsupported``."""
        method = {"GET": self.render_get, "HEAD": self.render_get, "POST": self.render_post}
        fn = method.get(req.method)
        if fn is None:
            req.set_header("Accept", "GET,HEAD,POST")
            req.set_code(501)
            req.set_header("Content-Type", "text/plain")
            req.write(f"Request method not supported ({req.method})")
            return None
        return fn(req)

    def render_get(self, req: Request) -> object:
        """The default GET."""
        req.set_header("Content-Type", "text/plain")
        req.write("GET")
        return None

    def render_post(self, req: Request) -> object:
        """The default POST (``Resource.render_POST`` answers the word POST)."""
        req.set_header("Content-Type", "text/plain")
        req.write("POST")
        return None


class ErrorPage(Resource):
    """``ErrorPage``: a status and a text/plain message."""

    is_leaf = True

    def __init__(self, host: Host, code: int, message: str) -> None:
        super().__init__(host)
        self.code = code
        self.message = message

    def render(self, req: Request) -> object:
        """Set the status, write the message."""
        req.set_code(self.code)
        req.set_header("Content-Type", "text/plain")
        req.write(self.message)
        return None


class SrvDir(Resource):
    """``SrvDir``: a directory with named entries and ``op_*`` operations."""

    def __init__(self, host: Host) -> None:
        super().__init__(host)
        self.table: dict[str, Callable[[], Resource]] = {}
        self.order: list[str] = []

    def add(self, name: str, make: Callable[[], Resource]) -> None:
        """Add an entry (built on first use)."""
        self.table[name] = make
        self.order.append(name)

    def get(self, name: str) -> Resource | None:
        """The entry ``name``; subclasses look further (domains, vnets)."""
        make = self.table.get(name)
        return make() if make is not None else None

    def get_child(self, name: str, req: Request) -> Resource | None:
        """``getChild``: self for ``''``, 404 pages for unknown names and domains."""
        if name == "":
            return self
        try:
            found = self.get(name)
        except XendFault as exc:
            return ErrorPage(self.host, 404, str(exc))
        if found is None:
            return ErrorPage(self.host, 404, f"Not found: {name}")
        return found

    def render_get(self, req: Request) -> object:
        """The listing: ``(ls  a b)`` (then the trailing ``''`` via the return value)."""
        if req.use_sxp():
            req.set_header("Content-type", MIME_TYPE)
            req.write("(ls ")
            for name in self.order:
                req.write(" " + name)
            req.write(")")
        else:
            url = req.pre_path_url()
            if not url.endswith("/"):
                url += "/"
            req.write("<html><head></head><body>")
            req.print_path()
            req.write("<ul>")
            for name in self.order:
                req.write(f'<li><a href="{url}{name}">{name}</a></li>')
            req.write("</ul>")
            req.write("</body></html>")
        return ""

    def perform(self, req: Request) -> object:
        """``SrvBase.perform``: run ``op_<op>``, mapping failures to 406/501/500."""
        ops = req.args.get("op")
        if ops is None or len(ops) != 1:
            req.set_code(406, "Invalid request")
            return ""
        op = ops[0]
        fn: Callable[[Request], object] | None = getattr(self, "op_" + op, None)
        if fn is None:
            req.set_code(501, "Operation not implemented: " + op)
            req.set_header("Content-Type", "text/plain")
            req.write("Operation not implemented: " + op)
            return ""
        try:
            with self.host.lock:
                return fn(req)
        except _Drop:
            raise
        except Exception as exc:
            req.set_code(500, "Request failed: " + op)
            message = _py2_key_error(exc) if isinstance(exc, KeyError) else str(exc)
            self.host.log("ERROR", "SrvBase", f"Request {op} failed: {message}")
            if req.use_sxp():
                return ["xend.err", message]
            return f"<p>{message}</p>"

    def accept_command(self, req: Request) -> None:
        """``acceptCommand``: 202 and a Location one level up."""
        req.set_code(202)
        req.set_header("Location", f"{req.pre_path_url()}/..")


class SrvTop(SrvDir):
    """The server's root ``/``: only ``xend`` below it, and an empty listing."""

    def __init__(self, host: Host) -> None:
        super().__init__(host)
        self.children["xend"] = SrvRoot(host)


class SrvRoot(SrvDir):
    """``/xend/``: ``(ls  node domain vnet)``."""

    def __init__(self, host: Host) -> None:
        super().__init__(host)
        node = SrvNode(host)
        domains = SrvDomainDir(host)
        vnets = SrvVnetDir(host)
        self.add("node", lambda: node)
        self.add("domain", lambda: domains)
        self.add("vnet", lambda: vnets)


class SrvNode(SrvDir):
    """``/xend/node``: node information; ``op=shutdown`` and ``op=reboot`` (stubs)."""

    def __init__(self, host: Host) -> None:
        super().__init__(host)
        dmesg = SrvDmesg(host)
        log = SrvXendLog(host)
        self.add("dmesg", lambda: dmesg)
        self.add("log", lambda: log)

    def op_shutdown(self, req: Request) -> object:
        """``XendNode.shutdown``: a stub in 4.x."""
        return 0

    def op_reboot(self, req: Request) -> object:
        """``XendNode.reboot``: a stub in 4.x."""
        return 0

    def render_post(self, req: Request) -> object:
        """Operations."""
        return self.perform(req)

    def render_get(self, req: Request) -> object:
        """``(node (system Linux) ...)``."""
        with self.host.lock:
            info = self.host.node_info()
        if req.use_sxp():
            req.set_header("Content-Type", MIME_TYPE)
            req.write(show(["node", *info]))
        else:
            req.write("<html><head></head><body>")
            req.print_path()
            req.write("<ul>")
            for key, value in info:
                req.write(f"<li> {key!s:>10}: {value!s}")
            req.write("</ul>")
            req.write("</body></html>")
        return None


class SrvDmesg(SrvDir):
    """``/xend/node/dmesg``: the console ring as text; ``op=clear``."""

    def render_post(self, req: Request) -> object:
        """Operations; xend forgot to return their result."""
        self.perform(req)
        return None

    def render_get(self, req: Request) -> object:
        """The console ring."""
        with self.host.lock:
            text = self.host.dmesg_info()
        if req.use_sxp():
            req.set_header("Content-Type", "text/plain")
            req.write(text)
        else:
            req.write("<html><head></head><body>")
            req.print_path()
            req.write("<pre>" + text + "</pre></body></html>")
        return None

    def op_clear(self, req: Request) -> object:
        """Clear the ring."""
        self.host.dmesg_clear()
        return 0


class SrvXendLog(SrvDir):
    """``/xend/node/log``: the xend log file as text/plain."""

    def render_get(self, req: Request) -> object:
        """The log."""
        req.set_header("Content-Type", "text/plain")
        req.write(self.host.xend_log())
        return None


class SrvDomainDir(SrvDir):
    """``/xend/domain``: the domain list, create/new/restore/list, and each domain."""

    def get(self, name: str) -> Resource | None:
        """A domain by name, domid or uuid (404 ``<Fault 3: 'x'>`` otherwise)."""
        found = super().get(name)
        if found is not None:
            return found
        with self.host.lock:
            dom = self.host.lookup(name)
        return SrvDomain(self.host, dom)

    def _parse_config(self, req: Request) -> object:
        try:
            values = req.args.get("config")
            if values is None:
                raise TypeError("'NoneType' object has no attribute '__getitem__'")
            parsed = loads_all(values[0])
        except ProtocolError as exc:
            raise XendError("Invalid configuration " + str(exc)) from None
        except Exception as exc:
            raise XendError("Configuration error " + str(exc)) from None
        return parsed[0] if parsed else None

    def op_create(self, req: Request) -> object:
        """Create a domain from ``config``: 201, Location, the domain record."""
        config = self._parse_config(req)
        try:
            dom = self.host.domain_create(config)
        except Exception as exc:
            raise XendError("Error creating domain: " + str(exc)) from None
        req.set_code(201, "created")
        req.set_header("Location", f"{req.pre_path_url()}/{dom.name}")
        if req.use_sxp():
            return dom.sxpr()
        return f'<p> Created <a href="{req.pre_path_url()}/{dom.name}">Domain {dom.name}</a></p>'

    def op_new(self, req: Request) -> object:
        """Define a managed domain from ``config``; nothing is returned."""
        config = self._parse_config(req)
        try:
            self.host.domain_new(config)
        except Exception as exc:
            raise XendError("Error creating domain: " + str(exc)) from None
        return None

    def op_restore(self, req: Request) -> object:
        """Threaded restore from ``file``: 201 and Location, empty body."""

        def run() -> object:
            dom = form_call(self.host.domain_restore, [("file", "str")], req.args)
            assert isinstance(dom, Domain)
            req.set_code(201)
            req.set_header("Location", f"{req.pre_path_url()}/{dom.name}")
            return dom.sxpr()

        return _Thread(run)

    def op_list(self, req: Request) -> object:
        """The running domains' full records."""
        return [d.sxpr() for d in self.host.list_sorted("running")]

    def render_post(self, req: Request) -> object:
        """Operations."""
        return self.perform(req)

    def render_get(self, req: Request) -> object:
        """Names of running domains, or ``?state=``/``?detail=1`` variants."""
        with self.host.lock:
            state: object = "running"
            if req.args.get("state"):
                state = req.args["state"][0]
            doms = self.host.list_sorted(state)
            detail = req.args.get("detail") == ["1"]
            value: object = [d.sxpr() for d in doms] if detail else [d.name for d in doms]
        if req.use_sxp():
            req.set_header("Content-Type", MIME_TYPE)
            req.write(show(value))
        else:
            url = req.pre_path_url()
            if not url.endswith("/"):
                url += "/"
            req.write("<html><head></head><body>")
            req.print_path()
            req.write("<ul>")
            for d in doms:
                req.write(f'<li><a href="{url}{d.name}"> Domain {d.name}</a>')
                req.write(f"id={d.domid}memory={d.memory}</li>")
            req.write("</ul></body></html>")
        return None


def _submit(op: str) -> str:
    """A submit button for ``op``, as ``SrvDomain.form`` wrote them."""
    return f'<input type="submit" name="op" value="{op}">'


# SrvDomain.form: the forms of a domain's HTML page, one tuple of fields a form
_DOMAIN_FORMS = (
    (_submit("unpause"), _submit("pause")),
    (_submit("destroy"),),
    (_submit("reset"),),
    (
        _submit("shutdown"),
        '<input type="radio" name="reason" value="poweroff" checked>Poweroff',
        '<input type="radio" name="reason" value="halt">Halt',
        '<input type="radio" name="reason" value="reboot">Reboot',
    ),
    ("<br>" + _submit("save"), ' To file: <input type="text" name="file">'),
    (
        "<br>" + _submit("migrate"),
        ' To host: <input type="text" name="destination">',
        '<input type="checkbox" name="live" value="1">Live',
    ),
)


class SrvDomain(SrvDir):
    """``/xend/domain/<dom>``: the record, and every operation on one domain."""

    def __init__(self, host: Host, dom: Domain) -> None:
        super().__init__(host)
        self.dom = dom

    # the operations, in xend's order, with xend's argument handling
    def op_configure(self, req: Request) -> object:
        """Broken in xend: ``domain_configure`` is called with one argument too many."""
        return form_call(
            _py2_method("domain_configure", 2, 2, self.host.domain_configure),
            [("dom", "int"), ("config", "sxpr")],
            req.args,
            {"dom": self.dom.domid},
        )

    def op_unpause(self, req: Request) -> object:
        """``domain_unpause(domid)``."""
        self.host.domain_unpause(_domid(self.dom))
        return None

    def op_pause(self, req: Request) -> object:
        """``domain_pause(domid)``."""
        return self.host.domain_pause(_domid(self.dom))

    def op_rename(self, req: Request) -> object:
        """202; ``setName(name)``."""
        self.accept_command(req)
        self.host.setName(self.dom, _first(req, "name"))
        return None

    def op_shutdown(self, req: Request) -> object:
        """202; ``shutdown(reason)``."""
        self.accept_command(req)
        self.host.shutdown(self.dom, _first(req, "reason"))
        return None

    def op_delete(self, req: Request) -> object:
        """202; ``domain_delete(name)``."""
        self.accept_command(req)
        self.host.domain_delete(self.dom.name)
        return None

    def op_start(self, req: Request) -> object:
        """202; ``domain_start`` - never paused: xend compared the field with ``[1]``."""
        self.accept_command(req)
        self.host.domain_start(self.dom.name, False)
        return None

    def op_sysrq(self, req: Request) -> object:
        """202; ``send_sysrq(int(key))``: the key is a numeric char code."""
        self.accept_command(req)
        self.host.send_sysrq(self.dom, int(_first(req, "key")))
        return None

    def op_wait_for_devices(self, req: Request) -> object:
        """202; ``waitForDevices``."""
        self.accept_command(req)
        self.host.waitForDevices(self.dom)
        return None

    def op_destroy(self, req: Request) -> object:
        """202; ``domain_destroy(domid)``."""
        self.accept_command(req)
        self.host.domain_destroy(_domid(self.dom))
        return None

    def op_save(self, req: Request) -> object:
        """202, threaded: ``domain_save(domid, file)``."""
        self.accept_command(req)
        return _Thread(lambda: self.host.domain_save(_domid(self.dom), _first(req, "file")))

    def op_dump(self, req: Request) -> object:
        """202, threaded: ``domain_dump`` with every field required."""
        self.accept_command(req)
        spec = [("dom", "int"), ("file", "str"), ("live", "int"), ("crash", "int"),
                ("reset", "int")]  # fmt: skip
        return _Thread(
            lambda: form_call(self.host.domain_dump, spec, req.args, {"dom": self.dom.domid})
        )

    def op_migrate(self, req: Request) -> object:
        """Threaded (status stays 200): ``domain_migrate`` with every field required."""
        spec = [("dom", "int"), ("destination", "str"), ("live", "int"), ("port", "int"),
                ("node", "int"), ("ssl", "int"), ("change_home_server", "bool")]  # fmt: skip
        return _Thread(
            lambda: form_call(self.host.domain_migrate, spec, req.args, {"dom": self.dom.domid})
        )

    def op_pincpu(self, req: Request) -> object:
        """``domain_pincpu(name, vcpu, cpumap)``."""
        spec = [("dom", "str"), ("vcpu", "str"), ("cpumap", "str")]
        return form_call(self.host.domain_pincpu, spec, req.args, {"dom": self.dom.name})

    def op_cpu_sedf_get(self, req: Request) -> object:
        """``domain_cpu_sedf_get(domid)``."""
        return form_call(
            self.host.domain_cpu_sedf_get, [("dom", "int")], req.args, {"dom": self.dom.domid}
        )

    def op_cpu_sedf_set(self, req: Request) -> object:
        """``domain_cpu_sedf_set(domid, period, slice, latency, extratime, weight)``."""
        spec = [("dom", "int"), ("period", "int"), ("slice", "int"), ("latency", "int"),
                ("extratime", "int"), ("weight", "int")]  # fmt: skip
        return form_call(self.host.domain_cpu_sedf_set, spec, req.args, {"dom": self.dom.domid})

    def op_domain_sched_credit_get(self, req: Request) -> object:
        """The credit parameters dict (printed as the repr of its str)."""
        return form_call(
            self.host.domain_sched_credit_get, [("dom", "str")], req.args, {"dom": self.dom.name}
        )

    def op_domain_sched_credit_set(self, req: Request) -> object:
        """``domain_sched_credit_set(name, weight, cap)``."""
        spec = [("dom", "str"), ("weight", "int"), ("cap", "int")]
        return form_call(self.host.domain_sched_credit_set, spec, req.args, {"dom": self.dom.name})

    def op_domain_sched_credit2_get(self, req: Request) -> object:
        """The credit2 parameters dict."""
        return form_call(
            self.host.domain_sched_credit2_get, [("dom", "str")], req.args, {"dom": self.dom.name}
        )

    def op_domain_sched_credit2_set(self, req: Request) -> object:
        """``domain_sched_credit2_set(name, weight)``."""
        spec = [("dom", "str"), ("weight", "int")]
        return form_call(self.host.domain_sched_credit2_set, spec, req.args, {"dom": self.dom.name})

    def op_maxmem_set(self, req: Request) -> object:
        """``setMemoryMaximum(memory)``."""
        fn = _bound(self.host.setMemoryMaximum, self.dom)
        return form_call(fn, [("memory", "int")], req.args)

    def op_mem_target_set(self, req: Request) -> object:
        """``capAndSetMemoryTarget(target)``: capped at maxmem."""

        def cap_and_set(target: object) -> object:
            value = min(int(target), self.dom.maxmem)  # type: ignore[call-overload]
            self.host.setMemoryTarget(self.dom, value)
            return None

        return form_call(cap_and_set, [("target", "int")], req.args)

    def op_devices(self, req: Request) -> object:
        """``getDeviceSxprs(type)``."""
        fn = _bound(self.host.getDeviceSxprs, self.dom)
        return form_call(fn, [("type", "str")], req.args)

    def op_device_create(self, req: Request) -> object:
        """``device_create(config)``."""
        fn = _bound(self.host.device_create, self.dom)
        return form_call(fn, [("config", "sxpr")], req.args)

    def op_device_destroy(self, req: Request) -> object:
        """``destroyDevice(type, dev, force, rm_cfg)`` (all four required since 3.3)."""
        fn = _bound(self.host.destroyDevice, self.dom)
        spec = [("type", "str"), ("dev", "str"), ("force", "int"), ("rm_cfg", "int")]
        return form_call(fn, spec, req.args)

    def op_device_configure(self, req: Request) -> object:
        """``device_configure(config, dev)``."""
        fn = _bound(self.host.device_configure, self.dom)
        return form_call(fn, [("config", "sxpr"), ("dev", "str")], req.args)

    def op_vif_limit_set(self, req: Request) -> object:
        """Broken in xend: the XendDomain method does not exist."""
        raise AttributeError("XendDomain instance has no attribute 'domain_vif_limit_set'")

    def op_set_vcpus(self, req: Request) -> object:
        """``setVCpuCount(vcpus)``."""
        fn = _bound(self.host.setVCpuCount, self.dom)
        return form_call(fn, [("vcpus", "int")], req.args)

    def op_vcpuinfo(self, req: Request) -> object:
        """``getVCPUInfo()``."""
        return self.host.getVCPUInfo(self.dom)

    def op_reset(self, req: Request) -> object:
        """202; ``domain_reset(name)``."""
        self.accept_command(req)
        self.host.domain_reset(self.dom.name)
        return None

    def op_do_get_pauseflag(self, req: Request) -> object:
        """Broken in xend: the request object is passed as a second argument."""
        self.accept_command(req)

        def run() -> object:
            raise TypeError(arity_error("domain_getpauseflag", 2, 2, 3))

        return _Thread(run)

    def op_do_set_pauseflag(self, req: Request) -> object:
        """202, threaded: the request object becomes the (true) flag."""
        self.accept_command(req)
        return _Thread(lambda: self.host.domain_setpauseflag(self.dom.name, True))

    def op_usb_add(self, req: Request) -> object:
        """202, threaded: the request object becomes the device id."""
        self.accept_command(req)
        return _Thread(lambda: self.host.domain_usb_add(self.dom.name, _REQ_REPR))

    def op_usb_del(self, req: Request) -> object:
        """202, threaded: as usb_add."""
        self.accept_command(req)
        return _Thread(lambda: self.host.domain_usb_del(self.dom.name, _REQ_REPR))

    def render_post(self, req: Request) -> object:
        """Operations."""
        return self.perform(req)

    def render_get(self, req: Request) -> object:
        """The full record (then the trailing ``''``), or ``?op=vcpuinfo``."""
        ops = req.args.get("op")
        if ops and ops[0] == "vcpuinfo":
            return self.perform(req)
        with self.host.lock:
            record = self.dom.sxpr()
        if req.use_sxp():
            req.set_header("Content-Type", MIME_TYPE)
            req.write(show(record))
        else:
            req.write("<html><head></head><body>")
            req.print_path()
            req.write(f"<p>{self.dom}</p>")
            url = req.pre_path_url()
            for fields in _DOMAIN_FORMS:
                req.write(f'<form method="post" action="{url}">')
                for field in fields:
                    req.write(field)
                req.write("</form>")
            req.write("</body></html>")
        return ""


_REQ_REPR = "<xen.web.httpserver.HttpServerRequest instance>"


def _domid(dom: Domain) -> object:
    """``self.dom.domid`` as xend passed it (None for an inactive domain)."""
    return dom.domid


def _bound(fn: Callable[..., object], dom: Domain) -> Callable[..., object]:
    return lambda *args: fn(dom, *args)


def _py2_method(
    name: str, required: int, maximum: int, fn: Callable[..., object]
) -> Callable[..., object]:
    """A bound xend method called with ``args``: Python 2's TypeError on a bad count."""

    def call(*args: object) -> object:
        error = arity_error(name, required, maximum, len(args) + 1)
        if error is not None:
            raise TypeError(error)
        return fn(*args)

    return call


class SrvVnetDir(SrvDir):
    """``/xend/vnet``: vnet ids; ``op=create``; each vnet with ``op=delete``."""

    def get(self, name: str) -> Resource | None:
        """A vnet by id (404 ``No such vnet x`` otherwise)."""
        found = super().get(name)
        if found is not None:
            return found
        with self.host.lock:
            if name not in self.host.vnets:
                raise XendError("No such vnet " + name)
        return SrvVnet(self.host, name)

    def op_create(self, req: Request) -> object:
        """``vnet_create(config)``."""
        return form_call(self.host.vnet_create, [("config", "sxpr")], req.args)

    def render_post(self, req: Request) -> object:
        """Operations."""
        return self.perform(req)

    def render_get(self, req: Request) -> object:
        """The vnet ids."""
        if req.use_sxp():
            req.set_header("Content-Type", MIME_TYPE)
            with self.host.lock:
                req.write(show(list(self.host.vnets)))
        else:
            req.write("<html><head></head><body>")
            req.print_path()
            req.write("</body></html>")
        return None


class SrvVnet(SrvDir):
    """``/xend/vnet/<id>``."""

    def __init__(self, host: Host, vid: str) -> None:
        super().__init__(host)
        self.vid = vid

    def op_delete(self, req: Request) -> object:
        """``vnet_delete(id)``."""
        self.host.vnet_delete(self.vid)
        return None

    def render_post(self, req: Request) -> object:
        """Operations."""
        return self.perform(req)

    def render_get(self, req: Request) -> object:
        """The vnet record."""
        with self.host.lock:
            record = self.host.vnets.get(self.vid, ["vnet", ["id", self.vid]])
        if req.use_sxp():
            req.set_header("Content-Type", MIME_TYPE)
            req.write(show(record))
        else:
            req.write(f"<html><head></head><body><p>{show(record)}</p></body></html>")
        return None


# -- the HTTP server -------------------------------------------------------------------
def _parse_multipart(content_type: str, body: bytes) -> dict[str, list[str]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    out: dict[str, list[str]] = {}
    if not message.is_multipart():
        return out
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", "surrogateescape") if isinstance(payload, bytes) else ""
        out.setdefault(str(name), []).append(text)
    return out


class SxpServer:
    """Serves ``/xend/`` on one listener: call ``handle`` for each connection."""

    def __init__(
        self,
        host: Host,
        faults: FaultInjector,
        stop: asyncio.Event,
        gate: Gate,
        *,
        port: int,
        tls: bool,
    ) -> None:
        self.host = host
        self.faults = faults
        self.stop = stop
        self.gate = gate
        self.port = port
        self.tls = tls
        self.root = SrvTop(host)
        self.writers: set[asyncio.StreamWriter] = set()

    def close_all(self) -> None:
        """Close every open connection (the emulator is stopping)."""
        for writer in list(self.writers):
            writer.close()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve requests on one connection until it closes (or must be closed)."""
        self.writers.add(writer)
        try:
            while not self.stop.is_set():
                if not await self._one(reader, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, _Drop):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_request(self, reader: asyncio.StreamReader, req: Request) -> bool:
        line = await reader.readline()
        if not line:
            return False
        fields = line.decode("latin-1").rstrip("\r\n").split()
        if len(fields) == 3:
            method, uri, version = fields
        elif len(fields) == 2:
            method, uri = fields
            version = "HTTP/0.9"
        else:
            raise _BadRequest(400)
        try:
            if not version.startswith("HTTP/"):
                raise ValueError(version)
            major, minor = (int(x) for x in version.split("/", 1)[1].split("."))
        except ValueError:
            raise _BadRequest(400) from None
        if (major, minor) > (2, 0):
            raise _BadRequest(505)
        req.method, req.version = method, version
        path, _, query = uri.partition("?")
        req.path = path
        if query:
            req.args = parse_qs(query)
        count = 0
        while True:
            if count >= MAX_HEADERS:
                raise _BadRequest(400)
            raw = await reader.readline()
            count += 1
            if raw in (b"\r\n", b"\n", b""):
                break
            name, sep, value = raw.decode("latin-1").partition(":")
            if sep and name.strip():
                req.headers.setdefault(name.strip().lower(), value.strip())
        req.set_close(req.header("connection"))
        length_text = req.header("content-length")
        body = b""
        if length_text is not None:
            try:
                length = int(length_text)
            except ValueError:
                length = None
            if length is not None:
                if length > MAX_CONTENT_LENGTH:
                    raise _BadRequest(413)
                body = await self._read_body(reader, max(length, 0))
        if method == "POST" and body:
            ctype = req.header("content-type") or ""
            kind = ctype.split(";")[0].strip().lower()
            extra: dict[str, list[str]] = {}
            if kind == "application/x-www-form-urlencoded":
                extra = parse_qs(body.decode("latin-1"), keep_blank_values=True)
                extra = {
                    k: [v.encode("latin-1").decode("utf-8", "surrogateescape") for v in vs]
                    for k, vs in extra.items()
                }
            elif kind == "multipart/form-data":
                extra = _parse_multipart(ctype, body)
            req.args.update(extra)
        return True

    async def _read_body(self, reader: asyncio.StreamReader, length: int) -> bytes:
        """``length`` bytes (fewer at EOF), held against the emulator's body budget."""
        if not self.gate.reserve(length):
            raise _BadRequest(503)
        try:
            body = await reader.read(length) if length > 0 else b""
            while len(body) < length:
                more = await reader.read(length - len(body))
                if not more:
                    break
                body += more
            return body
        finally:
            self.gate.release(length)

    def _fault_keys(self, req: Request) -> list[str]:
        path = req.path.rstrip("/") or "/"
        keys = [req.method, path]
        ops = req.args.get("op")
        if ops and len(ops) == 1:
            keys.append(ops[0])
        return keys

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        req = Request(self)
        try:
            if not await self._read_request(reader, req):
                return False
        except _BadRequest as bad:
            req.set_code(bad.code)
            await self._send(writer, req)
            if bad.code == 413:
                await self._discard(reader, req)
            return False
        with self.gate.busy(writer.transport):
            return await self._answer(req, writer)

    async def _answer(self, req: Request, writer: asyncio.StreamWriter) -> bool:
        """Answer a request read whole; False when the connection must close."""
        picked = self.faults.pick(self._fault_keys(req))
        if picked.latency:
            await asyncio.sleep(picked.latency)
        kind = picked.kind
        transport = writer.transport
        if kind in ("drop_before", "stall"):
            await write_faulty(transport, kind, 200, "OK", [], b"", delay=0, stop=self.stop)
            return False
        if kind == "http500":
            req.set_code(500)
            req.set_header("Content-Type", "text/plain")
            req.write("Internal server error")
            await self._send(writer, req)
            return not req.close_connection
        try:
            self._process(req)
        except _Drop:
            raise
        except Exception as exc:
            # processError: a bare 500 and the connection closed
            self.host.log("ERROR", "httpserver", f"{req.method} {req.path} failed: {exc}")
            failed = Request(self)
            failed.method = req.method
            failed.set_code(500)
            await self._send(writer, failed)
            return False
        if kind == "malformed":
            req.set_code(200)
            req.set_header("Content-Type", MIME_TYPE)
            req.output = [_MALFORMED_SXP.decode()]
        if kind in RAW_KINDS:
            req.close_connection = True
            headers, body = req.head_and_body()
            headers = [(k, v) for k, v in headers if k != "Content-length"]
            await write_faulty(
                transport,
                str(kind),
                req.code,
                req.status,
                headers,
                body,
                delay=picked.delay,
                stop=self.stop,
                length_name="Content-length",
            )
            return False
        if kind == "trickle":
            if not await trickle(transport, self._response_bytes(req), picked.delay, self.stop):
                return False
            return not req.close_connection
        await self._send(writer, req)
        return not req.close_connection

    def _process(self, req: Request) -> None:
        """``HttpServerRequest.process``: find the resource, render, print the result."""
        req.prepath = []
        req.postpath = [unquote(p) for p in req.path[1:].split("/")]
        resource: Resource = self.root
        while req.postpath and not resource.is_leaf:
            name = req.postpath.pop(0)
            req.prepath.append(name)
            found = resource.path_resource(name, req)
            if found is None:
                break
            resource = found
        value = resource.render(req)
        if isinstance(value, _Thread):
            with self.host.lock:
                try:
                    value.fn()
                except Exception as exc:
                    req.result_err(exc)
            return
        req.result(value)

    def _response_bytes(self, req: Request) -> bytes:
        headers, body = req.head_and_body()
        lines = [f"HTTP/1.1 {req.code} {req.status}\r\n"]
        lines += [f"{k}: {v}\r\n" for k, v in headers]
        lines.append("\r\n")
        return "".join(lines).encode("latin-1", "replace") + body

    async def _send(self, writer: asyncio.StreamWriter, req: Request) -> None:
        writer.write(self._response_bytes(req))
        await writer.drain()

    async def _discard(self, reader: asyncio.StreamReader, req: Request) -> None:
        # Not xend: read what the client already sent, so that closing does not reset
        # the connection before it has read the 413.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.read(MAX_CONTENT_LENGTH * 10), 0.2)
