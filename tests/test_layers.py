"""The package's shape (docs/architecture.md): layers, no import circles, a cheap first import.

Imports are read from the source with `ast`, at module level, including those under
`if TYPE_CHECKING:` (a type-only circle still couples the two modules).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "lab_server"
#: One package per outside service (docs/architecture.md).
SERVICES = {"whatsapp", "telegram", "linkedin", "meta", "tiktok"}
#: The top of the core: only these may import a service package (they register them).
REGISTRARS = {"lab_server.app", "lab_server.cli"}
#: Modules that build or run the whole lab; nothing below them may import them.
TOP = {"lab_server.app", "lab_server.runner", "lab_server.cli", "lab_server.doctor"}
#: Entry points above everything: the package's lazy names and `python -m lab_server`.
ENTRY = {"lab_server", "lab_server.__main__"}
#: The notebooks' exercise checks: above the services they drive, as the notebooks are.
EXERCISES = "lab_server.exercises"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _statements(body: list[ast.stmt]):
    """Module-level statements, looking inside `if` and `try` blocks but not functions."""
    for node in body:
        if isinstance(node, ast.If | ast.Try):
            yield from _statements(node.body + node.orelse)
            yield from _statements(getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                yield from _statements(handler.body)
        else:
            yield node


def imports_of(name: str) -> set[str]:
    """The `lab_server` modules that module `name` imports at module level."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in _statements(ast.parse(path.read_text("utf-8")).body):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            full = (
                ".".join(base + ([node.module] if node.module else []))
                if node.level
                else node.module
            )
            targets = [full] + [f"{full}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def find_circle() -> list[str]:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (circle := visit(nxt)):
                return circle
        path.pop()
        state[node] = 2
        return []

    for node in sorted(GRAPH):
        if node not in state and (circle := visit(node)):
            return circle
    return []


def service_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in SERVICES else None


def test_the_import_graph_sees_the_known_edges():
    # The checks below are only as good as the graph: make sure it is read correctly.
    assert "lab_server.whatsapp.blueprint" in GRAPH["lab_server.app"]
    assert "lab_server.config" in GRAPH["lab_server.whatsapp.client"]
    assert "lab_server.lab" in GRAPH["lab_server.telegram.bot"]  # a TYPE_CHECKING import


def test_there_is_no_import_circle():
    assert find_circle() == []


def test_the_circle_finder_finds_a_planted_circle(monkeypatch):
    monkeypatch.setitem(GRAPH, "lab_server.config", GRAPH["lab_server.config"] | {"lab_server.app"})
    assert find_circle()[0] == find_circle()[-1]


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not service_of(n)))
def test_the_core_imports_no_service_package_except_the_registrars(name):
    reached = {service_of(t) for t in GRAPH[name]} - {None}
    allowed = name in REGISTRARS or name.startswith(EXERCISES + ".")
    assert allowed or not reached, f"{name} imports {reached}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not n.startswith(EXERCISES)))
def test_nothing_in_the_kit_imports_the_exercise_checks(name):
    assert not any(t.startswith(EXERCISES) for t in GRAPH[name]), name


@pytest.mark.parametrize("name", sorted(set(MODULES) - TOP - ENTRY))
def test_lower_layers_never_import_the_top(name):
    assert not GRAPH[name] & TOP, f"{name} imports {GRAPH[name] & TOP}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("lab_server.sandbox")))
def test_stand_ins_do_not_use_the_kit_they_stand_in_for(name):
    reached = {service_of(t) for t in GRAPH[name]} - {None}
    assert not reached, f"{name} imports {reached}"


@pytest.mark.parametrize("service", sorted(s for s in SERVICES if (PACKAGE / s).is_dir()))
def test_every_service_package_has_the_same_shape(service):
    files = {p.name for p in (PACKAGE / service).glob("*.py")}
    assert {"__init__.py", "client.py", "errors.py"} <= files


def test_import_lab_server_loads_no_heavy_library():
    code = (
        "import sys, lab_server\n"
        "heavy = [m for m in ('jsonschema', 'openai', 'flask', 'twilio') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == ""


def test_a_running_lab_loads_neither_jsonschema_nor_openai(tmp_path):
    # start() is what a class waits for after a kernel restart (bench/startup.py): the
    # libraries that cost seconds load when a post is adapted or a model is called, not before
    code = (
        "import sys\n"
        "from lab_server import start\n"
        "lab = start(port=0, sandbox=True, show=False)\n"
        "print(','.join(m for m in ('jsonschema', 'openai') if m in sys.modules))\n"
        "lab.stop()\n"
    )
    env = {**os.environ, "LAB_ENV_FILE": "none", "LAB_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=env
    )
    assert result.stdout.strip() == ""


def test_the_lazy_names_are_the_real_objects():
    import lab_server
    from lab_server.runner import start

    assert lab_server.start is start
    assert "start" in dir(lab_server)
    with pytest.raises(AttributeError):
        lab_server.no_such_name  # noqa: B018
