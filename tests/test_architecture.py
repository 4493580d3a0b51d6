"""Data flows one way: a lower stage never imports a higher one (static check of every import)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import smecredit

LAYERS = {
    "__init__": 0, "exceptions": 0, "io": 0, "privacy": 0, "progress": 0, "psi": 0, "config_model": 0,
    "data": 1,
    "simulation": 1.5,  # a generator beside the data contract: may import data (the schemas it writes)
    "features": 2,
    "models": 3,
    "validation": 4, "explain": 4,
    "report": 5,
    "registry": 6,  # MLflow: runs, registry, model packaging; the only package that imports mlflow
    "scoring": 7, "monitoring": 7,
    "decisions": 8,
    "pipelines": 9,
    "cli": 10,
}
ROOT = Path(smecredit.__file__).parent


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pkg = ".".join(("smecredit",) + path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("smecredit")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("smecredit"):
                names = [f"{mod}.{a.name}" if mod == "smecredit" else mod for a in node.names]
                found += [(node.lineno, n) for n in names]
    return found


def test_every_package_module_belongs_to_a_layer():
    stages = {p.relative_to(ROOT).parts[0].removesuffix(".py") for p in ROOT.rglob("*.py")}
    assert stages <= set(LAYERS), stages - set(LAYERS)


def test_no_module_imports_a_higher_stage():
    violations = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        own = rel.parts[0].removesuffix(".py")
        for line, target in _imports(path):
            stage = _stage(target)
            if stage in LAYERS and LAYERS[stage] > LAYERS[own]:
                violations.append(f"{rel}:{line} ({own}) imports {target} ({stage})")
    assert not violations, "\n".join(violations)


def _imported_names(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports (at any depth of the file: lazy imports count)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_registry_layer_imports_mlflow():
    users = sorted(str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py") if "mlflow" in _imported_names(p))
    outside = [u for u in users if not u.startswith("registry/")]
    assert not outside, outside
    assert any(u.startswith("registry/") for u in users)


MODEL_MODULES = sorted("smecredit.models" + ("" if p.stem == "__init__" else f".{p.stem}")
                       for p in (ROOT / "models").glob("*.py"))


@pytest.mark.parametrize("module", MODEL_MODULES)
def test_importing_the_models_layer_does_not_import_mlflow(module):
    code = f"import sys, {module}; print('mlflow' in sys.modules, 'smecredit.registry' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT.parent), "PATH": "/usr/bin:/bin"})
    assert out.stdout.split() == ["False", "False"], (module, out.stdout, out.stderr)


# the simulator is not part of the bank-data contract: only the thin layers that run it may import it
SIMULATION_IMPORTERS = {"simulation", "pipelines", "cli"}


def test_only_the_simulator_itself_the_pipelines_and_the_cli_import_the_simulator():
    violations = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        own = rel.parts[0].removesuffix(".py")
        for line, target in _imports(path):
            if _stage(target) == "simulation" and own not in SIMULATION_IMPORTERS:
                violations.append(f"{rel}:{line} ({own}) imports {target}")
    assert not violations, "\n".join(violations)


def test_importing_the_data_layer_prints_no_third_party_warning():
    """pandera imports pyspark.pandas when pyspark is installed, which warns about pandas 3 on every command."""
    out = subprocess.run([sys.executable, "-W", "default", "-c", "import smecredit.data, smecredit.data.validate"],
                         capture_output=True, text=True, check=True, env={"PYTHONPATH": str(ROOT.parent), "PATH": "/usr/bin:/bin"})
    assert "Warning" not in out.stderr, out.stderr
