"""Developer sessions: tests, lint, typecheck, fuzz, bench, soak, examples."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite (without the long soak and storm runs)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)  # pyproject's addopts leave out the slow tests


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff==0.17.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package, the tests, the examples and the benchmarks."""
    session.install("-e", ".[dev,bench]")
    session.run("mypy", "--strict", "aioxend", "tests", "examples", "benchmarks")


@nox.session(python=PYTHON)
def fuzz(session: nox.Session) -> None:
    """The hypothesis suites of both codecs with a long profile and a saved database."""
    session.install("-e", ".[test]")
    session.run(
        "pytest",
        "--hypothesis-profile=fuzz",
        "tests/xmlrpc",
        "tests/sxp",
        "tests/fuzz",
        *session.posargs,
    )


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Every benchmark, each printing ratios against its competitors."""
    session.install("-e", ".[bench]")
    session.run("python", "benchmarks/run_all.py", *session.posargs)


@nox.session(python=PYTHON)
def soak(session: nox.Session) -> None:
    """The long reliability runs: soak under injected faults and the cancellation storm."""
    session.install("-e", ".[test]")
    session.run("pytest", "-m", "slow", *session.posargs)


@nox.session(python=PYTHON)
def examples(session: nox.Session) -> None:
    """Run every example against an emulator it starts itself."""
    session.install("-e", ".[emulator]")
    for example in sorted(__import__("pathlib").Path("examples").glob("*.py")):
        session.run("python", str(example))
