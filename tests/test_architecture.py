"""The house rules of docs/architecture.md that import-linter cannot see: exported names, git only from
gitgrid.git, module size, the documented API."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

import gitgrid

PACKAGE = Path(gitgrid.__file__).parent
ROOT = PACKAGE.parent


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


MODULES = dict(modules())


def imported_names() -> dict[str, set[str]]:
    """For each gitgrid module, the names other gitgrid modules import from it."""
    found: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in MODULES and node.module != name:
                found.setdefault(node.module, set()).update(a.name for a in node.names)
    return found


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_exports_what_others_import_and_what_it_defines(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(getattr(module, "__all__", []))
    missing = {n for n in exported if not hasattr(module, n)}
    assert not missing, f"{name}.__all__ names what it lacks: {missing}"
    submodules = {m.rsplit(".", 1)[1] for m in MODULES if m.startswith(name + ".")}
    imported = imported_names().get(name, set()) - submodules
    assert imported <= exported, (
        f"{name}: imported by other modules but not in __all__: {imported - exported}"
    )
    defined = {
        n
        for n, value in vars(module).items()
        if not n.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == name
    }
    assert defined <= exported, f"{name}: public but not in __all__: {defined - exported}"


def test_only_gitgrid_git_starts_git() -> None:
    offenders = []
    for name, path in MODULES.items():
        if name.startswith("gitgrid.git"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.List | ast.Tuple) and node.elts:
                first = node.elts[0]
                if isinstance(first, ast.Constant) and first.value == "git":
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"git started outside gitgrid.git: {offenders}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_500_lines(name: str) -> None:
    assert len(MODULES[name].read_text().splitlines()) <= 500, name


def test_the_documented_api_is_gitgrid_all() -> None:
    api = (ROOT / "docs/api.md").read_text()
    index = api.split("## Every exported name", 1)[1]
    documented = set(re.findall(r"`([A-Za-z_]+)`", index))
    assert documented == set(gitgrid.__all__)
    assert sorted(gitgrid.__all__) == gitgrid.__all__


def test_the_package_ships_its_types() -> None:
    assert (PACKAGE / "py.typed").is_file()


def test_no_module_shadows_a_public_name() -> None:
    """Importing ``gitgrid.x.y`` sets ``gitgrid.x``: a subpackage named like an API function would replace
    the function (``gitgrid.results`` once did)."""
    children = {name.split(".")[1] for name in MODULES if name.count(".") >= 1}
    assert not children & set(gitgrid.__all__)
    for name in MODULES:
        importlib.import_module(name)
    assert all(not inspect.ismodule(getattr(gitgrid, name)) for name in gitgrid.__all__)
    assert callable(gitgrid.results) and callable(gitgrid.sweep_status)


PAGE_SCRIPTS = sorted((PACKAGE / "report/static").rglob("*.js"))


@pytest.mark.parametrize("path", PAGE_SCRIPTS, ids=lambda p: p.name)
def test_no_page_script_is_over_500_lines(path: Path) -> None:
    """The report page's modules follow the same rule as the Python (and are linted by Biome)."""
    assert len(path.read_text().splitlines()) <= 500, path.name


def test_every_page_module_is_joined_into_the_page() -> None:
    """A module that main.js never reaches would be linted but never shipped: dead, or a forgotten view."""
    from gitgrid.report.assets import app_script

    joined = app_script()
    modules = [p.name for p in (PACKAGE / "report/static/js").glob("*.js")]
    assert len(modules) > 10
    assert all(f"// ---- {name}\n" in joined for name in modules), modules


SQL = re.compile(
    r"\bSELECT\s|\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b"
    r"|\bCREATE\s+(?:TEMP\s+|UNIQUE\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\b|\bDROP\s+(?:TABLE|INDEX)\b"
    r"|\bALTER\s+TABLE\b|\bPRAGMA\s+\w+|\bsqlite_master\b"
)


def sql_strings(source: str) -> list[int]:
    """Lines of the string literals (f-strings' parts included, docstrings not) that hold SQL."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and SQL.search(node.value)
    ]


def test_sql_lives_in_the_store_alone() -> None:
    """Every SQL statement is the store's (gitgrid/store/); everyone else asks its named methods."""
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for name, path in MODULES.items()
        if not name.startswith("gitgrid.store")
        for line in sql_strings(path.read_text())
    ]
    assert not offenders, f"SQL outside gitgrid/store: {offenders}"
    inside = sum(len(sql_strings(p.read_text())) for n, p in MODULES.items() if n.startswith("gitgrid.store"))
    assert inside > 50  # the pattern does find the store's own statements


def test_every_other_part_of_gitgrid_is_kept_from_sqlite() -> None:
    """The import contract names the parts of gitgrid that may not import sqlite3; a new subpackage or
    foundation module must join the list (a contract that forgets it would never fail)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "sqlite")
    parts = {".".join(name.split(".")[:2]) for name in MODULES if name.count(".") >= 1}
    assert set(contract["source_modules"]) == parts - {"gitgrid.store", "gitgrid.__main__"}
