"""The layers of the house: a module imports only from its own layer or the ones below it."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. A module's layer is that of its top-level name (services/x.py: "services").
LAYERS = [
    {"clock", "config", "validators"},
    {"models"},
    {"database"},
    {"services"},
    {"blueprints", "migrations", "cli"},
    {"app"},
]
LAYER_OF = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def imported_names(path):
    """The top-level names of the project's modules that `path` imports, at any depth."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def test_no_module_imports_a_module_of_an_upper_layer():
    sources = [ROOT / f"{name}.py" for name in LAYER_OF if (ROOT / f"{name}.py").exists()]
    sources += [*(ROOT / "services").rglob("*.py"), *(ROOT / "blueprints").rglob("*.py")]
    upward = []
    for path in sources:
        own = LAYER_OF[path.relative_to(ROOT).parts[0].removesuffix(".py")]
        for name in imported_names(path):
            if LAYER_OF.get(name, -1) > own:
                upward.append(f"{path.relative_to(ROOT)} imports {name}")
    assert upward == []
    assert len(sources) > 30  # the walk found the code
