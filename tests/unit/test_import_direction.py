"""The import rules of docs/architecture.md: nothing imports the CLI, the runtime never imports a stage at load."""

from __future__ import annotations

import ast
from pathlib import Path

import edgetrack

PACKAGE = Path(edgetrack.__file__).parent
STAGES = ("cli", "pipeline", "deploy", "export", "eval", "compress", "train", "calibration")


def _imports(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "edgetrack" else ""


def test_nothing_outside_the_cli_imports_it() -> None:
    offenders = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                 if p.relative_to(PACKAGE).parts[0] not in ("cli", "__main__.py")
                 and any(_package(m) == "cli" for m in _imports(p, top_level_only=False))]
    assert offenders == []


def test_the_runtime_imports_no_stage_when_it_loads() -> None:
    offenders = {str(p.relative_to(PACKAGE)): sorted(m for m in _imports(p, top_level_only=True)
                                                     if _package(m) in STAGES)
                 for p in (PACKAGE / "runtime").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_rules_see_a_violation(tmp_path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from edgetrack.export.run import export\ndef f():\n    from edgetrack.cli.console import out\n")
    assert {_package(m) for m in _imports(bad, top_level_only=True)} == {"export"}
    assert {_package(m) for m in _imports(bad, top_level_only=False)} == {"export", "cli"}
