"""Comments and docstrings cite what a reader can open: xend/xapi source or these docs.

A citation names the xend or xapi source it relies on (e.g. Xen 4.4
``tools/python/xen/xend/XendDomain.py`` ``domain_lookup_nr``, xapi's
``ocaml/doc/wire-protocol.md``) or a page of ``docs/``, never a document that is not in
the repository: numbered "sections" of some reference, a notes file beside the checkout.
Every ``*.md`` a source file names must exist in the repository, unless it is a path in
the xend or xapi tree.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("aioxend", "tests", "benchmarks", "examples", "tools")
# Pieces joined at run time, so this file does not match itself.
FORBIDDEN = [
    re.compile(r"reference " + r"sections?\b", re.IGNORECASE),
    re.compile(r"\bsections? " + r"\d+(\.\d+)*\b"),
    re.compile(r"§"),
    re.compile(r"(\.\./|/work/|\b)" + r"shared/"),
    re.compile(r"\b(CLIENT_API|xend-protocol|anchors|STYLE)" + r"\.md\b"),
]
MARKDOWN_NAME = re.compile(r"[A-Za-z0-9_./-]+\.md\b")
# Paths in the upstream trees a citation may name (xend's Python, xapi's OCaml and docs).
UPSTREAM = ("tools/python/xen/", "xend/", "util/", "web/", "xm/", "ocaml/", "doc/")
# Files the code writes, not cites.
WRITTEN = {"RESULTS.md"}


def _sources() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "noxfile.py", ROOT / "mkdocs.yml"]
    for top in SOURCE_DIRS:
        files += sorted((ROOT / top).rglob("*.py"))
    files += sorted((ROOT / "docs").rglob("*.md"))
    here = Path(__file__).resolve()
    return [f for f in files if f.is_file() and f.resolve() != here]


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_no_citation_of_a_document_outside_the_repository() -> None:
    hits = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        hits += [
            f"{_relative(path)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)!r}"
            for pattern in FORBIDDEN
            for m in pattern.finditer(text)
        ]
    assert not hits, "cite xend/xapi source or a docs page instead:\n" + "\n".join(hits)


def _resolves(name: str, path: Path) -> bool:
    if name.startswith(UPSTREAM) or Path(name).name in WRITTEN:
        return True
    return any((base / name).is_file() for base in (ROOT, ROOT / "docs", path.parent))


def _prose(path: Path) -> str:
    """A module's comments and docstrings (string statements), not its string literals."""
    text = path.read_text(encoding="utf-8")
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    parts = [tok.string for tok in tokens if tok.type == tokenize.COMMENT]
    parts += [
        node.value.value
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    ]
    return "\n".join(parts)


def test_every_markdown_file_named_exists() -> None:
    missing = [
        f"{_relative(path)}: {m.group(0)}"
        for path in _sources()
        if path.suffix == ".py"
        for m in MARKDOWN_NAME.finditer(_prose(path))
        if not _resolves(m.group(0), path)
    ]
    assert not missing, "files named that the repository lacks:\n" + "\n".join(missing)


def test_the_check_catches_what_it_is_for(tmp_path: Path) -> None:
    """Each forbidden form is caught (the test would otherwise pass on anything)."""
    samples = [
        "see the protocol reference " + "section 4.4",
        "(" + "section 1.2)",
        "the corpus in ../" + "shared/corpus",
        "the contract (CLIENT_API" + ".md)",
    ]
    for sample in samples:
        assert any(p.search(sample) for p in FORBIDDEN), sample
    assert not _resolves("NOWHERE.md", tmp_path / "x.py")
    assert _resolves("README.md", tmp_path / "x.py")
