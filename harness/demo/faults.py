"""The demo company's fault profile: how Acme misbehaves on purpose.

A gap report is only convincing when it finds gaps, so the bundled demo is slow, broken and
late in ways a user can dial up or down from a small YAML file without touching code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from harness.errors import FaultProfileError, did_you_mean, read_user_file
from harness.map.user_yaml import compose

# In the order a customer meets them; the error for an unknown kind lists them in this order.
EMAIL_KINDS = ("confirmation", "welcome", "tips", "support-ack", "support-reply", "demo-booked")
KEYS = ("latency_ms", "status", "email_delay_s", "drop_email", "unlabelled_fields")
DEFAULT_FAULTS = Path(__file__).with_name("faults.yaml")


@dataclass(frozen=True)
class FaultProfile:
    latency_ms: dict[str, int] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    email_delay_s: dict[str, float] = field(default_factory=dict)
    drop_email: list[str] = field(default_factory=list)
    unlabelled_fields: list[str] = field(default_factory=list)  # pages whose last form field loses its label


def load_faults(path: str | Path) -> FaultProfile:
    return load_faults_text(read_user_file(path, "fault profile", FaultProfileError), path)


def load_faults_text(text: str, path: str | Path = "<faults>") -> FaultProfile:
    return _Reader(path).profile(compose(text, path, "fault profile", FaultProfileError))


class _Reader:
    """Walks the composed node tree, so every complaint can point at the line that caused it."""

    def __init__(self, path: str | Path) -> None:
        self.path = path

    def fail(self, node: Node, message: str) -> FaultProfileError:
        return FaultProfileError(message, file=self.path, line=node.start_mark.line + 1)

    def value(self, node: Node) -> Any:
        # Scalars are resolved by YAML's own rules so "1_500", "0x10" or "1e3" mean what YAML says.
        if not isinstance(node, ScalarNode):
            return None
        return SafeConstructor().construct_object(node, deep=True)

    def mapping(self, node: Node, what: str, example: str) -> list[tuple[Node, Node]]:
        if isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return []
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{what} must be a mapping, like {example}.")
        seen: set[str] = set()
        pairs: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            key = self.value(key_node)
            if not isinstance(key, str):
                raise self.fail(key_node, f"{what} has a key that is not text: {key_node.value!r}.")
            if key in seen:
                raise self.fail(key_node, f'"{key}" is given twice in {what}.')
            seen.add(key)
            pairs.append((key_node, value_node))
        return pairs

    def profile(self, root: Node | None) -> FaultProfile:
        if root is None:
            return FaultProfile()
        sections: dict[str, Node] = {}
        for key_node, value_node in self.mapping(root, "The fault profile", "latency_ms: {/pricing: 1500}"):
            key = key_node.value
            if key not in KEYS:
                raise self.fail(
                    key_node,
                    f'Unknown key "{key}"{did_you_mean(key, list(KEYS))}; a fault profile may only have '
                    f"{_listed(KEYS)}.",
                )
            sections[key] = value_node
        empty = ScalarNode("tag:yaml.org,2002:null", "")
        return FaultProfile(
            latency_ms=self.latencies(sections.get("latency_ms", empty)),
            status=self.statuses(sections.get("status", empty)),
            email_delay_s=self.delays(sections.get("email_delay_s", empty)),
            drop_email=self.dropped(sections.get("drop_email", empty)),
            unlabelled_fields=self.pages(sections.get("unlabelled_fields", empty)),
        )

    def page_path(self, node: Node) -> str:
        path = node.value
        if not path.startswith("/"):
            raise self.fail(node, f'"{path}" is not a path; paths start with "/", like "/pricing".')
        if "?" in path or "#" in path:
            # Faults match the path alone, so a query string here would silently never match.
            raise self.fail(node, f'"{path}" has a query string or fragment; give the path alone.')
        return str(path)

    def email_kind(self, node: Node) -> str:
        kind = self.value(node)
        if kind not in EMAIL_KINDS:
            suggestion = did_you_mean(str(kind), list(EMAIL_KINDS)) if isinstance(kind, str) else ""
            raise self.fail(
                node,
                f"{_shown(node, start=True)} is not an email kind{suggestion}; the kinds are "
                f"{_listed(EMAIL_KINDS)}.",
            )
        return str(kind)

    def latencies(self, node: Node) -> dict[str, int]:
        result: dict[str, int] = {}
        for key_node, value_node in self.mapping(node, "latency_ms", "{/pricing: 1500}"):
            path = self.page_path(key_node)
            ms = self.value(value_node)
            if isinstance(ms, bool) or not isinstance(ms, int) or ms < 0:
                raise self.fail(
                    value_node,
                    f'The latency for "{path}" must be a whole number of milliseconds, 0 or more, '
                    f"not {_shown(value_node)}.",
                )
            result[path] = ms
        return result

    def statuses(self, node: Node) -> dict[str, int]:
        result: dict[str, int] = {}
        for key_node, value_node in self.mapping(node, "status", "{/help/search: 500}"):
            path = self.page_path(key_node)
            code = self.value(value_node)
            if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
                raise self.fail(
                    value_node,
                    f'The status for "{path}" must be an HTTP status code from 100 to 599, '
                    f"not {_shown(value_node)}.",
                )
            result[path] = code
        return result

    def delays(self, node: Node) -> dict[str, float]:
        result: dict[str, float] = {}
        for key_node, value_node in self.mapping(node, "email_delay_s", "{confirmation: 1}"):
            kind = self.email_kind(key_node)
            seconds = self.value(value_node)
            if (
                isinstance(seconds, bool)
                or not isinstance(seconds, (int, float))
                or not math.isfinite(seconds)
                or seconds < 0
            ):
                raise self.fail(
                    value_node,
                    f'The delay for "{kind}" emails must be a number of seconds, 0 or more, '
                    f"not {_shown(value_node)}.",
                )
            result[kind] = float(seconds)
        return result

    def dropped(self, node: Node) -> list[str]:
        if isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return []
        if not isinstance(node, SequenceNode):
            raise self.fail(node, "drop_email must be a list of email kinds, like [welcome].")
        kinds: list[str] = []
        for item in node.value:
            kind = self.email_kind(item)
            if kind not in kinds:
                kinds.append(kind)
        return kinds


    def pages(self, node: Node) -> list[str]:
        if isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return []
        if not isinstance(node, SequenceNode):
            raise self.fail(node, "unlabelled_fields must be a list of page paths, like [/signup].")
        paths: list[str] = []
        for item in node.value:
            if not isinstance(item, ScalarNode):
                raise self.fail(item, "unlabelled_fields must be a list of page paths, like [/signup].")
            path = self.page_path(item)
            if path not in paths:
                paths.append(path)
        return paths


def _shown(node: Node, *, start: bool = False) -> str:
    if isinstance(node, ScalarNode) and node.value:
        return f'"{node.value}"'
    if isinstance(node, ScalarNode):
        shown = "nothing"
    else:
        shown = "a list" if isinstance(node, SequenceNode) else "a mapping"
    return shown.capitalize() if start else shown


def _listed(words: tuple[str, ...]) -> str:
    return f"{', '.join(words[:-1])} and {words[-1]}" if len(words) > 1 else "".join(words)
