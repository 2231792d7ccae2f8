"""The package's import structure, read from the source with `ast` (nothing is imported or run).

The pipeline reads read -> select -> parse -> engine -> render: a module may import from its own stage and the ones
before it, never from a later one; the front ends (cli, batch, follow, ...) sit on top, and a few small modules
(result types, lazy regexes, the cache folder) under everything. No modules import each other in a circle, counting
every import: at the top of a module, inside a function, or only for type checking. And no module reaches into
another's private names (`_name`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "logclassify"

# Stages in pipeline order: (name, module prefixes). A module belongs to the first stage with a prefix that names it
# or a package above it; a module in no stage fails the test (place a new module on purpose).
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("logclassify.models", "logclassify.lazyre", "logclassify.usercache")),
    ("read", ("logclassify.read",)),
    ("select", ("logclassify.select",)),
    ("parse", ("logclassify.parse",)),
    ("engine", ("logclassify.engine",)),
    ("render", ("logclassify.render",)),
    ("front", (
        "logclassify.cli", "logclassify.batch", "logclassify.pool", "logclassify.follow", "logclassify.redact",
        "logclassify.probes",
        "logclassify.doctor", "logclassify.mine", "logclassify.__main__", "logclassify",
    )),
)


@dataclass(frozen=True)
class Import:
    """One import statement's tie to a module of the package, and where it stands."""

    source: str  # the importing module
    target: str  # the imported module (a package's __init__ is the package's name)
    names: tuple[str, ...]  # what `from target import ...` takes; empty for `import target`
    path: Path
    line: int

    def where(self) -> str:
        return f"{self.path.relative_to(PACKAGE.parent)}:{self.line}"


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The package module that `name` (a module, or a name inside one) stands for; None outside the package."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path, known: dict[str, Path]) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = resolve(alias.name, known)
                if target is not None:
                    yield Import(module, target, (), path, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` ties to pkg.mod when that is a module, else to pkg (a name defined there)
            taken: dict[str, list[str]] = {}
            for alias in node.names:
                target = resolve(f"{base}.{alias.name}", known)
                if target is not None:
                    taken.setdefault(target, []).extend([alias.name] if target == resolve(base, known) else [])
            for target, names in taken.items():
                yield Import(module, target, tuple(names), path, node.lineno)


def all_imports() -> list[Import]:
    known = modules()
    return [imp for mod, path in known.items() for imp in imports_of(mod, path, known) if imp.target != mod]


def stage_of(module: str) -> int | None:
    for rank, (_, prefixes) in enumerate(STAGES):
        if any(module == p or module.startswith(p + ".") for p in prefixes if p != "logclassify"):
            return rank
    return len(STAGES) - 1 if module == "logclassify" else None


def cycles(edges: list[Import]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


# -- the checks ----------------------------------------------------------------------------------------------------


def test_every_module_has_a_stage() -> None:
    lost = [f"{PACKAGE.parent / p}" for m, p in modules().items() if stage_of(m) is None]
    assert not lost, f"modules in no stage (add them to STAGES in {Path(__file__).name}): {lost}"


def test_no_import_from_a_later_stage() -> None:
    names = [n for n, _ in STAGES]
    wrong = []
    for imp in all_imports():
        src, dst = stage_of(imp.source), stage_of(imp.target)
        if src is not None and dst is not None and dst > src:
            wrong.append(f"{imp.where()}: {imp.source} ({names[src]}) imports {imp.target} ({names[dst]}), "
                         f"a later stage")
    assert not wrong, "imports against the pipeline's direction:\n" + "\n".join(wrong)


# -- the checker itself, on made-up packages -----------------------------------------------------------------------


def _edges(pairs: list[tuple[str, str]]) -> list[Import]:
    return [Import(a, b, (), PACKAGE / "x.py", 1) for a, b in pairs]


def test_cycles_finds_a_circle_and_only_it() -> None:
    found = cycles(_edges([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e")]))
    assert found == [["a", "b", "c"]]
    assert cycles(_edges([("a", "b"), ("b", "c"), ("a", "c")])) == []


@pytest.mark.parametrize(("module", "stage"), [
    ("logclassify.select.scanner", "select"),
    ("logclassify.parse.phases.markers", "parse"),
    ("logclassify", "front"),
    ("logclassify.models", "base"),
    ("logclassify.selector", None),  # a prefix must end at a dot
])
def test_stage_of(module: str, stage: str | None) -> None:
    rank = stage_of(module)
    assert (STAGES[rank][0] if rank is not None else None) == stage


def test_imports_are_resolved_to_modules(tmp_path: Path) -> None:
    """`from pkg import module` ties to the module, `from pkg.mod import name` to pkg.mod, relative ones too."""
    known = modules()
    src = tmp_path / "probe.py"
    src.write_text("from logclassify.select import parallel\nfrom logclassify.select.state import Selection\n"
                   "def f():\n    from . import models\n    import logclassify.read.sources as s\n")
    got = {(i.target, i.names) for i in imports_of("logclassify.engine.probe", src, known)}
    assert got == {("logclassify.select.parallel", ()), ("logclassify.select.state", ("Selection",)),
                   ("logclassify.engine", ("models",)), ("logclassify.read.sources", ())}
