"""The package layout is the pipeline: imports run one way and never in a circle.

``analysis/`` has one folder per stage (``sources`` -> ``clean`` -> ``analyse`` -> ``publish``),
``protect`` (disclosure control and identifiers, usable by every stage, importing none of them),
``core`` (the shared pieces, importing nothing else of ``analysis``) and two tool folders beside
the pipeline (``tools``, ``synthetic``) that nothing in the pipeline imports. Every ``import``
statement counts, including those inside functions: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from analysis.core.paths import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "analysis"

STAGES: tuple[str, ...] = ("sources", "clean", "analyse", "publish")
"""The pipeline's stages in order: a stage may import the stages before it, never after."""

ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "protect": frozenset({"core"}),
    **{stage: frozenset({"core", "protect", *STAGES[:i]}) for i, stage in enumerate(STAGES)},
    "tools": frozenset({"core", "protect", *STAGES}),
    "synthetic": frozenset({"core", "sources"}),
}
"""Folder -> the other folders of ``analysis`` its modules may import."""

MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_in(source: str, package: str, modules: dict[str, Path]) -> set[str]:
    """The modules of ``analysis`` that ``source`` (code of a module of ``package``) imports;
    ``from X import y`` counts ``X.y`` when that is a module, else ``X``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {m for m in found if m in modules}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), package, modules)


def _folder(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ALLOWED) else None


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ``analysis`` it imports."""
    modules = _modules()
    return {name: _imports(path, modules) for name, path in modules.items()}


def direction_breaks(graph: dict[str, set[str]]) -> list[str]:
    """Each import against the direction of the pipeline, as ``importer -> imported``."""
    breaks = []
    for module, targets in sorted(graph.items()):
        here = _folder(module)
        for target in sorted(targets):
            there = _folder(target)
            if here is None or there is None or here == there:
                continue
            if here not in ALLOWED or there not in ALLOWED[here]:
                breaks.append(f"{module} -> {target}")
    return breaks


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles (strongly connected components of more than one module, or a module
    importing itself), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_module_lives_in_a_known_folder() -> None:
    stray = [m for m in _modules() if m != "analysis" and _folder(m) is None]
    assert stray == [], f"modules outside the layout's folders: {stray}"


def test_imports_run_with_the_pipeline() -> None:
    assert direction_breaks(import_graph()) == []


def test_there_is_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_checks_catch_a_backward_import_and_a_cycle() -> None:
    graph = {
        "analysis.clean.run": {"analysis.analyse.themes"},  # clean importing analyse: backward
        "analysis.protect.outputs": {"analysis.publish.figures"},  # protect importing a stage
        "analysis.analyse.a": {"analysis.analyse.b"},
        "analysis.analyse.b": {"analysis.analyse.c"},
        "analysis.analyse.c": {"analysis.analyse.a"},
        "analysis.publish.figures": {"analysis.protect.register", "analysis.core.atomic"},
        "analysis.protect.register": {"analysis.core.atomic"},
        "analysis.core.atomic": set(),
    }
    assert direction_breaks(graph) == ["analysis.clean.run -> analysis.analyse.themes",
                                       "analysis.protect.outputs -> analysis.publish.figures"]
    assert cycles(graph) == [["analysis.analyse.a", "analysis.analyse.b", "analysis.analyse.c"]]


def test_a_lazy_import_inside_a_function_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "PROJECT_ROOT", tmp_path)
    source = tmp_path / "analysis" / "clean" / "m.py"
    source.parent.mkdir(parents=True)
    source.write_text("def f():\n    from analysis.publish import figures\n", encoding="utf-8")
    modules = {"analysis.publish.figures": PACKAGE / "publish" / "figures.py"}
    assert _imports(source, modules) == {"analysis.publish.figures"}


@pytest.mark.parametrize("module", sorted(_modules()), ids=str)
def test_each_module_is_small_and_says_what_it_owns(module: str) -> None:
    path = _modules()[module]
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_LINES, f"{path.relative_to(PROJECT_ROOT)} has more than {MAX_LINES} lines"
    assert ast.get_docstring(ast.parse(text)), f"{path.relative_to(PROJECT_ROOT)} has no module docstring"
