"""A segment's entry in the map: its id alone, or its id and how its customers browse.

    segments:
      - self-serve
      - id: mobile-shoppers
        device: iPhone 13        # a Playwright device: its viewport, user agent, touch
        locale: de-DE
        timezone: Europe/Berlin
        color_scheme: dark
        viewport: 390x844        # instead of, or over, the device's

Device names are Playwright's, known only once a browser driver runs: the run checks them
(`record.fixtures`), the map only that they are text.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Any, Protocol

from yaml.nodes import MappingNode, Node

from harness.errors import MapError
from harness.map.journey_map import COLOR_SCHEMES, Browsing

SEGMENT_KEYS = {"id", "device", "viewport", "user_agent", "locale", "timezone", "color_scheme"}
_VIEWPORT = re.compile(r"\s*(\d{2,5})\s*[x×]\s*(\d{2,5})\s*")
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")


class _Reads(Protocol):
    """What the map's builder (`loading._Builder`) offers a part of the map to read itself with."""

    def fail(self, node: Node, message: str) -> MapError: ...
    def mapping(self, node: Node, where: str, allowed: set[str]) -> dict[str, Node]: ...
    def required(self, keys: dict[str, Node], key: str, node: Node, where: str) -> Node: ...
    def text(self, node: Node, what: str) -> str: ...
    def slug(self, node: Node, what: str) -> str: ...


def read_segment(builder: _Reads, node: Node) -> tuple[str, Browsing | None]:
    """A segment's id, and its browsing when the entry says more than the id."""
    if not isinstance(node, MappingNode):
        return builder.slug(node, "segment"), None
    keys = builder.mapping(node, "a segment", SEGMENT_KEYS)
    segment = builder.slug(builder.required(keys, "id", node, "a segment"), "segment")
    where = f'segment "{segment}"'
    found: dict[str, Any] = {}
    for key in ("device", "user_agent"):
        if key in keys:
            found[key] = builder.text(keys[key], f"{where} {key}")
    if "viewport" in keys:
        found["viewport"] = _viewport(builder, keys["viewport"], where)
    if "locale" in keys:
        locale = builder.text(keys["locale"], f"{where} locale")
        if not _LOCALE.fullmatch(locale):
            raise builder.fail(
                keys["locale"], f'{where} locale "{locale}" is not a language tag, e.g. "de-DE"'
            )
        found["locale"] = locale
    if "timezone" in keys:
        found["timezone"] = _timezone(builder, keys["timezone"], where)
    if "color_scheme" in keys:
        scheme = builder.text(keys["color_scheme"], f"{where} color_scheme")
        if scheme not in COLOR_SCHEMES:
            raise builder.fail(
                keys["color_scheme"],
                f'{where} color_scheme "{scheme}" is not one of: {", ".join(COLOR_SCHEMES)}',
            )
        found["color_scheme"] = scheme
    return segment, Browsing(**found) if found else None


def _viewport(builder: _Reads, node: Node, where: str) -> tuple[int, int]:
    text = builder.text(node, f"{where} viewport")
    match = _VIEWPORT.fullmatch(text)
    if match is None:
        raise builder.fail(node, f'{where} viewport "{text}" is not a width x height, e.g. "390x844"')
    return int(match.group(1)), int(match.group(2))


def _timezone(builder: _Reads, node: Node, where: str) -> str:
    name = builder.text(node, f"{where} timezone")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise builder.fail(
            node, f'{where} timezone "{name}" is not a time zone name, e.g. "Europe/Berlin"'
        ) from None
    return name
