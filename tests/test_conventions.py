"""Convention tests: public API hygiene and layer boundaries."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import smartcustoms

SRC = Path(smartcustoms.__file__).parent
DOMAINS = ("model", "intake", "tariff", "synth", "risk", "aeo", "trs", "ledger")
FORBIDDEN_IN_DOMAINS = ("fastapi", "sqlalchemy", "click", "jinja2", "alembic", "starlette")


def _isort_key(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then functions and modules."""
    if name.isupper():
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def _modules() -> list[str]:
    names = ["smartcustoms"]
    for info in pkgutil.walk_packages([str(SRC)], prefix="smartcustoms."):
        if ".migrations" in info.name:
            continue
        names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules())
def test_public_all_is_sorted_and_resolves(name: str) -> None:
    """Every public module lists its API in a sorted ``__all__`` whose names exist."""
    module = importlib.import_module(name)
    if name.rsplit(".", 1)[-1].startswith("_") and not hasattr(module, "__all__"):
        return
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert list(exported) == sorted(exported, key=_isort_key), f"{name}.__all__ is not sorted"
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ names missing {attr}"


@pytest.mark.parametrize("name", _modules())
def test_public_names_have_docstrings(name: str) -> None:
    """Public modules, classes and functions carry docstrings."""
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no module docstring"
    for attr in getattr(module, "__all__", []):
        obj = getattr(module, attr)
        if callable(obj) and getattr(obj, "__module__", None) == name:
            assert obj.__doc__, f"{name}.{attr} has no docstring"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize(
    "path",
    [p for d in DOMAINS for p in sorted((SRC / d).rglob("*.py"))],
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_domains_do_not_import_adapters(path: Path) -> None:
    """No domain module imports a web framework, the ORM, the CLI toolkit or templates."""
    bad = _imports(path) & set(FORBIDDEN_IN_DOMAINS)
    assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"


def test_model_imports_no_domain() -> None:
    """The canonical model is the floor: it imports no other smartcustoms package."""
    for path in (SRC / "model").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if parts[0] == "smartcustoms" and len(parts) > 1:
                    assert parts[1] in ("model", "errors"), f"{path.name} imports {node.module}"
