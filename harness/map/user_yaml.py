"""One reader for the YAML files a user writes: journey maps, schedule files, fault profiles.

Each file's own reader walks the composed node tree (not the loaded values), so every complaint
can name the line that caused it; this module composes that tree the same way for all of them and
turns every way YAML can refuse a file into one sentence with the file and line. It also refuses
what would make the walk itself fail: a file too large to read in reasonable time and memory, and
nesting deeper than any real map has (PyYAML's composer recurses, so 5,000 open brackets would
otherwise end in a RecursionError).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode
from yaml.reader import ReaderError

from harness.errors import HarnessError

# A journey map of 500 touchpoints is some 100 kB; a file 20 times that is not a map someone wrote.
MAX_BYTES = 2_000_000
# A map nests stages > touchpoints > segments > expect: about 8 levels; 50 leaves room for any layout.
MAX_DEPTH = 50


def compose(text: str, path: str | Path, what: str, error: type[HarnessError]) -> Node | None:
    """The node tree of a user's YAML file, or `error` with one sentence, the file and the line."""
    if len(text) > MAX_BYTES:
        raise error(
            f"the {what} is {len(text) / 1e6:.1f} MB; a {what} may be at most {MAX_BYTES // 1_000_000} MB",
            file=path,
        )
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "it does not parse"
        raise error(f"the {what} is not valid YAML: {problem}", file=path, line=line) from None
    except ReaderError as exc:  # a control character: the reader gives an offset, not a line
        line = text.count("\n", 0, exc.position) + 1
        raise error(f"the {what} is not valid YAML: {exc.reason}", file=path, line=line) from None
    except yaml.YAMLError as exc:
        raise error(f"the {what} is not valid YAML: {exc}", file=path) from None
    except RecursionError:
        raise error(f"the {what} nests deeper than {MAX_DEPTH} levels", file=path) from None
    _check_depth(root, path, what, error)
    return root


def _check_depth(root: Node | None, path: str | Path, what: str, error: type[HarnessError]) -> None:
    # Iterative, and each node once: aliases share nodes, and a walk that followed each reference
    # would take exponential time on a "billion laughs" file.
    seen: set[int] = set()
    todo: list[tuple[Node, int]] = [(root, 1)] if root is not None else []
    while todo:
        node, depth = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if depth > MAX_DEPTH:
            raise error(
                f"the {what} nests deeper than {MAX_DEPTH} levels", file=path, line=node.start_mark.line + 1
            )
        if isinstance(node, SequenceNode):
            todo += [(child, depth + 1) for child in node.value]
        elif isinstance(node, MappingNode):
            todo += [(child, depth + 1) for pair in node.value for child in pair]
