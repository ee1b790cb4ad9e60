"""Every ```python block of README.md and docs/**/*.md runs, against the emulator.

The blocks are read from the files at test time (never copied here), so a snippet that
stops working fails the suite. The conventions a block is written to (also in
docs/development.md, "Code snippets"):

1. **A block is a script.** Each ```python block runs on its own, in a fresh namespace,
   as ``python block.py`` would run it: it imports what it uses. Top-level ``await``,
   ``async with`` and ``async for`` are allowed (the block then runs inside
   ``asyncio.run``); a block that calls ``asyncio.run`` itself runs as written. A block
   has 60 seconds. Its output is not compared: a block checks what matters with
   ``assert``.
2. **Hosts are placeholders for emulators.** Each block gets fresh emulators (seed 0,
   guests ``vm1``..``vm3``, ``vm1`` running) on loopback, and these names in its text are
   replaced by their URLs before it runs:

   | Written in the block | Replaced by |
   |---|---|
   | `http://xen1:8006/` (also `xen2`, `xen3`) | that host's xend XML-RPC listener |
   | `http://xen1:8000/` (also `xen2`, `xen3`) | that host's legacy SXP/HTTP listener |
   | `https://pool-master.example/` | a Xen-API emulator (user `root`, password `secret`) |
   | a path under `/tmp/` | the same name in a directory of the test's own |

   ``XM_SERVER`` is set to ``xen1``'s XML-RPC URL, so ``aioxend.connect()`` with no URL
   reaches it as it would reach ``$XM_SERVER`` (xm's own variable). A host a block does
   not name is not started.
3. **Opting out** is for a block that cannot run here (it needs a real Xen host, or
   shows a fragment that is not a program): put ``<!-- no-test: the reason -->`` on the
   line before the fence. It is invisible in the rendered page; keep them few. Shell
   examples use ```console or plain fences, which are not run.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^(?P<indent>[ \t]*)```python[ \t]*$")
NO_TEST = re.compile(r"<!--\s*no-test:\s*(?P<why>\S.*?)\s*-->")
HOSTS = ("xen1", "xen2", "xen3")
XENAPI_PLACEHOLDER = "https://pool-master.example/"
XENAPI_USERS = {"root": "secret"}
TIME_LIMIT = 60.0


@dataclass(frozen=True)
class Snippet:
    """One ```python block: where it is, its text, and why it is skipped (if it is)."""

    path: Path
    line: int  # 1-based line of the first line of code
    code: str
    skip: str | None

    @property
    def id(self) -> str:
        path = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{path}:{self.line}"


def snippets(path: Path) -> list[Snippet]:
    """The ```python blocks of one Markdown file, with their opt-out marks."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Snippet] = []
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        indent = match.group("indent")
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise AssertionError(f"{path}:{index + 1}: unclosed ```python block")
        body = [line.removeprefix(indent) for line in lines[index + 1 : end]]
        mark = NO_TEST.search(lines[index - 1]) if index else None
        found.append(
            Snippet(path, index + 2, "\n".join(body) + "\n", mark.group("why") if mark else None)
        )
        index = end + 1
    return found


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


ALL = [s for path in documents() for s in snippets(path)]


