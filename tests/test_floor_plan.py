"""The package's floor plan holds: each stage imports only the rooms below it, no cycles,
no private names across rooms, the demo city generator is never imported by the platform,
and every room imports on its own in a fresh interpreter.

Imports are read from the source (every ``import``, also those inside functions and under
``TYPE_CHECKING``), so a dependency hidden in a function body counts like any other.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = {
    "citylake.settings",
    "citylake.catalog",
    "citylake.identity",
    "citylake.identity_columns",
    "citylake.lake",
    "citylake.staffing",
    "citylake.queue_sim",
    "citylake.lake_history",
    "citylake.lake_maintenance",
}

# Which rooms each room may import (besides itself and the core modules). The CLI, the
# benchmarks and the DAG files compose everything; nothing composes them.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "citylake.connectors": set(),
    "citylake.landing": {"citylake.connectors"},
    "citylake.serving": set(),
    # The Spark build links the mentions it made (entities' linker on Spark).
    "citylake.warehouse": {"citylake.serving", "citylake.entities"},
    "citylake.entities": set(),
    "citylake.forecasting": set(),
    "citylake.alerts": set(),
    "quality": {"citylake.landing"},
    "citylake.warnings": set(),
    "citylake.complaints": set(),
    "transforms": {
        "citylake.warehouse",
        "citylake.forecasting",
        "citylake.warnings",
        "citylake.alerts",
    },
    "citylake.orchestration": {
        "citylake.connectors",
        "citylake.landing",
        "citylake.warehouse",
        "citylake.serving",
        "citylake.alerts",
        "citylake.warnings",
        "citylake.complaints",
        "quality",
        "transforms",
    },
    "citylake.democity": {"citylake.connectors", "citylake.landing"},
    "citylake.cli": {"*"},
    "citylake.bench": {"*"},
    "dags": {"citylake.orchestration", "citylake.landing"},
    "citylake": set(),  # the package's own __init__
}
# Modules over ~400 lines, each with its reason.
LONG_MODULES = {
    "citylake/serving/superset.py": "the Superset driver: metadata init, import, users, browser login",
}


def room_of(module: str) -> str:
    if module in CORE or any(module.startswith(c + ".") for c in CORE):
        return "core"
    parts = module.split(".")
    if parts[0] == "citylake" and len(parts) > 1:
        return f"citylake.{parts[1]}"
    return parts[0]


def python_files() -> list[Path]:
    found = []
    for top in ("citylake", "quality", "transforms", "dags"):
        found += sorted((ROOT / top).rglob("*.py"))
    return found


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def imports_of(path: Path) -> list[tuple[str, list[str], int]]:
    """(module imported, names imported from it, line) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.append((target, [a.name for a in node.names], node.lineno))
    return [f for f in found if f[0].split(".")[0] in {"citylake", "quality", "transforms", "dags"}]


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, list[str]]]:
    """room -> room it imports -> where (file:line)."""
    edges: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in python_files():
        source_room = room_of(module_name(path))
        for target, names, line in imports_of(path):
            # `from citylake import warehouse` imports the room named by the name.
            targets = [f"{target}.{n}" for n in names] if target == "citylake" else [target]
            for t in targets:
                target_room = room_of(t)
                if target_room != source_room:
                    edges[source_room][target_room].append(f"{path.relative_to(ROOT)}:{line}")
    return edges


def test_each_room_imports_only_what_its_layer_allows(graph) -> None:
    wrong = []
    for room, targets in sorted(graph.items()):
        allowed = ALLOWED.get(room)
        assert allowed is not None, f"{room} is a room the floor plan does not know"
        for target, where in sorted(targets.items()):
            if target == "core" or "*" in allowed or target in allowed:
                continue
            wrong.append(f"{room} -> {target} at {', '.join(where[:3])}")
    assert not wrong, "imports across the floor plan:\n" + "\n".join(wrong)


def test_no_import_cycle_between_rooms(graph) -> None:
    adjacency = {room: set(targets) for room, targets in graph.items()}

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in adjacency.get(node, ()):
                if nxt == start:
                    return [*path, start]
                if nxt not in path:
                    stack.append((nxt, [*path, nxt]))
        return None

    cycles = [c for room in adjacency if (c := cycle_from(room))]
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_platform_never_imports_the_demo_city(graph) -> None:
    importers = {room for room, targets in graph.items() if "citylake.democity" in targets}
    assert importers <= {"citylake.cli", "citylake.bench"}, {
        room: graph[room]["citylake.democity"] for room in importers
    }


def test_no_private_name_crosses_a_room() -> None:
    crossing = []
    for path in python_files():
        here = room_of(module_name(path))
        for target, names, line in imports_of(path):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private and room_of(target) != here:
                crossing.append(f"{path.relative_to(ROOT)}:{line} imports {private} from {target}")
    assert not crossing, "\n".join(crossing)


def test_modules_stay_small_or_say_why() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in python_files()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 420
    }
    unexplained = {path: n for path, n in long.items() if path not in LONG_MODULES}
    assert not unexplained, f"modules over 420 lines without a stated reason: {unexplained}"


@pytest.mark.parametrize(
    "package",
    [
        "citylake.catalog",
        "citylake.connectors",
        "citylake.landing",
        "citylake.warehouse",
        "citylake.serving",
        "citylake.orchestration.pipeline",
        "citylake.orchestration.stream",
        "citylake.entities",
        "citylake.forecasting",
        "citylake.warnings",
        "citylake.alerts",
        "citylake.complaints",
        "citylake.cli.main",
        "citylake.democity",
        "quality.validate",
    ],
)
def test_each_room_imports_alone(package: str) -> None:
    """A fresh interpreter imports the room first: no cycle hides behind import order."""
    proc = subprocess.run(
        [sys.executable, "-c", f"import {package}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
