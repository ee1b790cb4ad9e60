"""``xm serve`` for tests and for hosts without xm: relay stdin/stdout to a UNIX socket.

``python -m aioxend.transport._relay /path/to/socket`` connects to the socket, copies
stdin to it and its replies to stdout, and exits when the socket closes, as ``xm serve``
did at the far end of ``ssh host xm serve``. Two threads, blocking I/O, no event loop.
"""

from __future__ import annotations

import os
import socket
import sys
import threading

__all__ = ["main", "relay"]


def _pump_in(sock: socket.socket, fd: int) -> None:
    """stdin to the socket; at end of stdin, half-close so the server sees EOF."""
    try:
        while data := os.read(fd, 65536):
            sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def relay(path: str, stdin_fd: int = 0, stdout_fd: int = 1) -> int:
    """Relay until the socket closes; returns the process exit status."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as exc:
        print(f"relay: cannot connect to {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    threading.Thread(target=_pump_in, args=(sock, stdin_fd), daemon=True).start()
    try:
        while data := sock.recv(65536):
            view = memoryview(data)
            while view:
                view = view[os.write(stdout_fd, view) :]
    except OSError:
        return 1
    finally:
        sock.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m aioxend.transport._relay SOCKET_PATH", file=sys.stderr)
        return 2
    return relay(args[0])


if __name__ == "__main__":
    sys.exit(main())
