"""How ``vae_utils.exercises`` depends on the rest of the package: every edge to another
``vae_utils`` module is an import at the top of a module (none hidden inside a function),
the settings come from ``vae_utils._env``, and the notebooks' imports all resolve."""

from __future__ import annotations

import ast
import importlib
import json
import re

import pytest

from .helpers import ROOT

PACKAGE = ROOT / "vae_utils" / "exercises"
MODULES = sorted(PACKAGE.glob("*.py"))


def _is_vae_utils(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] == "vae_utils"
    return any(alias.name.split(".")[0] == "vae_utils" for alias in node.names)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_no_import_of_the_package_hides_inside_a_function(path):
    tree = ast.parse(path.read_text())
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    assert not _is_vae_utils(node), (path.name, func.name, ast.unparse(node))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_settings_come_from_the_env_module(path):
    """No environment variable is read here, and nothing is taken from the course runner
    (``vae_utils.course``): ``vae_utils._env`` has the settings."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            assert node.attr not in ("environ", "getenv"), (path.name, ast.unparse(node))
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            assert module not in ("..course", "vae_utils.course"), (path.name, module)
            assert not (module == ".." and any(a.name == "course" for a in node.names))
        if isinstance(node, ast.Import):
            assert all(a.name != "vae_utils.course" for a in node.names), path.name


def test_grading_is_the_env_modules():
    from vae_utils import _env
    from vae_utils.exercises import checking

    assert checking.grading is _env.grading


def test_every_name_the_notebooks_import_exists():
    names = set()
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            for module, imported in re.findall(r"from (vae_utils\.exercises[\w.]*) import "
                                               r"(\([^)]*\)|[^\n]+)", source):
                for name in imported.strip("()").split(","):
                    if name.split("#")[0].strip():
                        names.add((module, name.split("#")[0].split(" as ")[0].strip()))
    assert len(names) >= 14  # every checker and check_answer
    for module, name in names:
        assert hasattr(importlib.import_module(module), name), (module, name)
