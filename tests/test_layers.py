"""The import contract holds and bites: one-way layers (pyproject's [tool.importlinter]), no circle.

`lint-imports` (run by `make lint`) checks the layers of ARCHITECTURE.md. It says nothing of two
modules of one package importing each other, so the circles are checked here, on the same graph
(grimp, import-linter's own), with every import counted: those inside functions and those under
TYPE_CHECKING too, since a circle hidden behind either is still one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def circles(modules: Iterable[str], imports: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(modules):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(imports.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(imports.get(target, ())))))
                elif target in on_stack:
                    low[module] = min(low[module], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_circles_finds_a_circle_and_only_that() -> None:
    # The check below could pass by never finding anything.
    imports = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert circles("abcde", imports) == [["a", "b", "c"]]


def test_no_module_of_the_harness_imports_itself_round_a_circle() -> None:
    graph = grimp.build_graph("harness", exclude_type_checking_imports=False, cache_dir=None)
    imports = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    assert len(graph.modules) > 50 and imports["harness.analysis.gaps"]  # the whole package was read
    found = circles(graph.modules, imports)
    said = [" -> ".join([*circle, circle[0]]) for circle in found]
    assert found == [], "import circles:\n" + "\n".join(said)


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}  # the copy, ahead of the installed package
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, check=False
    )


def test_the_contract_fails_when_the_analysis_imports_the_store(tmp_path: Path) -> None:
    # harness/steps is a link to the top-level steps/: the copy holds the files themselves.
    shutil.copytree(ROOT / "harness", tmp_path / "harness", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    kept = _lint_imports(tmp_path)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "0 broken" in kept.stdout

    visits = tmp_path / "harness" / "analysis" / "visits.py"
    visits.write_text(visits.read_text(encoding="utf-8") + "\nfrom harness.store import sqlite\n", "utf-8")
    broken = _lint_imports(tmp_path)
    assert broken.returncode != 0
    assert "The analysis reads no recording and no store BROKEN" in broken.stdout
    assert "harness.analysis.visits -> harness.store.sqlite" in broken.stdout
