"""Developer sessions: tests, lint, typecheck, docs, package, fuzz, bench, soak, examples."""

from __future__ import annotations

from pathlib import Path

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
def docs(session: nox.Session) -> None:
    """The documentation site, strictly: a broken reference, link or anchor fails the build."""
    session.install("-e", ".[docs]")
    session.env["NO_MKDOCS_2_WARNING"] = "1"  # Material's banner about a future mkdocs
    site = Path(session.create_tmp()) / "site"
    session.run("mkdocs", "build", "--strict", "--site-dir", str(site), *session.posargs)


# What the wheel must carry, and must not.
WHEEL_MUST_HOLD = (
    "aioxend/py.typed",
    "aioxend/xenapi/data/xenapi.json",
    "aioxend/xenapi/data/errors.json",
    "aioxend/xenapi/data/SOURCE.md",
    "aioxend/xenapi/_generated/vm.py",
    "aioxend/emulator/__init__.py",
)


def _check_wheel(wheel: Path) -> None:
    """The wheel holds the typing marker and the vendored datamodel, and no tests."""
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [n for n in WHEEL_MUST_HOLD if n not in names]
    stray = sorted(n for n in names if n.startswith(("tests/", "benchmarks/", "docs/")))
    if missing or stray:
        raise RuntimeError(f"{wheel.name}: missing {missing}, should not hold {stray[:5]}")


@nox.session(python=PYTHON)
def package(session: nox.Session) -> None:
    """Wheel and sdist build, pass twine check, and the wheel works in a clean venv."""
    session.install("build", "twine")
    tmp = Path(session.create_tmp())
    dist = tmp / "dist"
    for old in dist.glob("*"):
        old.unlink()
    session.run("python", "-m", "build", "--outdir", str(dist))
    built = sorted(dist.glob("*"))
    session.run("twine", "check", "--strict", *map(str, built))
    [wheel] = dist.glob("*.whl")
    _check_wheel(wheel)
    venv = tmp / "clean-venv"
    session.run("python", "-m", "venv", "--clear", str(venv))
    python = str(venv / "bin" / "python")
    session.run(python, "-m", "pip", "install", "--quiet", str(wheel), external=True)
    probe = (
        "import importlib.util, aioxend, aioxend.xenapi, aioxend.sync.xenapi, aioxend.hooks\n"
        "import aioxend.sxp\n"
        "assert '/site-packages/' in aioxend.__file__, aioxend.__file__  # the wheel's\n"
        "aioxend.connect; aioxend.xenapi.VMRecord; aioxend.sync.xenapi.connect\n"
        "assert importlib.util.find_spec('sexpdata') is None, 'sexpdata is an extra'\n"
        "assert aioxend.sxp.loads('(a b)') == ['a', 'b']"
    )
    # -I: neither the working directory (this checkout) nor PYTHONPATH is on the path
    session.run(python, "-I", "-c", probe, external=True)
    session.run(python, "-I", "-m", "aioxend", "--help", external=True, silent=True)


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