class Hosts:
    """The emulators one block names, each started on first need and stopped at the end."""

    def __init__(self, tmp: Path) -> None:
        self.stack = contextlib.ExitStack()
        self.tmp = tmp
        self.legacy: dict[str, Any] = {}

    def xend(self, name: str) -> Any:
        if name not in self.legacy:
            from aioxend.emulator import Emulator

            self.legacy[name] = self.stack.enter_context(
                Emulator.in_thread(xmlrpc_tcp="127.0.0.1:0", sxp_tcp="127.0.0.1:0")
            )
        return self.legacy[name]

    def xenapi_url(self) -> str:
        from aioxend.emulator.xenapi import XenAPIServer

        server = self.stack.enter_context(
            XenAPIServer.in_thread(tcp="127.0.0.1:0", users=XENAPI_USERS)
        )
        return str(server.url)

    def substitute(self, code: str) -> str:
        """The block's text with every placeholder replaced by a live URL or path."""
        for name in HOSTS:
            for port, attr in (("8006", "xmlrpc_url"), ("8000", "sxp_url")):
                placeholder = f"http://{name}:{port}/"
                if placeholder in code:
                    code = code.replace(placeholder, getattr(self.xend(name), attr))
        if XENAPI_PLACEHOLDER in code:
            code = code.replace(XENAPI_PLACEHOLDER, self.xenapi_url())
        return re.sub(r"(?<![\w/])/tmp/", f"{self.tmp}/", code)


def run(snippet: Snippet, code: str) -> None:
    """Run the block's code as a script; top-level await runs it under asyncio.run."""
    padded = "\n" * (snippet.line - 1) + code  # tracebacks give the Markdown file's lines
    compiled = compile(
        padded, snippet.id.rpartition(":")[0], "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    )
    namespace: dict[str, Any] = {"__name__": "__main__"}
    if compiled.co_flags & inspect.CO_COROUTINE:

        async def main() -> None:
            await asyncio.wait_for(eval(compiled, namespace), TIME_LIMIT)

        asyncio.run(main())
    else:
        exec(compiled, namespace)


@contextlib.contextmanager
def _hosts(tmp_path: Path) -> Iterator[Hosts]:
    hosts = Hosts(tmp_path)
    with hosts.stack:
        yield hosts


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[Hosts]:
    with _hosts(tmp_path) as started:
        yield started


@pytest.mark.parametrize("snippet", ALL, ids=[s.id for s in ALL])
def test_snippet_runs(
    snippet: Snippet, hosts: Hosts, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if snippet.skip is not None:
        pytest.skip(f"no-test: {snippet.skip}")
    monkeypatch.setenv("XM_SERVER", hosts.xend("xen1").xmlrpc_url)
    monkeypatch.chdir(tmp_path)
    run(snippet, hosts.substitute(snippet.code))


def test_the_documents_have_snippets_and_few_opt_outs() -> None:
    """The collection itself: blocks are found, and opting out stays the exception."""
    assert len(ALL) >= 5
    skipped = [s.id for s in ALL if s.skip is not None]
    assert len(skipped) <= max(2, len(ALL) // 5), skipped


def test_the_extraction_and_the_placeholders(tmp_path: Path) -> None:
    """Fences, indentation, opt-out marks and the substitution, on a document of our own."""
    doc = tmp_path / "page.md"
    doc.write_text(
        "text\n```python\nx = 1\n```\n<!-- no-test: needs a real host -->\n```python\ny\n```\n"
        "- item:\n\n    ```python\n    if True:\n        z = 2\n    ```\n```console\n$ ls\n```\n"
    )
    found = snippets(doc)
    assert [(s.line, s.code, s.skip) for s in found] == [
        (3, "x = 1\n", None),
        (7, "y\n", "needs a real host"),
        (12, "if True:\n    z = 2\n", None),
    ]
    with _hosts(tmp_path) as hosts:
        code = hosts.substitute('connect("http://xen1:8000/"); open("/tmp/a"); "x/tmp/b"')
        assert hosts.legacy["xen1"].sxp_url in code
        assert f'"{tmp_path}/a"' in code
        assert '"x/tmp/b"' in code


def test_a_failing_block_fails_and_names_its_line(tmp_path: Path) -> None:
    doc = tmp_path / "page.md"
    doc.write_text("# t\n\n```python\nimport asyncio\nawait asyncio.sleep(0)\nassert 1 == 2\n```\n")
    [snippet] = snippets(doc)
    with pytest.raises(AssertionError) as info:
        run(snippet, snippet.code)
    assert info.traceback[-1].lineno + 1 == 6
