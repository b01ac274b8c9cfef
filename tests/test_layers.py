"""Imports run down the layers, never in a circle, and never from one test module to another."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from tests.support.paths import ROOT

# Bottom to top: a module may import its own layer and those below it, never one above.
LAYERS = ("prompts", "index", "service", "evaldata", "training", "tests.support", "bench",
          "tests")
# Inside service/, bottom to top: the package itself, settings, then one sub-package per role.
SERVICE = ("service", "service.settings", "service.ops", "service.core", "service.http",
           "service.security", "service.ingest", "service.web", "service.cli")
PACKAGES = ("prompts", "index", "service", "evaldata", "training", "bench", "tests")


def modules(root: Path) -> dict[str, Path]:
    """Return every module under the packages of `root` by its dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _innermost(layers: tuple[str, ...], module: str) -> int:
    """Return the position of the deepest layer that holds `module` (-1: none does)."""
    held = [i for i, name in enumerate(layers) if module == name or module.startswith(name + ".")]
    return max(held, key=lambda i: len(layers[i]), default=-1)


def rank(module: str) -> tuple[int, int]:
    """Return where a module stands: its layer, then its place inside service/."""
    return _innermost(LAYERS, module), _innermost(SERVICE, module)


def _named(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """Yield the dotted names an import statement loads, relative ones made absolute."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = module.split(".")[: None if path.name == "__init__.py" else -1]
        base = ".".join([*package[: len(package) - node.level + 1], base]).rstrip(".")
    yield from (f"{base}.{alias.name}" for alias in node.names)


def imports(root: Path) -> dict[str, set[str]]:
    """Return the project modules each module imports, at the top or inside a function."""
    known = modules(root)
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        targets = graph.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for name in _named(module, path, node):
                    while name and name not in known:
                        name = name.rpartition(".")[0]
                    if name and name != module:
                        targets.add(name)
    return graph


def unresolved(root: Path) -> list[str]:
    """Return each import of a project module that does not exist (mypy ignores missing ones)."""
    known = modules(root)
    missing: list[str] = []
    for module, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [next(_named(module, path, node)).rpartition(".")[0]]
            else:
                continue
            missing += [f"{module} imports {name}" for name in names
                        if name.split(".")[0] in PACKAGES and name not in known]
    return sorted(missing)


def arrows_up(graph: Mapping[str, set[str]]) -> list[str]:
    """Return each import of a module from a layer above its own."""
    return sorted(f"{low} imports {high}" for low, highs in graph.items() for high in highs
                  if rank(high) > rank(low))


def between_tests(graph: Mapping[str, set[str]]) -> list[str]:
    """Return each import of a test module or conftest by a test module or conftest."""

    def is_test(module: str) -> bool:
        return module == "tests.conftest" or module.startswith("tests.test_")

    return sorted(f"{low} imports {high}" for low, highs in graph.items() if is_test(low)
                  for high in highs if is_test(high))


def cycle(graph: Mapping[str, set[str]]) -> list[str]:
    """Return one circle of imports, or [] when there is none."""
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        return list(exc.args[1])
    return []


def test_every_package_stands_in_a_layer() -> None:
    packages = {d.name for d in ROOT.iterdir() if (d / "__init__.py").is_file()}
    assert packages - set(PACKAGES) == set()


def test_no_import_runs_up_the_layers() -> None:
    assert arrows_up(imports(ROOT)) == []


def test_every_project_import_exists() -> None:
    assert unresolved(ROOT) == []


def test_no_modules_import_each_other_in_a_circle() -> None:
    assert cycle(imports(ROOT)) == []


def test_no_test_module_imports_another() -> None:
    assert between_tests(imports(ROOT)) == []


def test_a_test_module_importing_another_is_caught(tmp_path: Path) -> None:
    sources = {"tests/conftest.py": "", "tests/test_b.py": "", "tests/support/__init__.py": "",
               "tests/support/http.py": "",
               "tests/test_a.py": "from tests.test_b import helper\nfrom tests import conftest\n"
                                  "from tests.support.http import ask\n"}
    for name, text in sources.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert between_tests(imports(tmp_path)) == ["tests.test_a imports tests.conftest",
                                                "tests.test_a imports tests.test_b"]


def test_an_arrow_up_and_a_circle_are_caught(tmp_path: Path) -> None:
    sources = {
        "index/__init__.py": "",
        "index/low.py": "def f() -> None:\n    from service.web import page\n",
        "service/__init__.py": "",
        "service/core/__init__.py": "",
        "service/core/engine.py": "from service.web.page import render\n",
        "service/web/__init__.py": "",
        "service/web/page.py": "from ..core import engine\n",
        "tests/support/__init__.py": "",
        "tests/support/servers.py": "import bench.core\n",
        "bench/__init__.py": "",
        "bench/core.py": "from tests.support import servers\n",
    }
    for name, text in sources.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "bench/scale.py").write_text("from bench.servers import BIN\nimport index.gone\n")
    assert unresolved(tmp_path) == ["bench.scale imports bench.servers",
                                    "bench.scale imports index.gone"]
    graph = imports(tmp_path)
    assert arrows_up(graph) == ["index.low imports service.web.page",
                                "service.core.engine imports service.web.page",
                                "tests.support.servers imports bench.core"]
    assert set(cycle(graph)) in ({"service.core.engine", "service.web.page"},
                                 {"bench.core", "tests.support.servers"})
