"""Dependencies point one way: no module of a lower app imports a higher one (config/layers.py)."""

import ast
from pathlib import Path

from config.layers import LAYERS

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):  # every import, also those inside functions
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def _violations(layers: list[str], root: Path) -> list[str]:
    rank = {app: i for i, app in enumerate(layers)}
    found = []
    for app in layers:
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for lineno, module in _imports(path):
                target = module.split(".")[0]
                if target in rank and rank[target] > rank[app]:
                    found.append(f"{path.relative_to(root)}:{lineno} imports {module} ({app} is below {target})")
    return found


def test_no_app_imports_a_higher_one():
    assert _violations(LAYERS, ROOT) == []


def test_every_project_app_is_in_the_layer_list():
    apps = {p.parent.name for p in ROOT.glob("*/apps.py")}
    assert apps == set(LAYERS)


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    (tmp_path / "low").mkdir()
    (tmp_path / "high").mkdir()
    (tmp_path / "low" / "mod.py").write_text("def f():\n    from high.mod import g\n    return g\n")
    (tmp_path / "high" / "mod.py").write_text("from low.mod import f\n")
    assert _violations(["low", "high"], tmp_path) == ["low/mod.py:2 imports high.mod (low is below high)"]
