"""The package's import structure, read from the source with `ast` (nothing is imported or run).

The pipeline reads read -> select -> parse -> engine -> render: a module may import from its own stage and the ones
before it, never from a later one; the front ends (cli, batch, follow, ...) sit on top, and a few modules (result
types, lazy regexes, the cache folder, the vocabulary, redaction) under everything. No modules import each other in
a circle, counting every import: at the top of a module, inside a function, or only for type checking. And no
module reaches into another's private names (`_name`).
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
    # redaction is base: the engine redacts a report before it cuts long lines (engine/clip.py); so is the worker
    # pool (generic: batch runs inputs in it, select.parallel the byte ranges of one large file)
    ("base", ("logclassify.models", "logclassify.lazyre", "logclassify.usercache", "logclassify.redact",
              "logclassify.secret_patterns", "logclassify.vocab", "logclassify.pool")),
    ("read", ("logclassify.read",)),
    ("select", ("logclassify.select",)),
    ("parse", ("logclassify.parse",)),
    ("engine", ("logclassify.engine",)),
    ("render", ("logclassify.render",)),
    ("front", (
        "logclassify.cli", "logclassify.batch", "logclassify.follow", "logclassify.probes",
        "logclassify.doctor", "logclassify.mine", "logclassify.serve", "logclassify.__main__", "logclassify",
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
        return f"{shown(self.path)}:{self.line}"


def shown(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent)) if path.is_relative_to(PACKAGE.parent) else str(path)


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


def backward(edges: list[Import]) -> list[str]:
    """The imports from a stage to a later one, each named with its place."""
    names = [n for n, _ in STAGES]
    wrong = []
    for imp in edges:
        src, dst = stage_of(imp.source), stage_of(imp.target)
        if src is not None and dst is not None and dst > src:
            wrong.append(f"{imp.where()}: {imp.source} ({names[src]}) imports {imp.target} ({names[dst]}), "
                         f"a later stage")
    return wrong


def test_no_import_from_a_later_stage() -> None:
    wrong = backward(all_imports())
    assert not wrong, "imports against the pipeline's direction:\n" + "\n".join(wrong)


def test_no_import_circle() -> None:
    edges = all_imports()
    found = cycles(edges)
    lines = []
    for component in found:
        inside = set(component)
        lines.append("circle: " + ", ".join(component))
        lines += [f"  {e.where()}: {e.source} -> {e.target}" for e in edges
                  if e.source in inside and e.target in inside]
    assert not found, "modules that import each other in a circle:\n" + "\n".join(lines)


def private_uses(path: Path, module: str, known: dict[str, Path]) -> Iterator[str]:
    """`from other import _name`, and `other._name` where `other` names another package module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    aliases: dict[str, str] = {}
    for imp in imports_of(module, path, known):
        if imp.target == module:
            continue
        for name in imp.names:
            if name.startswith("_") and not name.startswith("__"):
                yield f"{imp.where()}: imports {name} from {imp.target}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name in known:
                    aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full in known:
                    aliases[alias.asname or alias.name] = full
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                and node.attr.startswith("_") and not node.attr.startswith("__")
                and aliases[node.value.id] != module):
            yield f"{shown(path)}:{node.lineno}: uses {aliases[node.value.id]}.{node.attr}"


def test_no_private_name_used_across_modules() -> None:
    known = modules()
    wrong = [w for m, p in known.items() for w in private_uses(p, m, known)]
    assert not wrong, "private names used from another module (make them public, or move the code):\n" + "\n".join(
        wrong)


# -- the checker itself, on made-up packages -----------------------------------------------------------------------


def _edges(pairs: list[tuple[str, str]]) -> list[Import]:
    return [Import(a, b, (), PACKAGE / "x.py", 1) for a, b in pairs]


def test_cycles_finds_a_circle_and_only_it() -> None:
    found = cycles(_edges([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e")]))
    assert found == [["a", "b", "c"]]
    assert cycles(_edges([("a", "b"), ("b", "c"), ("a", "c")])) == []


def test_backward_names_the_import() -> None:
    edges = _edges([("logclassify.parse.facts", "logclassify.engine.match"), ("logclassify.cli", "logclassify.read"),
                    ("logclassify.select.state", "logclassify.read.sources")])
    assert backward(edges) == ["logclassify/x.py:1: logclassify.parse.facts (parse) imports logclassify.engine.match "
                               "(engine), a later stage"]


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


def test_private_uses_are_found(tmp_path: Path) -> None:
    src = tmp_path / "probe.py"
    src.write_text("from logclassify.select.triggers import ESCAPES, _ESCAPES_STR\n"
                   "from logclassify.select import parallel\n"
                   "import logclassify.select.state as st\n"
                   "parallel._WORKER, st._count_nl, parallel.merge, parallel.__doc__\n")
    found = list(private_uses(src, "logclassify.engine.probe", modules()))
    assert [f.split(": ", 1)[1] for f in found] == [
        "imports _ESCAPES_STR from logclassify.select.triggers",
        "uses logclassify.select.parallel._WORKER",
        "uses logclassify.select.state._count_nl",
    ]
