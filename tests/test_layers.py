"""The package's import layers, read from the source: a module imports only from its own
layer or the layers below it, never in a cycle, and never from inside a function (where an
upward edge would hide)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vae_utils"

#: Lower layers first; a module may import from its own layer and every layer before it.
LAYERS = [
    {"_env", "_checks", "images"},
    {"data", "ood_data", "losses", "models", "conv_vae", "conditional_vae"},
    {"train", "evaluation", "anomaly", "latent", "ppl"},
    {"plots", "gif", "widgets"},
    {"course", "launch", "site", "exercises", "__init__"},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem  # exercises/* counts as "exercises"


def _edges(path: Path, package: Path = PACKAGE) -> list[tuple[str, int, bool]]:
    """``(imported module, line, inside a function)`` for each import of the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_function = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function.update(id(n) for n in ast.walk(node) if n is not node)
    found = []
    package_depth = len(path.relative_to(package).parts) - 1
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            up = node.level - 1 - package_depth  # levels above the package root: none allowed
            assert up <= 0, f"{path}: relative import above the package"
            if node.level - 1 < package_depth:  # within a subpackage (exercises/ -> itself)
                target = path.relative_to(package).parts[0]
            else:
                target = (node.module or "").split(".")[0]
            targets = [target] if target else [a.name for a in node.names]
            found += [(t, node.lineno, id(node) in in_function) for t in targets]
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for name in names:
                if name and name.startswith("vae_utils."):
                    found.append((name.split(".")[1], node.lineno, id(node) in in_function))
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer():
    names = {_module_name(p) for p in SOURCES}
    assert names <= set(LAYER), f"modules without a layer: {sorted(names - set(LAYER))}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers_and_not_from_inside_functions(path):
    me = _module_name(path)
    for target, line, inside in _edges(path):
        if target == me:
            continue
        assert target in LAYER, f"{path.name}:{line} imports unknown module {target}"
        assert LAYER[target] <= LAYER[me], (
            f"{path.name}:{line}: {me} (layer {LAYER[me]}) imports {target} (layer "
            f"{LAYER[target]}), a higher layer")
        assert not inside, f"{path.name}:{line}: {me} imports {target} inside a function"


def test_no_import_cycle():
    graph: dict[str, set[str]] = {}
    for path in SOURCES:
        me = _module_name(path)
        graph.setdefault(me, set()).update(t for t, _, _ in _edges(path) if t != me)
    seen: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node, stack):
        seen[node] = 1
        for nxt in graph.get(node, ()):
            if seen.get(nxt) == 1:
                raise AssertionError(f"import cycle: {' -> '.join(stack + [node, nxt])}")
            if nxt not in seen:
                visit(nxt, stack + [node])
        seen[node] = 2

    for node in graph:
        if node not in seen:
            visit(node, [])


def test_the_layer_test_can_fail(tmp_path):
    # the checker itself: an upward edge and a function-level import are both found
    fake = tmp_path / "vae_utils"
    fake.mkdir()
    src = fake / "losses.py"
    src.write_text("from .plots import x\nimport vae_utils.gif\n\ndef f():\n    from .data import y\n")
    got = _edges(src, fake)
    assert ("plots", 1, False) in got and ("gif", 2, False) in got and ("data", 5, True) in got
